// Winograd F(2x2, 3x3): the transforms around the 16 matrix products of a 3x3, stride-1, 'valid'
// convolution (spec: src/backend/kernels.ts, readable twin: src/backend/reference/winograd.ts,
// the layer: src/fast/winograd-conv.ts).
//
// A 2x2 block of outputs reads a 4x4 tile of the input (tiles overlap by 2); with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1],
// y = Aᵀ [ Σ_c (G W_cf Gᵀ) ⊙ (Bᵀ d_c B) ] A: for each of the 16 entries e of the 4x4 products a
// matrix product over channels, M[e] = V[e]·U[e] ([tiles, C]·[C, F]), 16 multiplies per tile and
// channel pair instead of im2col's 36. The backward kernels are the adjoints (transposes) of the
// forward ones: the output gradient through A dY Aᵀ, the input gradient back through B dV Bᵀ
// (added over the overlapping tiles), the kernel gradient through Gᵀ dU G.
//
// Layouts: V [16, stride, C] and M [16, stride, F], entry e = 4·i + j (row i, column j of the 4x4),
// tile t = (b·tilesH + ty)·tilesW + tx at rows 2·ty.. and columns 2·tx..; U [16, C, F]. `stride`
// (>= this call's tiles) is the row count of each of the 16 matrices, so that a band of images
// writes its rows of all 16. Input beyond the image reads as 0 and outputs beyond it are dropped
// (an odd output size). Tiles fully inside run four channels at a time; tiles at an edge, and the
// last C mod 4 channels, run the scalar formulas.
import { bytesOf } from './common';

// @ts-ignore: decorator
@inline function L(p: usize): v128 {
  return v128.load(p);
}
// @ts-ignore: decorator
@inline function add(a: v128, b: v128): v128 {
  return f32x4.add(a, b);
}
// @ts-ignore: decorator
@inline function sub(a: v128, b: v128): v128 {
  return f32x4.sub(a, b);
}

/** One row of Bᵀ d B from the row t of Bᵀ d: (t0 − t2, t1 + t2, t2 − t1, t1 − t3), stored es bytes apart. */
// @ts-ignore: decorator
@inline function inputRow(t0: v128, t1: v128, t2: v128, t3: v128, o: usize, es: usize): void {
  v128.store(o, sub(t0, t2));
  v128.store(o + es, add(t1, t2));
  v128.store(o + 2 * es, sub(t2, t1));
  v128.store(o + 3 * es, sub(t1, t3));
}

/**
 * V = Bᵀ d B for every 4x4 tile d of x [batch, h, w, c]: V[e, t, :] (see the layouts above).
 * tilesH = ceil((h − 2) / 2), tilesW = ceil((w − 2) / 2).
 */
export function winogradInput(x: usize, v: usize, batch: i32, h: i32, w: i32, c: i32, tilesH: i32, tilesW: i32, stride: i32): void {
  const pix = bytesOf(c);
  const rowBytes = <usize>w * pix;
  const es = <usize>stride * pix; // bytes between entries e and e + 1
  const c4 = c & ~3;
  for (let b = 0; b < batch; b++) {
    const img = x + <usize>b * <usize>h * rowBytes;
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        const t = (b * tilesH + ty) * tilesW + tx;
        const out = v + <usize>t * pix;
        const y0 = 2 * ty, x0 = 2 * tx;
        if (y0 + 4 <= h && x0 + 4 <= w) {
          for (let ci = 0; ci < c4; ci += 4) {
            const r0 = img + <usize>y0 * rowBytes + <usize>x0 * pix + bytesOf(ci);
            const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
            const o = out + bytesOf(ci);
            const p1 = pix, p2 = pix * 2, p3 = pix * 3;
            inputRow(sub(L(r0), L(r2)), sub(L(r0 + p1), L(r2 + p1)), sub(L(r0 + p2), L(r2 + p2)), sub(L(r0 + p3), L(r2 + p3)), o, es);
            inputRow(add(L(r1), L(r2)), add(L(r1 + p1), L(r2 + p1)), add(L(r1 + p2), L(r2 + p2)), add(L(r1 + p3), L(r2 + p3)), o + 4 * es, es);
            inputRow(sub(L(r2), L(r1)), sub(L(r2 + p1), L(r1 + p1)), sub(L(r2 + p2), L(r1 + p2)), sub(L(r2 + p3), L(r1 + p3)), o + 8 * es, es);
            inputRow(sub(L(r1), L(r3)), sub(L(r1 + p1), L(r3 + p1)), sub(L(r1 + p2), L(r3 + p2)), sub(L(r1 + p3), L(r3 + p3)), o + 12 * es, es);
          }
          for (let ci = c4; ci < c; ci++) inputScalar(img, out, h, w, c, y0, x0, ci, es);
        } else {
          for (let ci = 0; ci < c; ci++) inputScalar(img, out, h, w, c, y0, x0, ci, es);
        }
      }
    }
  }
}

/** x[y, x, ci] of one image, 0 outside it. */
// @ts-ignore: decorator
@inline function pixel(img: usize, h: i32, w: i32, c: i32, y: i32, x: i32, ci: i32): f32 {
  return y < h && x < w ? load<f32>(img + bytesOf((y * w + x) * c + ci)) : 0;
}

function inputScalar(img: usize, out: usize, h: i32, w: i32, c: i32, y0: i32, x0: i32, ci: i32, es: usize): void {
  const o = out + bytesOf(ci);
  for (let j = 0; j < 4; j++) {
    const d0 = pixel(img, h, w, c, y0, x0 + j, ci), d1 = pixel(img, h, w, c, y0 + 1, x0 + j, ci);
    const d2 = pixel(img, h, w, c, y0 + 2, x0 + j, ci), d3 = pixel(img, h, w, c, y0 + 3, x0 + j, ci);
    // Column j of Bᵀ d, stored for now at entries (i, j); the row transform below finishes it.
    store<f32>(o + <usize>j * es, d0 - d2);
    store<f32>(o + <usize>(4 + j) * es, d1 + d2);
    store<f32>(o + <usize>(8 + j) * es, d2 - d1);
    store<f32>(o + <usize>(12 + j) * es, d1 - d3);
  }
  for (let i = 0; i < 4; i++) {
    const p = o + <usize>(4 * i) * es;
    const t0 = load<f32>(p), t1 = load<f32>(p + es), t2 = load<f32>(p + 2 * es), t3 = load<f32>(p + 3 * es);
    store<f32>(p, t0 - t2);
    store<f32>(p + es, t1 + t2);
    store<f32>(p + 2 * es, t2 - t1);
    store<f32>(p + 3 * es, t1 - t3);
  }
}

/**
 * y = Aᵀ m A (+ bias) for every tile: y [batch, outH, outW, f] from M [16, stride, f]; bias[f] is
 * added when hasBias = 1. Outputs beyond outH x outW (an odd size) are not written.
 */
export function winogradOutput(m: usize, y: usize, bias: usize, batch: i32, outH: i32, outW: i32, f: i32,
  tilesH: i32, tilesW: i32, stride: i32, hasBias: i32): void {
  const pix = bytesOf(f);
  const rowBytes = <usize>outW * pix;
  const es = <usize>stride * pix;
  const f4 = f & ~3;
  for (let b = 0; b < batch; b++) {
    const img = y + <usize>b * <usize>outH * rowBytes;
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        const t = (b * tilesH + ty) * tilesW + tx;
        const src = m + <usize>t * pix;
        const y0 = 2 * ty, x0 = 2 * tx;
        const full = y0 + 2 <= outH && x0 + 2 <= outW;
        const fv = full ? f4 : 0;
        for (let fi = 0; fi < fv; fi += 4) {
          const p = src + bytesOf(fi);
          const bv = hasBias ? v128.load(bias + bytesOf(fi)) : f32x4.splat(0);
          const o = img + <usize>y0 * rowBytes + <usize>x0 * pix + bytesOf(fi);
          // s0 = m row 0 + row 1 + row 2, s1 = row 1 − row 2 − row 3 (per column), then the same along the row.
          let a0 = add(add(L(p), L(p + 4 * es)), L(p + 8 * es));
          let a1 = add(add(L(p + es), L(p + 5 * es)), L(p + 9 * es));
          let a2 = add(add(L(p + 2 * es), L(p + 6 * es)), L(p + 10 * es));
          let a3 = add(add(L(p + 3 * es), L(p + 7 * es)), L(p + 11 * es));
          v128.store(o, add(add(add(a0, a1), a2), bv));
          v128.store(o + pix, add(sub(sub(a1, a2), a3), bv));
          a0 = sub(sub(L(p + 4 * es), L(p + 8 * es)), L(p + 12 * es));
          a1 = sub(sub(L(p + 5 * es), L(p + 9 * es)), L(p + 13 * es));
          a2 = sub(sub(L(p + 6 * es), L(p + 10 * es)), L(p + 14 * es));
          a3 = sub(sub(L(p + 7 * es), L(p + 11 * es)), L(p + 15 * es));
          v128.store(o + rowBytes, add(add(add(a0, a1), a2), bv));
          v128.store(o + rowBytes + pix, add(sub(sub(a1, a2), a3), bv));
        }
        for (let fi = fv; fi < f; fi++) {
          const p = src + bytesOf(fi);
          const bs: f32 = hasBias ? load<f32>(bias + bytesOf(fi)) : 0;
          for (let a = 0; a < 2; a++) {
            if (y0 + a >= outH) break;
            // Row a of Aᵀ m: rows (0, 1, 2) added, or row 1 − row 2 − row 3.
            const q = p + <usize>(4 * a) * es;
            let s0: f32, s1: f32, s2: f32, s3: f32;
            if (a == 0) {
              s0 = load<f32>(q) + load<f32>(q + 4 * es) + load<f32>(q + 8 * es);
              s1 = load<f32>(q + es) + load<f32>(q + 5 * es) + load<f32>(q + 9 * es);
              s2 = load<f32>(q + 2 * es) + load<f32>(q + 6 * es) + load<f32>(q + 10 * es);
              s3 = load<f32>(q + 3 * es) + load<f32>(q + 7 * es) + load<f32>(q + 11 * es);
            } else {
              s0 = load<f32>(q) - load<f32>(q + 4 * es) - load<f32>(q + 8 * es);
              s1 = load<f32>(q + es) - load<f32>(q + 5 * es) - load<f32>(q + 9 * es);
              s2 = load<f32>(q + 2 * es) - load<f32>(q + 6 * es) - load<f32>(q + 10 * es);
              s3 = load<f32>(q + 3 * es) - load<f32>(q + 7 * es) - load<f32>(q + 11 * es);
            }
            const o = img + <usize>(y0 + a) * rowBytes + <usize>x0 * pix + bytesOf(fi);
            store<f32>(o, s0 + s1 + s2 + bs);
            if (x0 + 1 < outW) store<f32>(o + pix, s1 - s2 - s3 + bs);
          }
        }
      }
    }
  }
}

/** One row of A g Aᵀ from the row (u0, u1) of A g: (u0, u0 + u1, u0 − u1, −u1). */
// @ts-ignore: decorator
@inline function outputGradRow(u0: v128, u1: v128, o: usize, es: usize): void {
  v128.store(o, u0);
  v128.store(o + es, add(u0, u1));
  v128.store(o + 2 * es, sub(u0, u1));
  v128.store(o + 3 * es, f32x4.neg(u1));
}

/**
 * The adjoint of winogradOutput's product part: M[e, t, :] = (A g Aᵀ)[e] for each tile's 2x2 block
 * g of dy [batch, outH, outW, f] (0 beyond outH x outW).
 */
export function winogradOutputGrad(dy: usize, m: usize, batch: i32, outH: i32, outW: i32, f: i32,
  tilesH: i32, tilesW: i32, stride: i32): void {
  const pix = bytesOf(f);
  const rowBytes = <usize>outW * pix;
  const es = <usize>stride * pix;
  const f4 = f & ~3;
  for (let b = 0; b < batch; b++) {
    const img = dy + <usize>b * <usize>outH * rowBytes;
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        const t = (b * tilesH + ty) * tilesW + tx;
        const out = m + <usize>t * pix;
        const y0 = 2 * ty, x0 = 2 * tx;
        const full = y0 + 2 <= outH && x0 + 2 <= outW;
        const fv = full ? f4 : 0;
        for (let fi = 0; fi < fv; fi += 4) {
          const g = img + <usize>y0 * rowBytes + <usize>x0 * pix + bytesOf(fi);
          const g00 = L(g), g01 = L(g + pix), g10 = L(g + rowBytes), g11 = L(g + rowBytes + pix);
          const o = out + bytesOf(fi);
          // Rows of A g: (g0·), (g0· + g1·), (g0· − g1·), (−g1·).
          outputGradRow(g00, g01, o, es);
          outputGradRow(add(g00, g10), add(g01, g11), o + 4 * es, es);
          outputGradRow(sub(g00, g10), sub(g01, g11), o + 8 * es, es);
          outputGradRow(f32x4.neg(g10), f32x4.neg(g11), o + 12 * es, es);
        }
        for (let fi = fv; fi < f; fi++) {
          const base = img + bytesOf(fi);
          const g00: f32 = load<f32>(base + <usize>y0 * rowBytes + <usize>x0 * pix);
          const g01: f32 = x0 + 1 < outW ? load<f32>(base + <usize>y0 * rowBytes + <usize>(x0 + 1) * pix) : 0;
          const g10: f32 = y0 + 1 < outH ? load<f32>(base + <usize>(y0 + 1) * rowBytes + <usize>x0 * pix) : 0;
          const g11: f32 = y0 + 1 < outH && x0 + 1 < outW ? load<f32>(base + <usize>(y0 + 1) * rowBytes + <usize>(x0 + 1) * pix) : 0;
          const o = out + bytesOf(fi);
          outputGradRowScalar(g00, g01, o, es);
          outputGradRowScalar(g00 + g10, g01 + g11, o + 4 * es, es);
          outputGradRowScalar(g00 - g10, g01 - g11, o + 8 * es, es);
          outputGradRowScalar(-g10, -g11, o + 12 * es, es);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function outputGradRowScalar(u0: f32, u1: f32, o: usize, es: usize): void {
  store<f32>(o, u0);
  store<f32>(o + es, u0 + u1);
  store<f32>(o + 2 * es, u0 - u1);
  store<f32>(o + 3 * es, -u1);
}

/** One row of B q Bᵀ from the row q of B dV: (q0, q1 − q2 + q3, −q0 + q1 + q2, −q3), added to dx at o. */
// @ts-ignore: decorator
@inline function inputGradRow(q0: v128, q1: v128, q2: v128, q3: v128, o: usize, pix: usize): void {
  v128.store(o, add(L(o), q0));
  v128.store(o + pix, add(L(o + pix), add(sub(q1, q2), q3)));
  v128.store(o + 2 * pix, add(L(o + 2 * pix), add(sub(q1, q0), q2)));
  v128.store(o + 3 * pix, sub(L(o + 3 * pix), q3));
}

/**
 * The adjoint of winogradInput: dx = 0, then every tile adds B dV[·, t, :] Bᵀ to its 4x4 window
 * of dx [batch, h, w, c] (cells beyond the image dropped), tiles in order.
 */
export function winogradInputGrad(dv: usize, dx: usize, batch: i32, h: i32, w: i32, c: i32, tilesH: i32, tilesW: i32, stride: i32): void {
  const pix = bytesOf(c);
  const rowBytes = <usize>w * pix;
  const es = <usize>stride * pix;
  const c4 = c & ~3;
  memory.fill(dx, 0, <usize>batch * <usize>h * rowBytes);
  for (let b = 0; b < batch; b++) {
    const img = dx + <usize>b * <usize>h * rowBytes;
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        const t = (b * tilesH + ty) * tilesW + tx;
        const src = dv + <usize>t * pix;
        const y0 = 2 * ty, x0 = 2 * tx;
        const full = y0 + 4 <= h && x0 + 4 <= w;
        const cv = full ? c4 : 0;
        for (let ci = 0; ci < cv; ci += 4) {
          const p = src + bytesOf(ci);
          const o = img + <usize>y0 * rowBytes + <usize>x0 * pix + bytesOf(ci);
          // Rows of B dV: q0 = V0, q1 = V1 − V2 + V3, q2 = −V0 + V1 + V2, q3 = −V3 (Vi: row i, four entries).
          const e = p, e4 = p + 4 * es, e8 = p + 8 * es, e12 = p + 12 * es;
          inputGradRow(L(e), L(e + es), L(e + 2 * es), L(e + 3 * es), o, pix);
          inputGradRow(add(sub(L(e4), L(e8)), L(e12)), add(sub(L(e4 + es), L(e8 + es)), L(e12 + es)),
            add(sub(L(e4 + 2 * es), L(e8 + 2 * es)), L(e12 + 2 * es)), add(sub(L(e4 + 3 * es), L(e8 + 3 * es)), L(e12 + 3 * es)), o + rowBytes, pix);
          inputGradRow(add(sub(L(e4), L(e)), L(e8)), add(sub(L(e4 + es), L(e + es)), L(e8 + es)),
            add(sub(L(e4 + 2 * es), L(e + 2 * es)), L(e8 + 2 * es)), add(sub(L(e4 + 3 * es), L(e + 3 * es)), L(e8 + 3 * es)), o + 2 * rowBytes, pix);
          inputGradRow(f32x4.neg(L(e12)), f32x4.neg(L(e12 + es)), f32x4.neg(L(e12 + 2 * es)), f32x4.neg(L(e12 + 3 * es)), o + 3 * rowBytes, pix);
        }
        for (let ci = cv; ci < c; ci++) {
          const p = src + bytesOf(ci);
          for (let i = 0; i < 4; i++) {
            if (y0 + i >= h) break;
            let q0: f32, q1: f32, q2: f32, q3: f32;
            // Row i of B dV, entry by entry along j.
            if (i == 0) {
              q0 = load<f32>(p); q1 = load<f32>(p + es); q2 = load<f32>(p + 2 * es); q3 = load<f32>(p + 3 * es);
            } else if (i == 1) {
              q0 = load<f32>(p + 4 * es) - load<f32>(p + 8 * es) + load<f32>(p + 12 * es);
              q1 = load<f32>(p + 5 * es) - load<f32>(p + 9 * es) + load<f32>(p + 13 * es);
              q2 = load<f32>(p + 6 * es) - load<f32>(p + 10 * es) + load<f32>(p + 14 * es);
              q3 = load<f32>(p + 7 * es) - load<f32>(p + 11 * es) + load<f32>(p + 15 * es);
            } else if (i == 2) {
              q0 = load<f32>(p + 4 * es) - load<f32>(p) + load<f32>(p + 8 * es);
              q1 = load<f32>(p + 5 * es) - load<f32>(p + es) + load<f32>(p + 9 * es);
              q2 = load<f32>(p + 6 * es) - load<f32>(p + 2 * es) + load<f32>(p + 10 * es);
              q3 = load<f32>(p + 7 * es) - load<f32>(p + 3 * es) + load<f32>(p + 11 * es);
            } else {
              q0 = -load<f32>(p + 12 * es); q1 = -load<f32>(p + 13 * es); q2 = -load<f32>(p + 14 * es); q3 = -load<f32>(p + 15 * es);
            }
            const o = img + <usize>(y0 + i) * rowBytes + <usize>x0 * pix + bytesOf(ci);
            store<f32>(o, load<f32>(o) + q0);
            if (x0 + 1 < w) store<f32>(o + pix, load<f32>(o + pix) + (q1 - q2 + q3));
            if (x0 + 2 < w) store<f32>(o + 2 * pix, load<f32>(o + 2 * pix) + (q1 - q0 + q2));
            if (x0 + 3 < w) store<f32>(o + 3 * pix, load<f32>(o + 3 * pix) - q3);
          }
        }
      }
    }
  }
}

/** U[e, c, f] = (G W_cf Gᵀ)[e] for a Keras 3x3 kernel [3, 3, c, f]. */
export function winogradKernel(kernel: usize, u: usize, c: i32, f: i32): void {
  const n = c * f;
  const tap = bytesOf(n); // bytes between kernel taps, and between the 16 entries of U
  for (let i = 0; i < n; i++) {
    const p = kernel + bytesOf(i);
    // Rows of G W: w row 0, ½(row 0 + row 1 + row 2), ½(row 0 − row 1 + row 2), row 2 (three columns each).
    for (let r = 0; r < 4; r++) {
      let g0: f32, g1: f32, g2: f32;
      if (r == 0) {
        g0 = load<f32>(p); g1 = load<f32>(p + tap); g2 = load<f32>(p + 2 * tap);
      } else if (r == 3) {
        g0 = load<f32>(p + 6 * tap); g1 = load<f32>(p + 7 * tap); g2 = load<f32>(p + 8 * tap);
      } else {
        const s: f32 = r == 1 ? 1 : -1;
        g0 = 0.5 * (load<f32>(p) + s * load<f32>(p + 3 * tap) + load<f32>(p + 6 * tap));
        g1 = 0.5 * (load<f32>(p + tap) + s * load<f32>(p + 4 * tap) + load<f32>(p + 7 * tap));
        g2 = 0.5 * (load<f32>(p + 2 * tap) + s * load<f32>(p + 5 * tap) + load<f32>(p + 8 * tap));
      }
      const o = u + bytesOf(i) + <usize>(4 * r) * tap;
      store<f32>(o, g0);
      store<f32>(o + tap, 0.5 * (g0 + g1 + g2));
      store<f32>(o + 2 * tap, 0.5 * (g0 - g1 + g2));
      store<f32>(o + 3 * tap, g2);
    }
  }
}

/** Gᵀ u for a 4-vector u: (u0 + ½(u1 + u2), ½(u1 − u2), ½(u1 + u2) + u3), one of its three entries. */
// @ts-ignore: decorator
@inline function gt(a: i32, u0: f32, u1: f32, u2: f32, u3: f32): f32 {
  return a == 0 ? u0 + 0.5 * (u1 + u2) : a == 1 ? 0.5 * (u1 - u2) : 0.5 * (u1 + u2) + u3;
}

/** The adjoint of winogradKernel: dK[3, 3, c, f] = Gᵀ dU_cf G (overwritten), from dU [16, c, f]. */
export function winogradKernelGrad(du: usize, dK: usize, c: i32, f: i32): void {
  const n = c * f;
  const tap = bytesOf(n); // bytes between the 16 entries of dU, and between kernel taps
  for (let i = 0; i < n; i++) {
    const p = du + bytesOf(i);
    for (let a = 0; a < 3; a++) {
      // Row a of Gᵀ dU, entry by entry along j (Gᵀ applied down each column j).
      const r0 = gt(a, load<f32>(p), load<f32>(p + 4 * tap), load<f32>(p + 8 * tap), load<f32>(p + 12 * tap));
      const r1 = gt(a, load<f32>(p + tap), load<f32>(p + 5 * tap), load<f32>(p + 9 * tap), load<f32>(p + 13 * tap));
      const r2 = gt(a, load<f32>(p + 2 * tap), load<f32>(p + 6 * tap), load<f32>(p + 10 * tap), load<f32>(p + 14 * tap));
      const r3 = gt(a, load<f32>(p + 3 * tap), load<f32>(p + 7 * tap), load<f32>(p + 11 * tap), load<f32>(p + 15 * tap));
      const o = dK + bytesOf(i) + <usize>(3 * a) * tap;
      store<f32>(o, gt(0, r0, r1, r2, r3));
      store<f32>(o + tap, gt(1, r0, r1, r2, r3));
      store<f32>(o + 2 * tap, gt(2, r0, r1, r2, r3));
    }
  }
}
