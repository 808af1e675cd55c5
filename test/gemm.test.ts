// GEMM kernels (gemmNN, gemmNT, gemmTN, gemmNNBias): every WASM build (plain and relaxed SIMD)
// against the reference twin and against an independent float64 triple loop, on seeded random data
// at shapes that cover every size of SIZES in each dimension, awkward combinations, and the kernel's
// blocking boundaries; accumulate 0/1 with C prefilled, bias with relu 0/1, K = 0, empty outputs,
// guard cells around every buffer, inputs left untouched, and unaligned pointers (Buffers offsets
// each one by 3 floats).
import { describe, expect, test } from 'vitest';
import type { Kernels } from '../src/backend/index.ts';
import { KERNEL_NAMES } from '../src/backend/kernels.ts';
import { referenceKernels } from '../src/backend/reference/index.ts';
import { SPLIT_OPS } from '../src/backend/split-kernels.ts';
import { compileKernels, instantiateKernels } from '../src/backend/wasm.ts';
import { backends, Buffers, expectClose, rng, SIZES, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const U = 2 ** -24; // float32 unit roundoff

type Form = 'NN' | 'NT' | 'TN';
type Shape = readonly [m: number, k: number, n: number];

/** Shapes: every size in every dimension, all-awkward mixes, and the kernel's block edges. */
const SHAPES: Shape[] = (() => {
  const shapes: Shape[] = [];
  for (const s of SIZES) {
    shapes.push([s, 17, 7]); // M sweep
    shapes.push([7, s, 5]); // K sweep
    shapes.push([5, 7, s]); // N sweep
  }
  shapes.push(
    [1, 1, 1], [3, 5, 7], [7, 3, 5], [5, 7, 3], [17, 17, 17], [8, 4, 8], [4, 8, 4],
    [785, 64, 17], [17, 785, 64], [64, 17, 785], [785, 785, 8], [5, 785, 785], [785, 7, 785], [1, 785, 1],
    // Micro-tiles 8x6 and 8x4 (last panel of <= 4 columns), K blocks of <= 320, B blocks of 72
    // columns, A blocks of 128 rows: on and across each edge.
    [8, 320, 6], [128, 320, 72], [129, 321, 73], [136, 96, 150], [9, 4, 13], [16, 9, 10], [24, 33, 64],
  );
  return shapes;
})();

/**
 * Strides of A(i,p) = A[i*ai + p*ap] and B(p,j) = B[p*bp + j*bj] as each form stores them:
 * NN A[m,k] B[k,n]; NT B is stored [n,k]; TN A is stored [k,m].
 */
function strides(form: Form, m: number, k: number, n: number) {
  const [ai, ap] = form === 'TN' ? [1, m] : [k, 1];
  const [bp, bj] = form === 'NT' ? [1, k] : [n, 1];
  return { ai, ap, bp, bj };
}

/** Bit-for-bit equality of two float arrays (fast enough for a million elements). */
function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const x = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const y = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/**
 * Independent float64 oracle: exact[i,j] = (accumulate ? C0 : 0) + Σ_p A(i,p)·B(p,j) (+ bias[j],
 * then relu) and the magnitude sum Σ|terms| that bounds the rounding error of any order of summation.
 */
function float64Gemm(form: Form, A: Float32Array, B: Float32Array, C0: Float32Array | null, bias: Float32Array | null,
  relu: boolean, m: number, k: number, n: number) {
  const { ai, ap, bp, bj } = strides(form, m, k, n);
  const exact = new Float64Array(m * n), mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const t = A[i * ai + p * ap] * B[p * bp + j * bj];
        sum += t;
        abs += Math.abs(t);
      }
      if (C0) { sum = C0[i * n + j] + sum; abs += Math.abs(C0[i * n + j]); }
      if (bias) { sum += bias[j]; abs += Math.abs(bias[j]); }
      if (relu) sum = Math.max(0, sum);
      exact[i * n + j] = sum;
      mag[i * n + j] = abs;
    }
  }
  return { exact, mag };
}

/** Rounding bound for a float32 GEMM of depth k: (k + 3) additions/products, doubled for safety. */
const gemmTol = (k: number, mag: Float64Array) => (i: number) => 2 * (k + 3) * U * mag[i] + 1e-30;

interface Case {
  label: string;
  form: Form;
  accumulate: boolean;
  bias: boolean;
  relu: boolean;
}

const CASES: Case[] = [
  ...(['NN', 'NT', 'TN'] as Form[]).flatMap((form) => [false, true].map((accumulate) => ({
    label: `gemm${form} accumulate=${+accumulate}`, form, accumulate, bias: false, relu: false,
  }))),
  ...[false, true].map((relu) => ({ label: `gemmNNBias relu=${+relu}`, form: 'NN' as Form, accumulate: false, bias: true, relu })),
];

/** Runs one case of one kernel set on fresh guarded buffers; returns C. */
function run(kernels: Kernels, c: Case, A: Float32Array, B: Float32Array, C0: Float32Array, bias: Float32Array,
  m: number, k: number, n: number): Float32Array {
  const bufs = new Buffers(arena);
  const pa = bufs.f32(A.length, A), pb = bufs.f32(B.length, B), pbias = bufs.f32(n, bias);
  const pc = bufs.f32(m * n, C0); // C prefilled: accumulate = 0 must overwrite it
  if (c.bias) kernels.gemmNNBias(pa, pb, pbias, pc, m, k, n, +c.relu);
  else kernels[`gemm${c.form}`](pa, pb, pc, m, k, n, +c.accumulate);
  const out = bufs.read(pc, m * n);
  // Inputs are read-only.
  expectSameBits(bufs.read(pa, A.length), A, 'A (read-only)');
  expectSameBits(bufs.read(pb, B.length), B, 'B (read-only)');
  expectSameBits(bufs.read(pbias, n), bias, 'bias (read-only)');
  bufs.done(); // throws if anything was written outside a buffer
  return out;
}

describe('GEMM', () => {
  const rand = rng(2024);
  // One data set per shape; A and B hold m*k and k*n values whatever the form's layout.
  const data = SHAPES.map(([m, k, n]) => ({
    m, k, n,
    A: uniform(rand, m * k), B: uniform(rand, k * n), C0: uniform(rand, m * n), bias: uniform(rand, n),
  }));

  describe.each(CASES)('$label', (c) => {
    // The reference is computed once per shape and checked against the float64 oracle; every WASM
    // build is then checked against both.
    const expected = new Map<number, { ref: Float32Array; exact: Float64Array; mag: Float64Array }>();
    const expectedFor = (index: number) => {
      let e = expected.get(index);
      if (!e) {
        const { m, k, n, A, B, C0, bias } = data[index];
        const ref = run(reference, c, A, B, C0, bias, m, k, n);
        const { exact, mag } = float64Gemm(c.form, A, B, c.accumulate ? C0 : null, c.bias ? bias : null, c.relu, m, k, n);
        e = { ref, exact, mag };
        expected.set(index, e);
      }
      return e;
    };

    test('reference = float64 triple loop, rounded once', () => {
      for (let s = 0; s < data.length; s++) {
        const { m, k, n } = data[s];
        const { ref, exact } = expectedFor(s);
        // The reference sums in float64 in k order, so it is the float64 result rounded to float32.
        expectClose(ref, exact, { tol: (i) => U * Math.abs(exact[i]) * (1 + 1e-9), what: `reference ${c.label} ${m}x${k}x${n}` });
      }
    });

    test.each(wasm)('$name WASM build = reference and float64 within the rounding bound', ({ kernels }) => {
      for (let s = 0; s < data.length; s++) {
        const { m, k, n, A, B, C0, bias } = data[s];
        const { ref, exact, mag } = expectedFor(s);
        const what = `${c.label} ${m}x${k}x${n}`;
        const got = run(kernels, c, A, B, C0, bias, m, k, n);
        expectClose(got, ref, { tol: gemmTol(k, mag), what: `${what} vs reference` });
        expectClose(got, exact, { tol: gemmTol(k, mag), what: `${what} vs float64` });
        if (c.relu) {
          for (let i = 0; i < got.length; i++) if (!(got[i] >= 0)) throw new Error(`${what}: relu output ${got[i]} at ${i}`);
        }
        // Deterministic: a second call (scratch already dirty) gives identical bits.
        expectSameBits(run(kernels, c, A, B, C0, bias, m, k, n), got, `${what}: repeatable`);
      }
    });
  });

  test.each(wasm)('$name WASM build: hand-worked 2x3 · 3x2 in every form', ({ kernels }) => {
    const bufs = new Buffers(arena);
    // A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]]: A·B = [[58, 64], [139, 154]].
    const A = bufs.f32(6, [1, 2, 3, 4, 5, 6]), At = bufs.f32(6, [1, 4, 2, 5, 3, 6]);
    const B = bufs.f32(6, [7, 8, 9, 10, 11, 12]), Bt = bufs.f32(6, [7, 9, 11, 8, 10, 12]);
    const C = bufs.f32(4), bias = bufs.f32(2, [-100, 0.5]);
    kernels.gemmNN(A, B, C, 2, 3, 2, 0);
    expect(bufs.read(C, 4)).toEqual(new Float32Array([58, 64, 139, 154]));
    kernels.gemmNT(A, Bt, C, 2, 3, 2, 1);
    expect(bufs.read(C, 4)).toEqual(new Float32Array([116, 128, 278, 308]));
    kernels.gemmTN(At, B, C, 2, 3, 2, 0);
    expect(bufs.read(C, 4)).toEqual(new Float32Array([58, 64, 139, 154]));
    kernels.gemmNNBias(A, B, bias, C, 2, 3, 2, 0);
    expect(bufs.read(C, 4)).toEqual(new Float32Array([-42, 64.5, 39, 154.5]));
    kernels.gemmNNBias(A, B, bias, C, 2, 3, 2, 1);
    expect(bufs.read(C, 4)).toEqual(new Float32Array([0, 64.5, 39, 154.5]));
    bufs.done();
  });

  test.each(wasm)('$name WASM build: K = 0 and empty outputs', ({ kernels }) => {
    const rand = rng(7);
    const [m, n] = [5, 9];
    const C0 = uniform(rand, m * n), bias = uniform(rand, n);
    for (const impl of [reference, kernels]) {
      const bufs = new Buffers(arena);
      const a = bufs.f32(1), b = bufs.f32(1), pbias = bufs.f32(n, bias);
      // K = 0: the product is 0, so C = accumulate ? C : 0, and bias (+ relu) alone.
      for (const form of ['gemmNN', 'gemmNT', 'gemmTN'] as const) {
        const c = bufs.f32(m * n, C0);
        impl[form](a, b, c, m, 0, n, 1);
        expect(bufs.read(c, m * n)).toEqual(C0);
        impl[form](a, b, c, m, 0, n, 0);
        expect(bufs.read(c, m * n)).toEqual(new Float32Array(m * n));
      }
      const c = bufs.f32(m * n, C0);
      impl.gemmNNBias(a, b, pbias, c, m, 0, n, 1);
      expect(bufs.read(c, m * n)).toEqual(new Float32Array(m * n).map((_, i) => Math.max(0, bias[i % n])));
      // M = 0 or N = 0: nothing to write (guards stay intact).
      const none = bufs.f32(0);
      for (const form of ['gemmNN', 'gemmNT', 'gemmTN'] as const) {
        impl[form](a, b, none, 0, 3, n, 0);
        impl[form](a, b, none, m, 3, 0, 1);
      }
      impl.gemmNNBias(a, b, pbias, none, 0, 3, n, 1);
      bufs.done();
    }
  });

  test.each(wasm)('$name WASM build: 64-byte aligned operands agree with unaligned ones', ({ kernels }) => {
    // Buffers offsets every pointer by 3 floats; here the arena's own 64-byte alignment is used.
    const rand = rng(11);
    const [m, k, n] = [37, 45, 29];
    const A = uniform(rand, m * k), B = uniform(rand, k * n);
    const mark = arena.mark();
    const pa = arena.allocF32(m * k), pb = arena.allocF32(k * n), pc = arena.allocF32(m * n);
    arena.f32.set(A, pa >> 2);
    arena.f32.set(B, pb >> 2);
    kernels.gemmNN(pa, pb, pc, m, k, n, 0);
    const aligned = arena.f32.slice(pc >> 2, (pc >> 2) + m * n);
    arena.release(mark);
    const unaligned = run(kernels, { label: 'NN', form: 'NN', accumulate: false, bias: false, relu: false }, A, B,
      new Float32Array(m * n), new Float32Array(n), m, k, n);
    expectSameBits(aligned, unaligned, 'aligned vs unaligned');
  });

  // The exports beyond the contract, for the thread pool: the products on an explicit scratch slot,
  // and on sub-matrices with leading dimensions (bands of a larger product).
  describe.each(wasm.map((w) => w.name))('%s WASM build: slots and strided bands', (flavor) => {
    const inst = instantiateKernels(compileKernels(flavor as 'plain' | 'relaxed'), arena.memory);
    const ex = inst.instance.exports as Record<string, (...args: number[]) => number>;

    test('the build exports the contract, the thread pool\'s band kernels and the memory queries, nothing else', () => {
      const functions = Object.keys(ex).filter((name) => typeof ex[name] === 'function').sort();
      const expected = new Set<string>([...KERNEL_NAMES, ...SPLIT_OPS, 'heapBase', 'gemmSlots', 'gemmSlotBytes', 'gemmScratch']);
      expect(functions).toEqual([...expected].sort());
      expect(Object.keys(referenceKernels(arena)).sort()).toEqual([...KERNEL_NAMES].sort());
    });

    test('static scratch slots lie below heapBase', () => {
      expect(ex.gemmSlots()).toBeGreaterThanOrEqual(1);
      expect(ex.gemmScratch() + ex.gemmSlots() * ex.gemmSlotBytes()).toBeLessThanOrEqual(inst.heapBase);
      expect(inst.heapBase).toBeLessThanOrEqual(arena.base);
    });

    test('every slot and every band split gives the same bits as the whole product', () => {
      const rand = rng(99);
      const [m, k, n] = [53, 70, 47];
      const bufs = new Buffers(arena);
      const A = bufs.f32(m * k, uniform(rand, m * k)), B = bufs.f32(k * n, uniform(rand, k * n));
      const bias = bufs.f32(n, uniform(rand, n)), C0 = uniform(rand, m * n);
      const forms = [
        { name: 'NN', form: 0, lda: k, ldb: n, a: (i: number) => A + i * k * 4, b: (j: number) => B + j * 4 },
        { name: 'NT', form: 1, lda: k, ldb: k, a: (i: number) => A + i * k * 4, b: (j: number) => B + j * k * 4 },
        { name: 'TN', form: 2, lda: m, ldb: n, a: (i: number) => A + i * 4, b: (j: number) => B + j * 4 },
      ];
      for (const f of forms) {
        for (const flags of [0, 1, 2 | 4, 1 | 2 | 4]) {
          const what = `gemm${f.name} flags=${flags}`;
          const whole = bufs.f32(m * n, C0);
          ex.gemmStridedAt(f.form, A, B, whole, m, k, n, f.lda, f.ldb, n, flags, bias, 0);
          const expected = bufs.read(whole, m * n);
          const { exact, mag } = float64Gemm(f.name as Form, bufs.read(A, m * k), bufs.read(B, k * n),
            flags & 1 ? C0 : null, flags & 2 ? bufs.read(bias, n) : null, (flags & 4) !== 0, m, k, n);
          expectClose(expected, exact, { tol: gemmTol(k, mag), what: `${what} vs float64` });
          if (flags === 0 || flags === 1) {
            // The contract kernel computes exactly the same thing.
            const c = bufs.f32(m * n, C0);
            ex[`gemm${f.name}`](A, B, c, m, k, n, flags);
            expectSameBits(bufs.read(c, m * n), expected, `${what}: gemm${f.name}`);
            for (let slot = 0; slot < ex.gemmSlots(); slot++) {
              const cs = bufs.f32(m * n, C0);
              ex.gemmStridedAt(f.form, A, B, cs, m, k, n, f.lda, f.ldb, n, flags, bias, slot);
              expectSameBits(bufs.read(cs, m * n), expected, `${what}: slot ${slot}`);
            }
          }
          // Row bands and column bands, at awkward cut points, alternating slots.
          for (const cuts of [[0, 1, 9, 30, m], [0, 17, m]]) {
            const c = bufs.f32(m * n, C0);
            for (let t = 0; t + 1 < cuts.length; t++) {
              const [i0, i1] = [cuts[t], cuts[t + 1]];
              ex.gemmStridedAt(f.form, f.a(i0), B, c + i0 * n * 4, i1 - i0, k, n, f.lda, f.ldb, n, flags, bias, t % ex.gemmSlots());
            }
            expectSameBits(bufs.read(c, m * n), expected, `${what}: row bands ${cuts}`);
          }
          for (const cuts of [[0, 5, 11, 40, n], [0, 24, n]]) {
            const c = bufs.f32(m * n, C0);
            for (let t = 0; t + 1 < cuts.length; t++) {
              const [j0, j1] = [cuts[t], cuts[t + 1]];
              ex.gemmStridedAt(f.form, A, f.b(j0), c + j0 * 4, m, k, j1 - j0, f.lda, f.ldb, n, flags, bias + j0 * 4, t % ex.gemmSlots());
            }
            expectSameBits(bufs.read(c, m * n), expected, `${what}: column bands ${cuts}`);
          }
        }
        // gemmNNBias = the NN form with bias and ReLU.
        const c1 = bufs.f32(m * n), c2 = bufs.f32(m * n);
        ex.gemmNNBias(A, B, bias, c1, m, k, n, 1);
        ex.gemmStridedAt(0, A, B, c2, m, k, n, k, n, n, 2 | 4, bias, ex.gemmSlots() - 1);
        expectSameBits(bufs.read(c2, m * n), bufs.read(c1, m * n), 'gemmNNBias');
      }
      bufs.done();
    });
  });
});
