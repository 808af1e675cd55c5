// Element-wise and row-wise kernels and the optimizer updates (spec: src/backend/kernels.ts,
// readable twin: src/backend/reference/elementwise.ts).
//
// Style: pointers are byte offsets (usize) into the imported memory, sizes are i32, data f32.
// Hot loops take 4 floats at a time as one f32x4 (v128.load/store accept unaligned addresses)
// and finish with a scalar tail. No allocation, no globals: safe to call from several threads.
// No relaxed-SIMD instructions here, so the plain and relaxed builds give bit-identical results.
import { bytesOf } from './common';

/** Bytes covered by the f32x4 part of an n-float loop (n rounded down to a multiple of 4). */
@inline function vecBytes(n: i32): usize {
  return <usize>(n & ~3) << 2;
}

/** Horizontal max of the 4 lanes (NaN propagates, like f32.max). */
@inline function hmax(v: v128): f32 {
  return max(
    max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)),
  );
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// ---- Activations and the bias gradient ----

/** y[i] = max(0, x[i]); y may equal x. (NaN stays NaN, as with Math.max.) */
export function relu(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) v128.store(y + i, f32x4.max(v128.load(x + i), zero));
  for (; i < bytes; i += 4) store<f32>(y + i, max<f32>(load<f32>(x + i), 0));
}

/** dx[i] = y[i] > 0 ? dy[i] : 0; dx may equal dy. */
export function reluBackward(dy: usize, y: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) v128.store(dx + i, v128.and(v128.load(dy + i), f32x4.gt(v128.load(y + i), zero)));
  for (; i < bytes; i += 4) store<f32>(dx + i, load<f32>(y + i) > 0 ? load<f32>(dy + i) : 0);
}

/** out[c] = (accumulate ? out[c] : 0) + Σ_r x[r,c], each column summed in row order. */
export function colSum(x: usize, out: usize, rows: i32, cols: i32, accumulate: i32): void {
  const rowBytes = bytesOf(cols);
  const end = x + <usize>rows * rowBytes;
  let c: i32 = 0;
  // 16 columns at a time in four f32x4 accumulators, streaming down the rows.
  for (; c + 16 <= cols; c += 16) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let p = x + bytesOf(c); p < end; p += rowBytes) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
    }
    const o = out + bytesOf(c);
    if (accumulate) {
      a0 = f32x4.add(v128.load(o), a0);
      a1 = f32x4.add(v128.load(o, 16), a1);
      a2 = f32x4.add(v128.load(o, 32), a2);
      a3 = f32x4.add(v128.load(o, 48), a3);
    }
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; c + 4 <= cols; c += 4) {
    let a = f32x4.splat(0);
    for (let p = x + bytesOf(c); p < end; p += rowBytes) a = f32x4.add(a, v128.load(p));
    const o = out + bytesOf(c);
    v128.store(o, accumulate ? f32x4.add(v128.load(o), a) : a);
  }
  for (; c < cols; c++) {
    let s: f32 = 0;
    for (let p = x + bytesOf(c); p < end; p += rowBytes) s += load<f32>(p);
    const o = out + bytesOf(c);
    store<f32>(o, accumulate ? load<f32>(o) + s : s);
  }
}

// ---- Softmax ----

/** max_j x[j] over one row of n ≥ 1 floats. */
@inline function rowMax(x: usize, n: i32): f32 {
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let m: f32 = load<f32>(x);
  let i: usize = 0;
  if (vecEnd) {
    let mv = v128.load(x);
    for (i = 16; i < vecEnd; i += 16) mv = f32x4.max(mv, v128.load(x + i));
    m = hmax(mv);
  }
  for (; i < bytes; i += 4) m = max(m, load<f32>(x + i));
  return m;
}

/** y[j] = exp(x[j] − max) / Σ exp(x[k] − max) for one row; y may equal x. */
@inline function softmaxRow(x: usize, y: usize, n: i32): void {
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  const m = rowMax(x, n);
  // The exp loop is scalar anyway, so it works in f64: x − max is exact there (in f32 its rounding
  // costs |x − max|·2⁻²⁴ relative in exp) and the sum of a long row stays accurate.
  let sum64: f64 = 0;
  for (let i: usize = 0; i < bytes; i += 4) {
    const e = <f32>Math.exp(<f64>load<f32>(x + i) - <f64>m);
    store<f32>(y + i, e);
    sum64 += e;
  }
  const sum = <f32>sum64;
  const s = f32x4.splat(sum);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) v128.store(y + i, f32x4.div(v128.load(y + i), s));
  for (; i < bytes; i += 4) store<f32>(y + i, load<f32>(y + i) / sum);
}

/** y[r,:] = softmax(x[r,:]); y may equal x. */
export function softmax(x: usize, y: usize, rows: i32, cols: i32): void {
  if (cols <= 0) return;
  const rowBytes = bytesOf(cols);
  for (let r = 0; r < rows; r++) softmaxRow(x + <usize>r * rowBytes, y + <usize>r * rowBytes, cols);
}

/** dx[r,c] = y[r,c] · (dy[r,c] − Σ_j dy[r,j]·y[r,j]) */
export function softmaxBackward(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = bytesOf(cols);
  const vecEnd = vecBytes(cols);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * rowBytes;
    const yr = y + off, dyr = dy + off, dxr = dx + off;
    let acc = f32x4.splat(0);
    let i: usize = 0;
    for (; i < vecEnd; i += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(dyr + i), v128.load(yr + i)));
    let dot = hsum(acc);
    for (; i < rowBytes; i += 4) dot += load<f32>(dyr + i) * load<f32>(yr + i);
    const d = f32x4.splat(dot);
    for (i = 0; i < vecEnd; i += 16) {
      v128.store(dxr + i, f32x4.mul(v128.load(yr + i), f32x4.sub(v128.load(dyr + i), d)));
    }
    for (; i < rowBytes; i += 4) store<f32>(dxr + i, load<f32>(yr + i) * (load<f32>(dyr + i) - dot));
  }
}

/**
 * probs = softmax(logits); dLogits = scale · (probs − onehot(label)); returns Σ_r −log(max(p_label, 1e-7)).
 * dLogits may equal logits (a row of logits is fully read before its dLogits are written).
 * A label outside [0, cols) adds NaN to the loss and no one-hot term (never writes out of the row).
 */
export function softmaxCrossEntropy(logits: usize, labels: usize, probs: usize, dLogits: usize, rows: i32, cols: i32, scale: f32): f64 {
  if (cols <= 0) return 0;
  const rowBytes = bytesOf(cols);
  const vecEnd = vecBytes(cols);
  const sv = f32x4.splat(scale);
  let loss: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * rowBytes;
    const p = probs + off, d = dLogits + off;
    softmaxRow(logits + off, p, cols);
    let i: usize = 0;
    for (; i < vecEnd; i += 16) v128.store(d + i, f32x4.mul(sv, v128.load(p + i)));
    for (; i < rowBytes; i += 4) store<f32>(d + i, scale * load<f32>(p + i));
    const label = load<i32>(labels + bytesOf(r));
    if (<u32>label < <u32>cols) {
      const pl = load<f32>(p + bytesOf(label));
      store<f32>(d + bytesOf(label), scale * (pl - 1));
      loss -= Math.log(<f64>max<f32>(pl, 1e-7));
    } else {
      loss = NaN;
    }
  }
  return loss;
}

/** out[r] = index of the first maximum of x[r,:] (a NaN is never a maximum unless it is x[r,0]). */
export function argmaxRows(x: usize, out: usize, rows: i32, cols: i32): void {
  // Scalar: rows are short (classes), the comparison chain is the whole cost.
  const rowBytes = bytesOf(cols);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    let best = load<f32>(row);
    let arg = 0;
    for (let c = 1; c < cols; c++) {
      const v = load<f32>(row + bytesOf(c));
      if (v > best) {
        best = v;
        arg = c;
      }
    }
    store<i32>(out + bytesOf(r), arg);
  }
}

// ---- Vector arithmetic ----

/** out[i] = a[i] · b[i]; out may equal a or b. */
export function mul(a: usize, b: usize, out: usize, n: i32): void {
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) v128.store(out + i, f32x4.mul(v128.load(a + i), v128.load(b + i)));
  for (; i < bytes; i += 4) store<f32>(out + i, load<f32>(a + i) * load<f32>(b + i));
}

/**
 * Inverted-dropout mask: mask[i] = u < rate ? 0 : scale, u = the hash of (seed, start + i) in
 * [0, 1). The hash (a multiplicative index spread, then the "lowbias32" mixer) needs no state, so
 * any range can be filled on its own, four lanes at a time.
 */
export function dropoutMask(mask: usize, n: i32, rate: f32, scale: f32, seed: i32, start: i32): void {
  const rateV = f32x4.splat(rate);
  const scaleV = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  const lanes = i32x4(0, 1, 2, 3);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let x = v128.xor(i32x4.splat(seed), i32x4.mul(i32x4.add(i32x4.splat(start + i), lanes), i32x4.splat(0x9e3779b9)));
    x = v128.xor(x, i32x4.shr_u(x, 16));
    x = i32x4.mul(x, i32x4.splat(0x7feb352d));
    x = v128.xor(x, i32x4.shr_u(x, 15));
    x = i32x4.mul(x, i32x4.splat(0x846ca68b));
    x = v128.xor(x, i32x4.shr_u(x, 16));
    const u = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(x, 8)), f32x4.splat(1.0 / 16777216.0));
    v128.store(mask + bytesOf(i), v128.bitselect(zero, scaleV, f32x4.lt(u, rateV)));
  }
  for (; i < n; i++) {
    let x = <u32>seed ^ (<u32>(start + i) * 0x9e3779b9);
    x ^= x >>> 16;
    x *= 0x7feb352d;
    x ^= x >>> 15;
    x *= 0x846ca68b;
    x ^= x >>> 16;
    const u = <f32>(x >>> 8) * (1.0 / 16777216.0);
    store<f32>(mask + bytesOf(i), u < rate ? 0 : scale);
  }
}

/** y[i] += alpha · x[i] */
export function axpy(x: usize, y: usize, n: i32, alpha: f32): void {
  const av = f32x4.splat(alpha);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) v128.store(y + i, f32x4.add(v128.load(y + i), f32x4.mul(av, v128.load(x + i))));
  for (; i < bytes; i += 4) store<f32>(y + i, load<f32>(y + i) + alpha * load<f32>(x + i));
}

/** dst[i,:] = src[indices[i],:] (rows of rowLen floats) */
export function gatherRows(src: usize, indices: usize, dst: usize, count: i32, rowLen: i32): void {
  const rowBytes = bytesOf(rowLen);
  for (let i = 0; i < count; i++) {
    const from = src + <usize>load<i32>(indices + bytesOf(i)) * rowBytes;
    memory.copy(dst + <usize>i * rowBytes, from, rowBytes);
  }
}

/** y[c, r] = x[r, c] for x[rows, cols]: small matrices only (a conv kernel and its gradient). */
export function transpose(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(y + bytesOf(c * rows + r), load<f32>(x + bytesOf(r * cols + c)));
  }
}

// ---- Optimizer updates (in place) ----

// Subnormal optimizer state is flushed to zero. Where a gradient falls to 0 and stays there (a
// ReLU unit that died, a pixel inked only in a few early batches), momentum decays geometrically,
// 0.9ᵗ, and after ~800 steps it is subnormal: x86 then takes a ~100-cycle microcode assist on every
// operation that touches it (a 3x slower step, docs/kernels.md), and WebAssembly has no
// flush-to-zero mode. A value below 2⁻¹²⁶ moves no weight by a representable amount anyway.
const FLT_MIN: f32 = 1.17549435e-38;

// @ts-ignore: decorator
@inline function flushV(x: v128): v128 {
  return v128.and(x, f32x4.ge(f32x4.abs(x), f32x4.splat(FLT_MIN)));
}

// @ts-ignore: decorator
@inline function flush(x: f32): f32 {
  return Mathf.abs(x) >= FLT_MIN ? x : 0;
}

/**
 * momentum = 0: w −= lr·g. Otherwise v = momentum·v − lr·g (flushed to 0 when subnormal), then
 * w += v (plain) or w += momentum·v − lr·g (nesterov).
 */
export function sgdUpdate(w: usize, g: usize, v: usize, n: i32, lr: f32, momentum: f32, nesterov: i32): void {
  const lrv = f32x4.splat(lr);
  const mv = f32x4.splat(momentum);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  if (momentum == 0) {
    // w −= lr·g
    for (; i < vecEnd; i += 16) v128.store(w + i, f32x4.sub(v128.load(w + i), f32x4.mul(lrv, v128.load(g + i))));
    for (; i < bytes; i += 4) store<f32>(w + i, load<f32>(w + i) - lr * load<f32>(g + i));
  } else if (!nesterov) {
    // v = μ·v − lr·g; w += v
    for (; i < vecEnd; i += 16) {
      const vi = flushV(f32x4.sub(f32x4.mul(mv, v128.load(v + i)), f32x4.mul(lrv, v128.load(g + i))));
      v128.store(v + i, vi);
      v128.store(w + i, f32x4.add(v128.load(w + i), vi));
    }
    for (; i < bytes; i += 4) {
      const vi = flush(momentum * load<f32>(v + i) - lr * load<f32>(g + i));
      store<f32>(v + i, vi);
      store<f32>(w + i, load<f32>(w + i) + vi);
    }
  } else {
    // v = μ·v − lr·g; w += μ·v − lr·g
    for (; i < vecEnd; i += 16) {
      const lg = f32x4.mul(lrv, v128.load(g + i));
      const vi = flushV(f32x4.sub(f32x4.mul(mv, v128.load(v + i)), lg));
      v128.store(v + i, vi);
      v128.store(w + i, f32x4.add(v128.load(w + i), f32x4.sub(f32x4.mul(mv, vi), lg)));
    }
    for (; i < bytes; i += 4) {
      const lg = lr * load<f32>(g + i);
      const vi = flush(momentum * load<f32>(v + i) - lg);
      store<f32>(v + i, vi);
      store<f32>(w + i, load<f32>(w + i) + (momentum * vi - lg));
    }
  }
}

/** m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g² (both flushed to 0 when subnormal); w −= lr·(m·c1) / (sqrt(v·c2) + ε) */
// β1, β2 arrive as f64 so that 1 − β is computed before rounding to f32, as TF.js does (in f32,
// 1 − f32(0.999) is off by 1.3e-5 relative).
export function adamUpdate(w: usize, g: usize, m: usize, v: usize, n: i32, lr: f32, beta1: f64,
  beta2: f64, epsilon: f32, c1: f32, c2: f32): void {
  const beta1f = <f32>beta1, oneMinusBeta1 = <f32>(1 - beta1);
  const beta2f = <f32>beta2, oneMinusBeta2 = <f32>(1 - beta2);
  const b1 = f32x4.splat(beta1f), nb1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2f), nb2 = f32x4.splat(oneMinusBeta2);
  const lrv = f32x4.splat(lr), epsv = f32x4.splat(epsilon);
  const c1v = f32x4.splat(c1), c2v = f32x4.splat(c2);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) {
    const gi = v128.load(g + i);
    const mi = flushV(f32x4.add(f32x4.mul(b1, v128.load(m + i)), f32x4.mul(nb1, gi)));
    const vi = flushV(f32x4.add(f32x4.mul(b2, v128.load(v + i)), f32x4.mul(nb2, f32x4.mul(gi, gi))));
    const step = f32x4.div(f32x4.mul(lrv, f32x4.mul(mi, c1v)), f32x4.add(f32x4.sqrt(f32x4.mul(vi, c2v)), epsv));
    v128.store(m + i, mi);
    v128.store(v + i, vi);
    v128.store(w + i, f32x4.sub(v128.load(w + i), step));
  }
  for (; i < bytes; i += 4) {
    const gi = load<f32>(g + i);
    const mi = flush(beta1f * load<f32>(m + i) + oneMinusBeta1 * gi);
    const vi = flush(beta2f * load<f32>(v + i) + oneMinusBeta2 * (gi * gi));
    store<f32>(m + i, mi);
    store<f32>(v + i, vi);
    store<f32>(w + i, load<f32>(w + i) - (lr * (mi * c1)) / (Mathf.sqrt(vi * c2) + epsilon));
  }
}

/**
 * RMSprop as TF.js and Keras compute it: ms = ρ·ms + (1−ρ)·g²; centered = 1 also keeps
 * mg = ρ·mg + (1−ρ)·g and uses d = ms − mg², else d = ms; step = lr·g / sqrt(d + ε); momentum ≠ 0:
 * mom = μ·mom + step and w −= mom, else w −= step. ms, mg and mom are flushed to 0 when subnormal;
 * mom and mg are untouched (and may be 0) when unused.
 */
// ρ arrives as f64 so that 1 − ρ is computed before rounding to f32, as in adamUpdate.
export function rmspropUpdate(w: usize, g: usize, ms: usize, mom: usize, mg: usize, n: i32, lr: f32, rho: f64,
  momentum: f32, epsilon: f32, centered: i32): void {
  const rhof = <f32>rho, oneMinusRho = <f32>(1 - rho);
  const rv = f32x4.splat(rhof), nrv = f32x4.splat(oneMinusRho);
  const lrv = f32x4.splat(lr), mv = f32x4.splat(momentum), epsv = f32x4.splat(epsilon);
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  let i: usize = 0;
  for (; i < vecEnd; i += 16) {
    const gi = v128.load(g + i);
    const msi = flushV(f32x4.add(f32x4.mul(rv, v128.load(ms + i)), f32x4.mul(nrv, f32x4.mul(gi, gi))));
    v128.store(ms + i, msi);
    let d = msi;
    if (centered) {
      const mgi = flushV(f32x4.add(f32x4.mul(rv, v128.load(mg + i)), f32x4.mul(nrv, gi)));
      v128.store(mg + i, mgi);
      d = f32x4.sub(msi, f32x4.mul(mgi, mgi));
    }
    let step = f32x4.div(f32x4.mul(gi, lrv), f32x4.sqrt(f32x4.add(d, epsv)));
    if (momentum != 0) {
      step = flushV(f32x4.add(f32x4.mul(mv, v128.load(mom + i)), step));
      v128.store(mom + i, step);
    }
    v128.store(w + i, f32x4.sub(v128.load(w + i), step));
  }
  for (; i < bytes; i += 4) {
    const gi = load<f32>(g + i);
    const msi = flush(rhof * load<f32>(ms + i) + oneMinusRho * (gi * gi));
    store<f32>(ms + i, msi);
    let d = msi;
    if (centered) {
      const mgi = flush(rhof * load<f32>(mg + i) + oneMinusRho * gi);
      store<f32>(mg + i, mgi);
      d = msi - mgi * mgi;
    }
    let step = (gi * lr) / Mathf.sqrt(d + epsilon);
    if (momentum != 0) {
      step = flush(momentum * load<f32>(mom + i) + step);
      store<f32>(mom + i, step);
    }
    store<f32>(w + i, load<f32>(w + i) - step);
  }
}
