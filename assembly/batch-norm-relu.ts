// BatchNormalization followed by a ReLU, fused (spec: src/backend/kernels.ts, readable twin:
// src/backend/reference/batch-norm-relu.ts, the layer: src/fast/batch-norm-relu.ts). x[rows, cols],
// one channel per column. The per-channel coefficients (scale = γ/√(σ² + ε), and the backward's)
// are computed once per call by the layer, so the per-element passes are f32 SIMD with no division
// or square root, and the sums read the matrix row by row (the textbook kernels walk it column
// group by column group, re-reading every cache line once per group).
import { bytesOf, madd } from './common';

/** Rows summed in f32 before each addition into the f64 totals. */
const CHUNK: i32 = 32;

// @ts-ignore: decorator
@inline function low(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}
/** Adds the four f32 lanes of v into the f64 totals at p. */
// @ts-ignore: decorator
@inline function flush(p: usize, v: v128): void {
  v128.store(p, f64x2.add(v128.load(p), low(v)));
  v128.store(p + 16, f64x2.add(v128.load(p + 16), high(v)));
}

/**
 * Per-channel sums in f64 (overwritten), by mode: 0: sums[c] = Σ_r x[r,c]; 1: sums[c] = Σ_r (x[r,c] − mean[c])²;
 * 2: sums[c] = Σ_r g[r,c] and sums[cols + c] = Σ_r g[r,c]·(x[r,c] − mean[c]), with g = dy where y > 0, else 0
 * (the ReLU's backward). Unused pointers (y, dy, mean) may be 0.
 */
export function channelSums(x: usize, y: usize, dy: usize, mean: usize, sums: usize, rows: i32, cols: i32, mode: i32): void {
  const rowBytes = bytesOf(cols);
  memory.fill(sums, 0, <usize>(mode == 2 ? 2 * cols : cols) << 3);
  const c4 = cols & ~3;
  const zero = f32x4.splat(0);
  for (let r0 = 0; r0 < rows; r0 += CHUNK) {
    const start = <usize>r0 * rowBytes;
    const end = <usize>min(rows, r0 + CHUNK) * rowBytes;
    for (let c = 0; c < c4; c += 4) {
      const off = bytesOf(c);
      const s = sums + (<usize>c << 3);
      if (mode == 0) {
        let a = zero;
        for (let p = start + off; p < end; p += rowBytes) a = f32x4.add(a, v128.load(x + p));
        flush(s, a);
      } else if (mode == 1) {
        const m = v128.load(mean + off);
        let a = zero;
        for (let p = start + off; p < end; p += rowBytes) {
          const d = f32x4.sub(v128.load(x + p), m);
          a = madd(d, d, a);
        }
        flush(s, a);
      } else {
        const m = v128.load(mean + off);
        let a = zero, b = zero;
        for (let p = start + off; p < end; p += rowBytes) {
          const g = v128.and(v128.load(dy + p), f32x4.gt(v128.load(y + p), zero));
          a = f32x4.add(a, g);
          b = madd(g, f32x4.sub(v128.load(x + p), m), b);
        }
        flush(s, a);
        flush(sums + (<usize>(cols + c) << 3), b);
      }
    }
    for (let c = c4; c < cols; c++) {
      const off = bytesOf(c);
      const m: f32 = mode == 0 ? 0 : load<f32>(mean + off);
      let a: f32 = 0, b: f32 = 0;
      for (let p = start + off; p < end; p += rowBytes) {
        const d = load<f32>(x + p) - m;
        if (mode == 0) a += load<f32>(x + p);
        else if (mode == 1) a += d * d;
        else {
          const g: f32 = load<f32>(y + p) > 0 ? load<f32>(dy + p) : 0;
          a += g;
          b += g * d;
        }
      }
      store<f64>(sums + (<usize>c << 3), load<f64>(sums + (<usize>c << 3)) + <f64>a);
      if (mode == 2) store<f64>(sums + (<usize>(cols + c) << 3), load<f64>(sums + (<usize>(cols + c) << 3)) + <f64>b);
    }
  }
}

/** y[r,c] = max(0, (x[r,c] − mean[c]) · scale[c] + beta[c]); y may equal x. */
export function batchNormReluForward(x: usize, y: usize, mean: usize, scale: usize, beta: usize, rows: i32, cols: i32): void {
  const rowBytes = bytesOf(cols);
  const vec = <usize>(cols & ~3) << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let i: usize = 0;
    for (; i < vec; i += 16) {
      const d = f32x4.sub(v128.load(xr + i), v128.load(mean + i));
      v128.store(yr + i, f32x4.max(madd(d, v128.load(scale + i), v128.load(beta + i)), zero));
    }
    for (; i < rowBytes; i += 4) {
      const v = (load<f32>(xr + i) - load<f32>(mean + i)) * load<f32>(scale + i) + load<f32>(beta + i);
      store<f32>(yr + i, v > 0 ? v : 0);
    }
  }
}

/**
 * dx[r,c] = scale[c]·g[r,c] + (a[c]·(x[r,c] − mean[c]) + b[c]), with g = dy where y > 0, else 0:
 * BatchNormalization's input gradient behind a ReLU, given its per-channel coefficients.
 */
export function batchNormReluInputGrad(x: usize, y: usize, dy: usize, dx: usize, mean: usize, scale: usize, a: usize, b: usize,
  rows: i32, cols: i32): void {
  const rowBytes = bytesOf(cols);
  const vec = <usize>(cols & ~3) << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * rowBytes;
    let i: usize = 0;
    for (; i < vec; i += 16) {
      const g = v128.and(v128.load(dy + off + i), f32x4.gt(v128.load(y + off + i), zero));
      const rest = madd(v128.load(a + i), f32x4.sub(v128.load(x + off + i), v128.load(mean + i)), v128.load(b + i));
      v128.store(dx + off + i, madd(v128.load(scale + i), g, rest));
    }
    for (; i < rowBytes; i += 4) {
      const g: f32 = load<f32>(y + off + i) > 0 ? load<f32>(dy + off + i) : 0;
      const rest = load<f32>(a + i) * (load<f32>(x + off + i) - load<f32>(mean + i)) + load<f32>(b + i);
      store<f32>(dx + off + i, load<f32>(scale + i) * g + rest);
    }
  }
}
