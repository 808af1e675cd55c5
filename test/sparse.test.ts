// Sparse kernels (sparseRows, sparseTranspose, sparseGemm, sparseGemmBias, sparseGemmTN,
// sparseCol2im) and transpose: every WASM build
// against the reference twin, on seeded matrices at densities 0, 20% (MNIST's) and 100%, every
// size of SIZES in each dimension and the 32/4/1-column blocks of the product; the CSR checked
// entry by entry, the products against the dense reference GEMM on the same matrix, guard cells
// around every buffer and inputs left untouched.
import { describe, expect, test } from 'vitest';
import type { Kernels } from '../src/backend/index.ts';
import { backends, Buffers, CONV_GEOMETRIES, convGeometry, expectClose, expectExact, rng, SIZES, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const U = 2 ** -24; // float32 unit roundoff

/** A matrix [rows, cols] whose entries are 0 with probability 1 − density, else uniform in [-1, 1). */
function sparseMatrix(rand: () => number, rows: number, cols: number, density: number): Float32Array {
  const values = uniform(rand, rows * cols);
  for (let i = 0; i < values.length; i++) if (rand() >= density) values[i] = 0;
  return values;
}

interface Csr {
  start: Int32Array;
  index: Int32Array;
  values: Float32Array;
}

/**
 * sparseRows of x, read back (only the `count` entries written are part of the result), with the
 * column sums it wrote; the same call without sums must give the same CSR.
 */
function compress(kernels: Kernels, x: Float32Array, rows: number, cols: number): Csr & { sums: Float32Array } {
  const bufs = new Buffers(arena);
  const px = bufs.f32(x.length, x), start = bufs.f32(rows + 1), index = bufs.f32(rows * cols), values = bufs.f32(rows * cols);
  const sums = bufs.f32(cols, uniform(rng(5), cols)); // overwritten, not added to
  const count = kernels.sparseRows(px, rows, cols, start, index, values, sums);
  const csr = { start: bufs.readI32(start, rows + 1), index: bufs.readI32(index, count), values: bufs.read(values, count), sums: bufs.read(sums, cols) };
  expect(csr.start[rows]).toBe(count);
  expectExact(bufs.read(px, x.length), x, 'x (read-only)');
  const start2 = bufs.f32(rows + 1), index2 = bufs.f32(rows * cols), values2 = bufs.f32(rows * cols);
  expect(kernels.sparseRows(px, rows, cols, start2, index2, values2, 0)).toBe(count);
  expect([...bufs.readI32(start2, rows + 1)], 'start without sums').toEqual([...csr.start]);
  expect([...bufs.readI32(index2, count)], 'index without sums').toEqual([...csr.index]);
  expectExact(bufs.read(values2, count), csr.values, 'values without sums');
  bufs.done();
  return csr;
}

function transpose(kernels: Kernels, csr: Csr, rows: number, cols: number): Csr {
  const bufs = new Buffers(arena);
  const start = bufs.i32(csr.start), index = bufs.i32(csr.index), values = bufs.f32(csr.values.length, csr.values);
  const entries = Math.max(csr.values.length, 1);
  const tStart = bufs.f32(cols + 1), tIndex = bufs.f32(entries), tValues = bufs.f32(entries);
  kernels.sparseTranspose(start, index, values, rows, cols, tStart, tIndex, tValues);
  const count = csr.values.length;
  const t = { start: bufs.readI32(tStart, cols + 1), index: bufs.readI32(tIndex, count), values: bufs.read(tValues, count) };
  bufs.done();
  return t;
}

/** C = A·B (+ bias, relu) through the sparse product, for a CSR A [m, ·] and dense B [·, n]. */
function product(kernels: Kernels, csr: Csr, B: Float32Array, bias: Float32Array | null, relu: boolean, m: number, n: number): Float32Array {
  const bufs = new Buffers(arena);
  const start = bufs.i32(csr.start), index = bufs.i32(csr.index), values = bufs.f32(csr.values.length, csr.values);
  const pb = bufs.f32(B.length, B), pbias = bufs.f32(n, bias ?? []), pc = bufs.f32(m * n, uniform(rng(1), m * n));
  if (bias) kernels.sparseGemmBias(start, index, values, pb, pbias, pc, m, n, +relu);
  else kernels.sparseGemm(start, index, values, pb, pc, m, n);
  const out = bufs.read(pc, m * n);
  expectExact(bufs.read(pb, B.length), B, 'B (read-only)');
  bufs.done();
  return out;
}

/** The dense reference product of the same matrices, and Σ|terms| per entry for the rounding bound. */
function denseProduct(A: Float32Array, B: Float32Array, bias: Float32Array | null, relu: boolean, m: number, k: number, n: number) {
  const bufs = new Buffers(arena);
  const pa = bufs.f32(A.length, A), pb = bufs.f32(B.length, B), pc = bufs.f32(m * n);
  if (bias) reference.gemmNNBias(pa, pb, bufs.f32(n, bias), pc, m, k, n, +relu);
  else reference.gemmNN(pa, pb, pc, m, k, n, 0);
  const out = bufs.read(pc, m * n);
  bufs.done();
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let abs = bias ? Math.abs(bias[j]) : 0;
      for (let p = 0; p < k; p++) abs += Math.abs(A[i * k + p] * B[p * n + j]);
      mag[i * n + j] = abs;
    }
  }
  return { out, mag };
}

/** [m, k, n]: every size in each dimension, and n across the 32-column, 4-column and 1-column blocks. */
const SHAPES: [number, number, number][] = [
  ...SIZES.flatMap((s) => [[s, 17, 7], [7, s, 5], [5, 7, s]] as [number, number, number][]),
  [3, 9, 32], [3, 9, 33], [3, 9, 36], [3, 9, 64 + 32 + 4 + 3], [4, 784, 128], [128, 30, 10],
];
const DENSITIES = [0, 0.2, 1];

describe('sparse kernels', () => {
  const rand = rng(99);
  const cases = SHAPES.flatMap(([m, k, n]) => DENSITIES.map((density) => ({
    m, k, n, density, A: sparseMatrix(rand, m, k, density), B: uniform(rand, k * n), bias: uniform(rand, n),
  })));

  test('hand example: CSR, transpose and product; -0 is skipped, NaN kept', () => {
    for (const impl of [reference, ...wasm.map((w) => w.kernels)]) {
      // A = [[0, 2, 0, -0, 3], [0, 0, 0, 0, 0], [NaN, 0, 0, 1, 0]]
      const A = new Float32Array([0, 2, 0, -0, 3, 0, 0, 0, 0, 0, NaN, 0, 0, 1, 0]);
      const csr = compress(impl, A, 3, 5);
      expect([...csr.start]).toEqual([0, 2, 2, 4]);
      expect([...csr.index]).toEqual([1, 4, 0, 3]);
      expectExact(csr.values, [2, 3, NaN, 1], 'values');
      expectExact(csr.sums, [NaN, 2, 0, 1, 3], 'column sums');
      const t = transpose(impl, csr, 3, 5);
      expect([...t.start]).toEqual([0, 1, 2, 2, 3, 4]); // columns 0..4 hold 1, 1, 0, 1, 1 entries
      expect([...t.index]).toEqual([2, 0, 2, 0]);
      expectExact(t.values, [NaN, 2, 1, 3], 'transposed values');
      // B = [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]; bias [-30, 0.5] with ReLU.
      const B = new Float32Array([1, 10, 2, 20, 3, 30, 4, 40, 5, 50]);
      expectExact(product(impl, csr, B, new Float32Array([-30, 0.5]), true, 3, 2), [0, 190.5, 0, 0.5, NaN, NaN], 'A·B + bias, relu');
      expectExact(product(impl, csr, B, null, false, 3, 2), [19, 190, 0, 0, NaN, NaN], 'A·B');
    }
  });

  test.each(wasm)('$name WASM build: sparseRows and sparseTranspose = reference, entry for entry', ({ kernels }) => {
    for (const { m, k, density, A } of cases) {
      const what = `${m}x${k} density ${density}`;
      const expected = compress(reference, A, m, k);
      const got = compress(kernels, A, m, k);
      expect([...got.start], `${what}: start`).toEqual([...expected.start]);
      expect([...got.index], `${what}: index`).toEqual([...expected.index]);
      expectExact(got.values, expected.values, `${what}: values`);
      const nonzeros = A.reduce((count, v) => count + (v !== 0 ? 1 : 0), 0);
      expect(got.values.length, `${what}: count`).toBe(nonzeros);
      // Column sums in f32, row by row: within m·u·Σ|x| of the reference's float64 sums.
      const mag = new Float64Array(k);
      for (let i = 0; i < m * k; i++) mag[i % k] += Math.abs(A[i]);
      expectClose(got.sums, expected.sums, { tol: (j) => m * U * mag[j], what: `${what}: column sums` });
      const tExpected = transpose(reference, expected, m, k);
      const t = transpose(kernels, got, m, k);
      expect([...t.start], `${what}: tStart`).toEqual([...tExpected.start]);
      expect([...t.index], `${what}: tIndex`).toEqual([...tExpected.index]);
      expectExact(t.values, tExpected.values, `${what}: tValues`);
      // Transposing twice gives the matrix back.
      const back = transpose(kernels, t, k, m);
      expect([...back.start], `${what}: start after two transposes`).toEqual([...got.start]);
      expect([...back.index], `${what}: index after two transposes`).toEqual([...got.index]);
    }
  });

  describe.each([
    { label: 'sparseGemm', bias: false, relu: false },
    { label: 'sparseGemmBias relu=0', bias: true, relu: false },
    { label: 'sparseGemmBias relu=1', bias: true, relu: true },
  ])('$label', ({ bias, relu }) => {
    test.each([{ name: 'reference', kernels: reference }, ...wasm])('$name = the dense reference GEMM within the rounding bound', ({ kernels }) => {
      for (const { m, k, n, density, A, B, bias: b } of cases) {
        const what = `${m}x${k}x${n} density ${density}`;
        const { out, mag } = denseProduct(A, B, bias ? b : null, relu, m, k, n);
        const got = product(kernels, compress(reference, A, m, k), B, bias ? b : null, relu, m, n);
        expectClose(got, out, { tol: (i) => 2 * (k + 3) * U * mag[i] + 1e-30, what });
        if (density === 0) {
          // Rows without entries are the bias (through the ReLU) or 0, exactly.
          const row = (j: number) => (!bias ? 0 : relu ? Math.max(0, b[j]) : b[j]);
          expectExact(got, Array.from({ length: m * n }, (_, i) => row(i % n)), `${what}: empty rows`);
        }
      }
    });
  });

  test('the transposed CSR gives Aᵀ·B', () => {
    for (const { m, k, density, A } of cases.filter((c) => c.density === 0.2)) {
      // Aᵀ [k, m] · D [m, 6] against the dense product of the explicit transpose.
      const D = uniform(rng(m * k), m * 6);
      const At = new Float32Array(k * m);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) At[p * m + i] = A[i * k + p];
      const { out, mag } = denseProduct(At, D, null, false, k, m, 6);
      for (const impl of [reference, ...wasm.map((w) => w.kernels)]) {
        const got = product(impl, transpose(impl, compress(impl, A, m, k), m, k), D, null, false, k, 6);
        expectClose(got, out, { tol: (i) => 2 * (m + 3) * U * mag[i] + 1e-30, what: `Aᵀ·D ${m}x${k} density ${density}` });
      }
    }
  });

  test.each([{ name: 'reference', kernels: reference }, ...wasm])('$name sparseGemmTN = the dense reference gemmTN within the rounding bound', ({ kernels }) => {
    for (const { m, k, n, density, A, B } of cases) {
      // C[k, n] = Aᵀ·B with A [m, k] sparse and B [m, n]: B is read as m rows of n.
      const Bm = B.length >= m * n ? B.subarray(0, m * n) : uniform(rng(m + n), m * n);
      const what = `${m}x${k}x${n} density ${density}`;
      const bufs = new Buffers(arena);
      const pa = bufs.f32(A.length, A), pb = bufs.f32(m * n, Bm), dense = bufs.f32(k * n);
      reference.gemmTN(pa, pb, dense, k, m, n, 0);
      const expected = bufs.read(dense, k * n);
      const csr = compress(reference, A, m, k);
      const start = bufs.i32(csr.start), index = bufs.i32(csr.index), values = bufs.f32(csr.values.length, csr.values);
      const pc = bufs.f32(k * n, uniform(rng(3), k * n)); // overwritten, not added to
      kernels.sparseGemmTN(start, index, values, pb, pc, m, k, n);
      const mag = new Float64Array(k * n);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) mag[p * n + j] += Math.abs(A[i * k + p] * Bm[i * n + j]);
      expectClose(bufs.read(pc, k * n), expected, { tol: (i) => 2 * (m + 3) * U * mag[i] + 1e-30, what });
      expectExact(bufs.read(pb, m * n), Bm, `${what}: B (read-only)`);
      bufs.done();
    }
  });

  test.each([{ name: 'reference', kernels: reference }, ...wasm])('$name transpose', ({ kernels }) => {
    for (const [rows, cols] of [[1, 1], [1, 7], [7, 1], [3, 5], [17, 64], [288, 64]]) {
      const x = uniform(rng(rows * cols), rows * cols);
      const bufs = new Buffers(arena);
      const px = bufs.f32(x.length, x), py = bufs.f32(x.length);
      kernels.transpose(px, py, rows, cols);
      const y = bufs.read(py, x.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (y[c * rows + r] !== x[r * cols + c]) throw new Error(`${rows}x${cols}: y[${c}, ${r}]`);
      bufs.done();
    }
  });

  test.each([{ name: 'reference', kernels: reference }, ...wasm])('$name sparseCol2im = col2im of the product, over the conv tests\' geometries', ({ kernels }) => {
    const rand = rng(31);
    for (const g of CONV_GEOMETRIES) {
      for (const c of [1, 3, 17, 33]) {
        for (const filters of [1, 5, 64]) {
          const batch = 2;
          const { outH, outW, padTop, padLeft } = convGeometry(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.padding);
          const positions = batch * outH * outW, rowLen = g.kh * g.kw * c, size = batch * g.h * g.w * c;
          if (positions * rowLen * filters > 3e6) continue; // the reference product would take seconds
          for (const density of DENSITIES) {
            const dz = sparseMatrix(rand, positions, filters, density), Kt = uniform(rand, filters * rowLen);
            const csr = compress(reference, dz, positions, filters);
            const what = `${JSON.stringify(g)} c ${c} filters ${filters} density ${density}`;
            const geo = [batch, g.h, g.w, c, g.kh, g.kw, g.sh, g.sw, padTop, padLeft, outH, outW] as const;
            // Expected: the product into dcols, then col2im, both reference.
            const dcols = product(reference, csr, Kt, null, false, positions, rowLen);
            const bufs = new Buffers(arena);
            const pcols = bufs.f32(dcols.length, dcols), pexp = bufs.f32(size);
            reference.col2im(pcols, pexp, ...geo);
            const expected = bufs.read(pexp, size);
            const start = bufs.i32(csr.start), index = bufs.i32(csr.index), values = bufs.f32(csr.values.length, csr.values);
            const pkt = bufs.f32(Kt.length, Kt), px = bufs.f32(size, uniform(rand, size)); // overwritten
            kernels.sparseCol2im(start, index, values, pkt, px, ...geo);
            // Each pixel sums at most kh·kw·filters products of values in [-1, 1).
            expectClose(bufs.read(px, size), expected, { atol: 4e-7 * g.kh * g.kw * filters, what });
            expectExact(bufs.read(pkt, Kt.length), Kt, `${what}: Kt (read-only)`);
            bufs.done();
          }
        }
      }
    }
  });
});
