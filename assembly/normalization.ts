// Batch normalization over the last axis of x[rows, cols], one channel per column (spec:
// src/backend/kernels.ts, readable twin: src/backend/reference/normalization.ts).
//
// The per-channel sums run over every row (batch · height · width of them after a convolution), so
// they accumulate in f64: four columns at a time as two f64x2 pairs, streaming down the rows. The
// per-element passes (normalize, dx) stream row by row, also in f64 (the twin's precision: dx
// subtracts nearly equal terms), four values as two f64x2 pairs, with a scalar tail.
import { bytesOf } from './common';

/** Bytes covered by the f32x4 part of an n-float loop. */
// @ts-ignore: decorator
@inline function vecBytes(n: i32): usize {
  return <usize>(n & ~3) << 2;
}

/** The low and high pairs of four f32 lanes, as f64x2. */
// @ts-ignore: decorator
@inline function low(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** Stores the f64x2 pairs lo, hi, each times `scale`, as four f32 at p. */
// @ts-ignore: decorator
@inline function store4(p: usize, lo: v128, hi: v128, scale: f64): void {
  const s = f64x2.splat(scale);
  const a = f32x4.demote_f64x2_zero(f64x2.mul(lo, s));
  const b = f32x4.demote_f64x2_zero(f64x2.mul(hi, s));
  v128.store(p, v128.shuffle<f32>(a, b, 0, 1, 4, 5));
}

/** mean[c] = Σ_r x[r,c] / rows; variance[c] = Σ_r (x[r,c] − mean[c])² / rows (two passes, f64 sums). */
export function batchNormStats(x: usize, mean: usize, variance: usize, rows: i32, cols: i32): void {
  const rowBytes = bytesOf(cols);
  const end = x + <usize>rows * rowBytes;
  const inv: f64 = 1 / <f64>rows;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const off = bytesOf(c);
    let sLo = f64x2.splat(0), sHi = sLo;
    for (let p = x + off; p < end; p += rowBytes) {
      const v = v128.load(p);
      sLo = f64x2.add(sLo, low(v));
      sHi = f64x2.add(sHi, high(v));
    }
    const mLo = f64x2.mul(sLo, f64x2.splat(inv)), mHi = f64x2.mul(sHi, f64x2.splat(inv));
    let qLo = f64x2.splat(0), qHi = qLo;
    for (let p = x + off; p < end; p += rowBytes) {
      const v = v128.load(p);
      const dLo = f64x2.sub(low(v), mLo), dHi = f64x2.sub(high(v), mHi);
      qLo = f64x2.add(qLo, f64x2.mul(dLo, dLo));
      qHi = f64x2.add(qHi, f64x2.mul(dHi, dHi));
    }
    store4(mean + off, mLo, mHi, 1);
    store4(variance + off, qLo, qHi, inv);
  }
  for (; c < cols; c++) {
    const off = bytesOf(c);
    let s: f64 = 0;
    for (let p = x + off; p < end; p += rowBytes) s += <f64>load<f32>(p);
    const m = s * inv;
    let q: f64 = 0;
    for (let p = x + off; p < end; p += rowBytes) {
      const d = <f64>load<f32>(p) - m;
      q += d * d;
    }
    store<f32>(mean + off, <f32>m);
    store<f32>(variance + off, <f32>(q * inv));
  }
}

/** y[r,c] = (x[r,c] − mean[c]) · gamma[c] / sqrt(variance[c] + epsilon) + beta[c]; y may equal x. */
export function batchNormForward(x: usize, y: usize, mean: usize, variance: usize, gamma: usize, beta: usize,
  rows: i32, cols: i32, epsilon: f32): void {
  const rowBytes = bytesOf(cols);
  const vecEnd = vecBytes(cols);
  const eps = f64x2.splat(<f64>epsilon);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let i: usize = 0;
    for (; i < vecEnd; i += 16) {
      const v = v128.load(xr + i), m = v128.load(mean + i), s = v128.load(variance + i), g = v128.load(gamma + i), b = v128.load(beta + i);
      const lo = f64x2.add(f64x2.mul(f64x2.sub(low(v), low(m)), f64x2.div(low(g), f64x2.sqrt(f64x2.add(low(s), eps)))), low(b));
      const hi = f64x2.add(f64x2.mul(f64x2.sub(high(v), high(m)), f64x2.div(high(g), f64x2.sqrt(f64x2.add(high(s), eps)))), high(b));
      store4(yr + i, lo, hi, 1);
    }
    for (; i < rowBytes; i += 4) {
      const scale = <f64>load<f32>(gamma + i) / Math.sqrt(<f64>load<f32>(variance + i) + <f64>epsilon);
      store<f32>(yr + i, <f32>((<f64>load<f32>(xr + i) - <f64>load<f32>(mean + i)) * scale + <f64>load<f32>(beta + i)));
    }
  }
}

/** dBeta[c] = Σ_r dy[r,c]; dGamma[c] = Σ_r dy[r,c] · (x[r,c] − mean[c]) / sqrt(variance[c] + epsilon). */
export function batchNormParamGrads(x: usize, dy: usize, mean: usize, variance: usize, dGamma: usize, dBeta: usize,
  rows: i32, cols: i32, epsilon: f32): void {
  const rowBytes = bytesOf(cols);
  const n = <usize>rows * rowBytes;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const off = bytesOf(c);
    const m = v128.load(mean + off);
    const mLo = low(m), mHi = high(m);
    let gLo = f64x2.splat(0), gHi = gLo, hLo = gLo, hHi = gLo; // Σ dy, Σ dy·(x − mean)
    for (let p = off; p < n; p += rowBytes) {
      const g = v128.load(dy + p), v = v128.load(x + p);
      const dLo = low(g), dHi = high(g);
      gLo = f64x2.add(gLo, dLo);
      gHi = f64x2.add(gHi, dHi);
      hLo = f64x2.add(hLo, f64x2.mul(dLo, f64x2.sub(low(v), mLo)));
      hHi = f64x2.add(hHi, f64x2.mul(dHi, f64x2.sub(high(v), mHi)));
    }
    const s = v128.load(variance + off);
    const e = f64x2.splat(<f64>epsilon);
    const invLo = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(low(s), e)));
    const invHi = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(high(s), e)));
    store4(dBeta + off, gLo, gHi, 1);
    store4(dGamma + off, f64x2.mul(hLo, invLo), f64x2.mul(hHi, invHi), 1);
  }
  for (; c < cols; c++) {
    const off = bytesOf(c);
    const m = <f64>load<f32>(mean + off);
    let g: f64 = 0, h: f64 = 0;
    for (let p = off; p < n; p += rowBytes) {
      const d = <f64>load<f32>(dy + p);
      g += d;
      h += d * (<f64>load<f32>(x + p) - m);
    }
    store<f32>(dBeta + off, <f32>g);
    store<f32>(dGamma + off, <f32>(h / Math.sqrt(<f64>load<f32>(variance + off) + <f64>epsilon)));
  }
}

/**
 * dx = s · (dy − t · (dBeta + x̂ · dGamma)), s = gamma / sqrt(variance + epsilon),
 * x̂ = (x − mean) / sqrt(variance + epsilon), t = 1 / rows in training (batch statistics), else 0.
 * dx may equal dy.
 */
export function batchNormInputGrad(x: usize, dy: usize, dx: usize, mean: usize, variance: usize, gamma: usize,
  dGamma: usize, dBeta: usize, rows: i32, cols: i32, epsilon: f32, training: i32): void {
  const rowBytes = bytesOf(cols);
  const vecEnd = vecBytes(cols);
  const t: f64 = training ? 1 / <f64>rows : 0;
  const tv = f64x2.splat(t), eps = f64x2.splat(<f64>epsilon), one = f64x2.splat(1);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * rowBytes;
    const xr = x + off, dyr = dy + off, dxr = dx + off;
    let i: usize = 0;
    for (; i < vecEnd; i += 16) {
      const v = v128.load(xr + i), m = v128.load(mean + i), s = v128.load(variance + i), g = v128.load(gamma + i);
      const d = v128.load(dyr + i), db = v128.load(dBeta + i), dg = v128.load(dGamma + i);
      // Two lanes at a time in f64: dy − t·(…) cancels, and f32 would lose digits there.
      const invLo = f64x2.div(one, f64x2.sqrt(f64x2.add(low(s), eps)));
      const invHi = f64x2.div(one, f64x2.sqrt(f64x2.add(high(s), eps)));
      const sharedLo = f64x2.mul(tv, f64x2.add(low(db), f64x2.mul(f64x2.mul(f64x2.sub(low(v), low(m)), invLo), low(dg))));
      const sharedHi = f64x2.mul(tv, f64x2.add(high(db), f64x2.mul(f64x2.mul(f64x2.sub(high(v), high(m)), invHi), high(dg))));
      store4(dxr + i, f64x2.mul(f64x2.mul(low(g), invLo), f64x2.sub(low(d), sharedLo)),
        f64x2.mul(f64x2.mul(high(g), invHi), f64x2.sub(high(d), sharedHi)), 1);
    }
    for (; i < rowBytes; i += 4) {
      const inv = 1 / Math.sqrt(<f64>load<f32>(variance + i) + <f64>epsilon);
      const xhat = (<f64>load<f32>(xr + i) - <f64>load<f32>(mean + i)) * inv;
      const shared = t * (<f64>load<f32>(dBeta + i) + xhat * <f64>load<f32>(dGamma + i));
      store<f32>(dxr + i, <f32>(<f64>load<f32>(gamma + i) * inv * (<f64>load<f32>(dyr + i) - shared)));
    }
  }
}

/** moving[i] −= (moving[i] − value[i]) · (1 − momentum), with 1 − momentum rounded once, from f64. */
export function movingAverage(moving: usize, value: usize, n: i32, momentum: f64): void {
  const decay = <f32>(1 - momentum);
  const dv = f32x4.splat(decay);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) {
    const m = v128.load(moving + i);
    v128.store(moving + i, f32x4.sub(m, f32x4.mul(f32x4.sub(m, v128.load(value + i)), dv)));
  }
  for (; i < bytes; i += 4) {
    const m = load<f32>(moving + i);
    store<f32>(moving + i, m - (m - load<f32>(value + i)) * decay);
  }
}
