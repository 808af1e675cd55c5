// Products with a sparse operand, for the two places in a training step that multiply mostly by 0:
// - a Dense layer fed image pixels (80% of MNIST's are 0): y = x·W and dW = xᵀ·dz over the
//   nonzero pixels, a fifth of the dense GEMMs' multiply-adds (sparseGemmBias, sparseTranspose
//   then sparseGemm);
// - a conv whose dL/dz comes back through a max pool (nonzero only at the pools' winners, 6-10%):
//   dKᵀ = dzᵀ·cols (sparseGemmTN), dbias = Σ_rows dz (summed by sparseRows while it compresses dz)
//   and dx = col2im(dz·Kᵀ) (sparseCol2im).
//
// A sparse matrix is stored as compressed rows (CSR): row i's entries are p in start[i]..start[i+1]
// (start: i32[rows + 1]), with column index[p] (i32) and value values[p] (f32), columns ascending.
// The transposed matrix in the same form is the compressed columns of the original (CSC).
//
// Each output is a sum over entries in a fixed order, so the result is the dense product's up to
// rounding (adding an exact 0·w changes nothing) and the same whichever thread computes it. No
// allocation; the only static data is a read-only table: safe to call from several threads.
import { madd } from './common';

// For each 4-bit mask of nonzero lanes, the i8x16.swizzle that moves those lanes (4 bytes each) to
// the front, in order; 255 selects a zero byte.
const COMPACT: usize = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, // 0000
  0, 1, 2, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, // 0001
  4, 5, 6, 7, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, // 0010
  0, 1, 2, 3, 4, 5, 6, 7, 255, 255, 255, 255, 255, 255, 255, 255, // 0011
  8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, // 0100
  0, 1, 2, 3, 8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255, // 0101
  4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255, // 0110
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255, // 0111
  12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, // 1000
  0, 1, 2, 3, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, // 1001
  4, 5, 6, 7, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, // 1010
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 255, 255, 255, 255, // 1011
  8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, // 1100
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, // 1101
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, // 1110
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, // 1111
]);

/**
 * Writes the CSR of x[rows, cols] (every value that is not ±0, NaN included); returns the count.
 * When sums is not 0 it also writes the column sums of x there (f32, row by row): a conv's dbias,
 * summed while its dz is read anyway.
 */
export function sparseRows(x: usize, rows: i32, cols: i32, start: usize, index: usize, values: usize, sums: usize): i32 {
  return sparseRowsAt(x, 0, rows, cols, start, index, values, sums);
}

/**
 * sparseRows of rows lo..hi only, one thread's band: its entries go from position lo·cols on (room
 * no other band uses), start[i + 1] is written for each of its rows (start[0] = 0 too when lo = 0),
 * and sums gets the column sums of these rows. Returns the position after its last entry. The
 * caller then moves each band's entries down to follow the band before (split-kernels.ts).
 */
export function sparseRowsAt(x: usize, lo: i32, hi: i32, cols: i32, start: usize, index: usize, values: usize, sums: usize): i32 {
  let count: i32 = lo * cols;
  const zero = f32x4.splat(0);
  const lanes = i32x4(0, 1, 2, 3);
  if (lo == 0) store<i32>(start, 0);
  if (sums != 0) memory.fill(sums, 0, <usize>cols << 2);
  for (let i: i32 = lo; i < hi; i++) {
    const row = x + <usize>i * <usize>cols * 4;
    let j: i32 = 0;
    // Four values at a time: their nonzeros (and column numbers) are moved to the front of a v128
    // and stored whole at `count`, which then advances by how many there were. The lanes stored
    // past the new count are overwritten later or lie past the last entry, never past the band's
    // room (count <= i·cols + j, the values before this group). No branch on the mask: at dz's 7%
    // nonzeros a group holds any in a quarter of cases, and mispredicting it costs more than the
    // stores it would skip.
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(row + (<usize>j << 2));
      const mask = i32x4.bitmask(f32x4.ne(v, zero));
      const shuffle = v128.load(COMPACT + (<usize>mask << 4));
      v128.store(values + (<usize>count << 2), i8x16.swizzle(v, shuffle));
      v128.store(index + (<usize>count << 2), i8x16.swizzle(i32x4.add(i32x4.splat(j), lanes), shuffle));
      count += popcnt<i32>(mask);
      if (sums != 0) {
        const at = sums + (<usize>j << 2);
        v128.store(at, f32x4.add(v128.load(at), v));
      }
    }
    for (; j < cols; j++) {
      count = keepNonzero(row, j, index, values, count);
      if (sums != 0) {
        const at = sums + (<usize>j << 2);
        store<f32>(at, load<f32>(at) + load<f32>(row + (<usize>j << 2)));
      }
    }
    store<i32>(start + ((<usize>i + 1) << 2), count);
  }
  return count;
}

/** Appends x[j] of this row at `count` and returns count + 1, or count if it is 0 (no branch). */
// @ts-ignore: decorator
@inline function keepNonzero(row: usize, j: i32, index: usize, values: usize, count: i32): i32 {
  const v = load<f32>(row + (<usize>j << 2));
  store<i32>(index + (<usize>count << 2), j);
  store<f32>(values + (<usize>count << 2), v);
  return count + i32(v != 0);
}

/**
 * The transpose of a CSR matrix [rows, cols] (tStart: i32[cols + 1]): its compressed columns, each
 * column's entries in ascending row order. A counting sort: count per column, prefix sums, then
 * place every entry in row order.
 */
export function sparseTranspose(start: usize, index: usize, values: usize, rows: i32, cols: i32,
  tStart: usize, tIndex: usize, tValues: usize): void {
  memory.fill(tStart, 0, (<usize>cols + 1) << 2);
  const count = load<i32>(start + (<usize>rows << 2));
  for (let p: i32 = 0; p < count; p++) {
    const slot = tStart + ((<usize>load<i32>(index + (<usize>p << 2)) + 1) << 2);
    store<i32>(slot, load<i32>(slot) + 1);
  }
  for (let j: i32 = 0; j < cols; j++) {
    const slot = tStart + ((<usize>j + 1) << 2);
    store<i32>(slot, load<i32>(slot) + load<i32>(slot - 4));
  }
  // tStart[j] serves as column j's cursor, and ends as the start of column j + 1: shift back after.
  for (let i: i32 = 0; i < rows; i++) {
    const end = load<i32>(start + ((<usize>i + 1) << 2));
    for (let p = load<i32>(start + (<usize>i << 2)); p < end; p++) {
      const cursor = tStart + (<usize>load<i32>(index + (<usize>p << 2)) << 2);
      const q = load<i32>(cursor);
      store<i32>(cursor, q + 1);
      store<i32>(tIndex + (<usize>q << 2), i);
      store<f32>(tValues + (<usize>q << 2), load<f32>(values + (<usize>p << 2)));
    }
  }
  for (let j: i32 = cols; j > 0; j--) store<i32>(tStart + (<usize>j << 2), load<i32>(tStart + ((<usize>j - 1) << 2)));
  store<i32>(tStart, 0);
}

/** C[m, n] = A·B for a sparse A[m, k] (CSR) and a dense B[k, n]. */
export function sparseGemm(start: usize, index: usize, values: usize, b: usize, c: usize, m: i32, n: i32): void {
  sparseGemmRows(start, index, values, b, 0, c, 0, m, n, false, false);
}

/** C[m, n] = A·B + bias[n], then max(0, ·) if relu = 1: sparseGemm with gemmNNBias's epilogue. */
export function sparseGemmBias(start: usize, index: usize, values: usize, b: usize, bias: usize, c: usize,
  m: i32, n: i32, relu: i32): void {
  sparseGemmRows(start, index, values, b, bias, c, 0, m, n, true, relu != 0);
}

/** Rows lo..hi of sparseGemm (useBias = 0) or sparseGemmBias: one thread's band. */
export function sparseGemmRowsAt(start: usize, index: usize, values: usize, b: usize, bias: usize, c: usize,
  lo: i32, hi: i32, n: i32, useBias: i32, relu: i32): void {
  sparseGemmRows(start, index, values, b, bias, c, lo, hi, n, useBias != 0, relu != 0);
}

// Row i of C is Σ_p values[p] · B[index[p], :] over row i's entries (sumEntries). B's rows are
// read whole and in order of the entries, as the dense GEMM would read them, but only for the
// nonzeros.
// @ts-ignore: decorator
@inline function sparseGemmRows(start: usize, index: usize, values: usize, b: usize, bias: usize, c: usize,
  lo: i32, hi: i32, n: i32, useBias: bool, relu: bool): void {
  const rowBytes = <usize>n << 2;
  for (let i = lo; i < hi; i++) {
    const first = load<i32>(start + (<usize>i << 2)), end = load<i32>(start + ((<usize>i + 1) << 2));
    sumEntries(bias, !useBias, c + <usize>i * rowBytes, b, rowBytes, index, values, first, end, rowBytes, relu);
  }
}

/**
 * out[0..bytes) = init[0..bytes) (or 0 if fromZero) + Σ_{p = first..end} values[p] · row p[0..bytes),
 * row p = b + index[p]·rowBytes, then max(0, ·) if relu: for each block of out held in registers
 * (32 floats in 8 v128 accumulators, then 4, then 1), one splat of the entry and a multiply-add per
 * v128 of its row; entries in order. out may equal init.
 */
// @ts-ignore: decorator
@inline function sumEntries(init: usize, fromZero: bool, out: usize, b: usize, rowBytes: usize, index: usize, values: usize,
  first: i32, end: i32, bytes: usize, relu: bool): void {
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (; o + 128 <= bytes; o += 128) {
    let c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, c6 = zero, c7 = zero;
    if (!fromZero) {
      const a = init + o;
      c0 = v128.load(a); c1 = v128.load(a, 16); c2 = v128.load(a, 32); c3 = v128.load(a, 48);
      c4 = v128.load(a, 64); c5 = v128.load(a, 80); c6 = v128.load(a, 96); c7 = v128.load(a, 112);
    }
    for (let p = first; p < end; p++) {
      const s = f32x4.splat(load<f32>(values + (<usize>p << 2)));
      const row = b + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + o;
      c0 = madd(s, v128.load(row), c0); c1 = madd(s, v128.load(row, 16), c1);
      c2 = madd(s, v128.load(row, 32), c2); c3 = madd(s, v128.load(row, 48), c3);
      c4 = madd(s, v128.load(row, 64), c4); c5 = madd(s, v128.load(row, 80), c5);
      c6 = madd(s, v128.load(row, 96), c6); c7 = madd(s, v128.load(row, 112), c7);
    }
    if (relu) {
      c0 = f32x4.max(c0, zero); c1 = f32x4.max(c1, zero); c2 = f32x4.max(c2, zero); c3 = f32x4.max(c3, zero);
      c4 = f32x4.max(c4, zero); c5 = f32x4.max(c5, zero); c6 = f32x4.max(c6, zero); c7 = f32x4.max(c7, zero);
    }
    const d = out + o;
    v128.store(d, c0); v128.store(d, c1, 16); v128.store(d, c2, 32); v128.store(d, c3, 48);
    v128.store(d, c4, 64); v128.store(d, c5, 80); v128.store(d, c6, 96); v128.store(d, c7, 112);
  }
  for (; o + 16 <= bytes; o += 16) {
    let acc = fromZero ? zero : v128.load(init + o);
    for (let p = first; p < end; p++) {
      const s = f32x4.splat(load<f32>(values + (<usize>p << 2)));
      acc = madd(s, v128.load(b + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + o), acc);
    }
    v128.store(out + o, relu ? f32x4.max(acc, zero) : acc);
  }
  for (; o < bytes; o += 4) {
    let acc: f32 = fromZero ? 0 : load<f32>(init + o);
    for (let p = first; p < end; p++) {
      acc += load<f32>(values + (<usize>p << 2)) * load<f32>(b + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + o);
    }
    store<f32>(out + o, relu ? max(acc, 0) : acc);
  }
}

/**
 * C[k, n] = Aᵀ·B for a sparse A[m, k] (CSR) and a dense B[m, n]: C = 0, then for each row i of A and
 * each of its entries (j, v), C[j, :] += v · B[i, :]. B's rows are read once each, in order; C's rows
 * are updated in place (C is small: the weight gradient of a layer whose dL/dz is mostly 0).
 */
export function sparseGemmTN(start: usize, index: usize, values: usize, b: usize, c: usize, m: i32, k: i32, n: i32): void {
  memory.fill(c, 0, <usize>k * <usize>n * 4);
  sparseGemmTNRows(start, index, values, b, c, 0, m, n);
}

/** sparseGemmTN's sums over rows lo..hi of A only, added to C (not zeroed): one thread's band. */
export function sparseGemmTNRows(start: usize, index: usize, values: usize, b: usize, c: usize, lo: i32, hi: i32, n: i32): void {
  const rowBytes = <usize>n << 2;
  for (let i = lo; i < hi; i++) {
    const first = load<i32>(start + (<usize>i << 2));
    const end = load<i32>(start + ((<usize>i + 1) << 2));
    if (first == end) continue;
    const row = b + <usize>i * rowBytes;
    let j: i32 = 0;
    // 32 columns of B's row in registers, added to each entry's row of C.
    for (; j + 32 <= n; j += 32) {
      const col = <usize>j << 2;
      const b0 = v128.load(row + col), b1 = v128.load(row + col, 16), b2 = v128.load(row + col, 32), b3 = v128.load(row + col, 48);
      const b4 = v128.load(row + col, 64), b5 = v128.load(row + col, 80), b6 = v128.load(row + col, 96), b7 = v128.load(row + col, 112);
      for (let p = first; p < end; p++) {
        const s = f32x4.splat(load<f32>(values + (<usize>p << 2)));
        const out = c + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + col;
        v128.store(out, madd(s, b0, v128.load(out))); v128.store(out, madd(s, b1, v128.load(out, 16)), 16);
        v128.store(out, madd(s, b2, v128.load(out, 32)), 32); v128.store(out, madd(s, b3, v128.load(out, 48)), 48);
        v128.store(out, madd(s, b4, v128.load(out, 64)), 64); v128.store(out, madd(s, b5, v128.load(out, 80)), 80);
        v128.store(out, madd(s, b6, v128.load(out, 96)), 96); v128.store(out, madd(s, b7, v128.load(out, 112)), 112);
      }
    }
    for (; j + 4 <= n; j += 4) {
      const col = <usize>j << 2;
      const bv = v128.load(row + col);
      for (let p = first; p < end; p++) {
        const out = c + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + col;
        v128.store(out, madd(f32x4.splat(load<f32>(values + (<usize>p << 2))), bv, v128.load(out)));
      }
    }
    for (; j < n; j++) {
      const col = <usize>j << 2;
      const bv = load<f32>(row + col);
      for (let p = first; p < end; p++) {
        const out = c + <usize>load<i32>(index + (<usize>p << 2)) * rowBytes + col;
        store<f32>(out, load<f32>(out) + load<f32>(values + (<usize>p << 2)) * bv);
      }
    }
  }
}

/**
 * x = col2im(A·Kt), the input gradient of a convolution, for a sparse A [batch·outH·outW, filters]
 * (CSR: dL/dz, one row per output position) and Kt [filters, kh·kw·c] (the Keras kernel transposed):
 * x = 0, then each position's entries (f, v) add v·Kt[f, :] to its input window, clipped at the
 * image border. The same geometry arguments as col2im.
 */
export function sparseCol2im(start: usize, index: usize, values: usize, kt: usize, x: usize, batch: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  sparseCol2imImages(start, index, values, kt, x, 0, batch, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
}

/** sparseCol2im for the images first <= b < end only (pointers still at image 0): one thread's band. */
export function sparseCol2imImages(start: usize, index: usize, values: usize, kt: usize, x: usize, first: i32, end: i32,
  h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const imageBytes = <usize>h * <usize>w * <usize>c * 4;
  memory.fill(x + <usize>first * imageBytes, 0, <usize>(end - first) * imageBytes);
  const ktRowBytes = <usize>kh * <usize>kw * <usize>c * 4;
  for (let b = first; b < end; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const position = (b * outH + oy) * outW + ox;
        const p0 = load<i32>(start + (<usize>position << 2)), p1 = load<i32>(start + ((<usize>position + 1) << 2));
        if (p0 == p1) continue;
        const y0 = oy * strideH - padTop, x0 = ox * strideW - padLeft;
        const kx0 = max(0, -x0), kx1 = min(kw, w - x0); // kernel columns inside the image
        if (kx0 >= kx1) continue;
        for (let ky = max(0, -y0); ky < min(kh, h - y0); ky++) {
          // One kernel row's run: its pixels are adjacent in x and in a row of Kt.
          const dst = x + ((<usize>(b * h + y0 + ky) * <usize>w + <usize>(x0 + kx0)) * <usize>c << 2);
          const src = kt + ((<usize>(ky * kw + kx0) * <usize>c) << 2);
          sumEntries(dst, false, dst, src, ktRowBytes, index, values, p0, p1, <usize>((kx1 - kx0) * c) << 2, false);
        }
      }
    }
  }
}
