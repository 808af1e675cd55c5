// Convolution lowering (im2col / col2im) and max pooling, NHWC (spec: src/backend/kernels.ts,
// readable twin: src/backend/reference/conv.ts).
//
// In NHWC the kw pixels under one kernel row are adjacent in memory, so for each output position
// and kernel row the kw·c values of a cols row come from ONE contiguous run of x (clipped at the
// left/right image border, zeros outside). The kernels copy or add those runs 4 floats at a time.
// No allocation, no globals: safe to call from several threads.
import { bytesOf, madd } from './common';

/** dst[0..bytes) = src[0..bytes) (f32 runs; bytes a multiple of 4). */
@inline function copyRun(dst: usize, src: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(src + i));
}

/** dst[0..bytes) += src[0..bytes) */
@inline function addRun(dst: usize, src: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, f32x4.add(v128.load(dst + i), v128.load(src + i)));
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(dst + i) + load<f32>(src + i));
}

/** dst[0..bytes) = 0 */
@inline function zeroRun(dst: usize, bytes: usize): void {
  const z = f32x4.splat(0);
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, z);
  for (; i < bytes; i += 4) store<f32>(dst + i, 0);
}

/**
 * cols[(b·outH + oy)·outW + ox, (ky·kw + kx)·c + ci] = x[b, oy·sH + ky − padTop, ox·sW + kx − padLeft, ci]
 * (0 outside the image).
 */
export function im2col(x: usize, cols: usize, batch: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32,
  strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const pixBytes = bytesOf(c);
  const runBytes = <usize>kw * pixBytes; // one kernel row of a cols row
  const imgRowBytes = <usize>w * pixBytes;
  let dst = cols;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const rowsInside = y0 >= 0 && y0 + kh <= h;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const kx0 = max(0, -x0), kx1 = min(kw, w - x0); // kernel columns inside the image
        if (rowsInside && kx0 == 0 && kx1 == kw) {
          // Window inside the image (the common case): kh plain copies, no zero fills.
          let src = x + bytesOf(((b * h + y0) * w + x0) * c);
          for (let ky = 0; ky < kh; ky++, src += imgRowBytes, dst += runBytes) copyRun(dst, src, runBytes);
          continue;
        }
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= h || kx0 >= kx1) {
            zeroRun(dst, runBytes);
          } else {
            const src = x + bytesOf(((b * h + iy) * w + x0 + kx0) * c);
            const lead = <usize>kx0 * pixBytes, mid = <usize>(kx1 - kx0) * pixBytes;
            zeroRun(dst, lead);
            copyRun(dst + lead, src, mid);
            zeroRun(dst + lead + mid, runBytes - lead - mid);
          }
          dst += runBytes;
        }
      }
    }
  }
}

/** x = 0, then x[b, oy·sH + ky − padTop, ox·sW + kx − padLeft, ci] += cols[...] (the adjoint of im2col). */
export function col2im(cols: usize, x: usize, batch: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32,
  strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  memory.fill(x, 0, bytesOf(batch * h * w * c));
  const pixBytes = bytesOf(c);
  const runBytes = <usize>kw * pixBytes;
  const imgRowBytes = <usize>w * pixBytes;
  let src = cols;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const rowsInside = y0 >= 0 && y0 + kh <= h;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const kx0 = max(0, -x0), kx1 = min(kw, w - x0);
        if (rowsInside && kx0 == 0 && kx1 == kw) {
          let dst = x + bytesOf(((b * h + y0) * w + x0) * c);
          for (let ky = 0; ky < kh; ky++, dst += imgRowBytes, src += runBytes) addRun(dst, src, runBytes);
          continue;
        }
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky;
          if (iy >= 0 && iy < h && kx0 < kx1) {
            const dst = x + bytesOf(((b * h + iy) * w + x0 + kx0) * c);
            addRun(dst, src + <usize>kx0 * pixBytes, <usize>(kx1 - kx0) * pixBytes);
          }
          src += runBytes;
        }
      }
    }
  }
}

/**
 * y[b,oy,ox,ci] = max over the window's cells inside the image; argmax[same] = flat index into x of
 * the first maximum in window order (ky, then kx). A window with no cell inside the image (impossible
 * for 'valid'/'same' geometry) gives y = 0, argmax = −1. positiveOnly = 1 also sets argmax = −1
 * where y <= 0, so maxPoolBackward passes no gradient there: over ReLU outputs, that is the ReLU's
 * backward done too (a window whose max is 0 has a ReLU derivative of 0 at its winner).
 * The running maximum lives in y/argmax themselves: each cell is one pass over the c channels,
 * independent per channel group, which pipelines better than a compare chain per channel group.
 */
export function maxPoolForward(x: usize, y: usize, argmax: usize, batch: i32, h: i32, w: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32, positiveOnly: i32): void {
  maxPoolForwardImages(x, y, argmax, 0, batch, h, w, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW, positiveOnly);
}

/**
 * maxPoolForward for the images first <= b < end of the batch only. x, y and argmax still point at
 * image 0, so argmax keeps flat indices into the whole x: threads can each pool a band of images.
 */
export function maxPoolForwardImages(x: usize, y: usize, argmax: usize, first: i32, end: i32, h: i32, w: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32, positiveOnly: i32): void {
  const lanes = i32x4(0, 1, 2, 3);
  const c4 = c & ~3;
  let o = first * outH * outW * c; // flat index of y[b, oy, ox, 0]
  for (let b = first; b < end; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const ky0 = max(0, -y0), ky1 = min(poolH, h - y0); // window rows inside the image
      for (let ox = 0; ox < outW; ox++, o += c) {
        const x0 = ox * strideW - padLeft;
        const kx0 = max(0, -x0), kx1 = min(poolW, w - x0);
        const yo = y + bytesOf(o), ao = argmax + bytesOf(o);
        if (ky0 >= ky1 || kx0 >= kx1) {
          memory.fill(yo, 0, bytesOf(c));
          memory.fill(ao, 0xff, bytesOf(c)); // −1
          continue;
        }
        // The first cell inside the image starts as the maximum...
        const first = ((b * h + y0 + ky0) * w + x0 + kx0) * c;
        const xf = x + bytesOf(first);
        let ci = 0;
        for (; ci < c4; ci += 4) {
          v128.store(yo + bytesOf(ci), v128.load(xf + bytesOf(ci)));
          v128.store(ao + bytesOf(ci), i32x4.add(i32x4.splat(first + ci), lanes));
        }
        for (; ci < c; ci++) {
          store<f32>(yo + bytesOf(ci), load<f32>(xf + bytesOf(ci)));
          store<i32>(ao + bytesOf(ci), first + ci);
        }
        // ...and each later cell replaces it where strictly greater (so the first maximum stays).
        for (let ky = ky0; ky < ky1; ky++) {
          for (let kx = ky == ky0 ? kx0 + 1 : kx0; kx < kx1; kx++) {
            const cell = ((b * h + y0 + ky) * w + x0 + kx) * c;
            const xc = x + bytesOf(cell);
            for (ci = 0; ci < c4; ci += 4) {
              const off = bytesOf(ci);
              const v = v128.load(xc + off), best = v128.load(yo + off);
              const gt = f32x4.gt(v, best);
              v128.store(yo + off, v128.bitselect(v, best, gt));
              v128.store(ao + off, v128.bitselect(i32x4.add(i32x4.splat(cell + ci), lanes), v128.load(ao + off), gt));
            }
            for (; ci < c; ci++) {
              const v = load<f32>(xc + bytesOf(ci));
              if (v > load<f32>(yo + bytesOf(ci))) {
                store<f32>(yo + bytesOf(ci), v);
                store<i32>(ao + bytesOf(ci), cell + ci);
              }
            }
          }
        }
        if (positiveOnly) {
          for (ci = 0; ci < c4; ci += 4) {
            const off = bytesOf(ci);
            v128.store(ao + off, v128.bitselect(v128.load(ao + off), i32x4.splat(-1), f32x4.gt(v128.load(yo + off), f32x4.splat(0))));
          }
          for (; ci < c; ci++) {
            if (!(load<f32>(yo + bytesOf(ci)) > 0)) store<i32>(ao + bytesOf(ci), -1);
          }
        }
      }
    }
  }
}

/**
 * maxPoolBackward for windows that tile the image without overlap (strides = pool size, 'valid'):
 * every input cell lies in at most one window, so dx is written in one pass, cell by cell, as dy
 * where the cell won (argmax, flat into the whole x, equals its index) and 0 elsewhere: no zero
 * fill, no scatter, four channels per v128. Cells right of or below the last window get 0.
 */
export function maxPoolBackwardWindows(dy: usize, argmax: usize, dx: usize, batch: i32, h: i32, w: i32, c: i32,
  poolH: i32, poolW: i32, outH: i32, outW: i32): void {
  maxPoolBackwardWindowsImages(dy, argmax, dx, 0, batch, h, w, c, poolH, poolW, outH, outW);
}

/** maxPoolBackwardWindows for the images first <= b < end only (pointers still at image 0). */
export function maxPoolBackwardWindowsImages(dy: usize, argmax: usize, dx: usize, first: i32, end: i32, h: i32, w: i32, c: i32,
  poolH: i32, poolW: i32, outH: i32, outW: i32): void {
  const lanes = i32x4(0, 1, 2, 3);
  const c4 = c & ~3;
  const rowBytes = bytesOf(w * c);
  const coveredW = outW * poolW, coveredH = outH * poolH;
  for (let b = first; b < end; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ky = 0; ky < poolH; ky++) {
        const iy = oy * poolH + ky;
        for (let ox = 0; ox < outW; ox++) {
          const o = ((b * outH + oy) * outW + ox) * c;
          const dyo = dy + bytesOf(o), ao = argmax + bytesOf(o);
          for (let kx = 0; kx < poolW; kx++) {
            const cell = ((b * h + iy) * w + ox * poolW + kx) * c;
            const dxc = dx + bytesOf(cell);
            let ci = 0;
            for (; ci < c4; ci += 4) {
              const won = i32x4.eq(v128.load(ao + bytesOf(ci)), i32x4.add(i32x4.splat(cell + ci), lanes));
              v128.store(dxc + bytesOf(ci), v128.and(v128.load(dyo + bytesOf(ci)), won));
            }
            for (; ci < c; ci++) {
              store<f32>(dxc + bytesOf(ci), load<i32>(ao + bytesOf(ci)) == cell + ci ? load<f32>(dyo + bytesOf(ci)) : 0);
            }
          }
        }
        zeroRun(dx + <usize>(b * h + iy) * rowBytes + bytesOf(coveredW * c), bytesOf((w - coveredW) * c));
      }
    }
    zeroRun(dx + <usize>(b * h + coveredH) * rowBytes, <usize>(h - coveredH) * rowBytes);
  }
}

/** dx = 0 (inSize floats), then dx[argmax[i]] += dy[i]; an index outside [0, inSize) is skipped. */
export function maxPoolBackward(dy: usize, argmax: usize, dx: usize, outSize: i32, inSize: i32): void {
  memory.fill(dx, 0, bytesOf(inSize));
  for (let i = 0; i < outSize; i++) {
    const idx = load<i32>(argmax + bytesOf(i));
    if (<u32>idx < <u32>inSize) {
      const p = dx + bytesOf(idx);
      store<f32>(p, load<f32>(p) + load<f32>(dy + bytesOf(i)));
    }
  }
}

/**
 * maxPoolBackward restricted to dx[lo, hi): that range = 0, then dx[argmax[i]] += dy[i] for every
 * i < outSize whose index falls in it. Threads given disjoint ranges covering [0, inSize) compute
 * exactly maxPoolBackward between them (each dx element receives its terms in the same order).
 * Returns how many indices >= 0 fell outside [lo, hi): a thread given only the outputs of its own
 * images (dy, argmax offset to them) expects 0, and anything else means the split was invalid.
 */
export function maxPoolBackwardRange(dy: usize, argmax: usize, dx: usize, outSize: i32, lo: i32, hi: i32): i32 {
  if (hi > lo) memory.fill(dx + bytesOf(lo), 0, bytesOf(hi - lo));
  const span = <u32>(hi - lo);
  let outside = 0;
  for (let i = 0; i < outSize; i++) {
    const idx = load<i32>(argmax + bytesOf(i));
    if (<u32>(idx - lo) < span) {
      const p = dx + bytesOf(idx);
      store<f32>(p, load<f32>(p) + load<f32>(dy + bytesOf(i)));
    } else if (idx >= 0) {
      outside++;
    }
  }
  return outside;
}

/**
 * dst[b, y, x, :] = src[b, y − dy_b, x − dx_b, :] (0 outside the image), with (dy_b, dx_b) the
 * i32 pair at shifts + 8·b: each output row is one contiguous run of the source row, plus zeros.
 */
export function translateImages(src: usize, dst: usize, shifts: usize, batch: i32, h: i32, w: i32, c: i32): void {
  const rowBytes = bytesOf(w * c);
  const imageBytes = <usize>h * rowBytes;
  for (let b = 0; b < batch; b++) {
    const dy = load<i32>(shifts + bytesOf(2 * b));
    const dx = load<i32>(shifts + bytesOf(2 * b + 1));
    // Output columns [x0, x1) come from source columns [x0 − dx, x1 − dx).
    const x0 = max(0, dx);
    const x1 = min(w, w + dx);
    const image = <usize>b * imageBytes;
    for (let y = 0; y < h; y++) {
      const out = dst + image + <usize>y * rowBytes;
      const sy = y - dy;
      if (sy < 0 || sy >= h || x0 >= x1) {
        memory.fill(out, 0, rowBytes);
        continue;
      }
      const pixelBytes = bytesOf(c);
      memory.fill(out, 0, <usize>x0 * pixelBytes);
      memory.copy(out + <usize>x0 * pixelBytes, src + image + <usize>sy * rowBytes + <usize>(x0 - dx) * pixelBytes, <usize>(x1 - x0) * pixelBytes);
      memory.fill(out + <usize>x1 * pixelBytes, 0, <usize>(w - x1) * pixelBytes);
    }
  }
}

// ---- Direct convolution of ONE input channel (stride 1, 'valid') ----
// With c = 1 the im2col + GEMM lowering multiplies by a [kh·kw, filters] kernel: K = 9 for a 3x3
// kernel, far too short a depth for the GEMM's blocking to pay. These two kernels convolve
// directly instead: the filters of one output pixel sit side by side in NHWC (and in the Keras
// kernel row of one tap), so one splatted input value times a v128 of kernel row updates 4 filters.
// Filters go in blocks of 32 (8 v128 accumulators in registers), then of 4, then one at a time.

/** Stores a0..a3 (16 filters) at o, through max(0, ·) if relu. */
// @ts-ignore: decorator
@inline function store16(o: usize, a0: v128, a1: v128, a2: v128, a3: v128, relu: i32): void {
  if (relu) {
    const zero = f32x4.splat(0);
    a0 = f32x4.max(a0, zero); a1 = f32x4.max(a1, zero); a2 = f32x4.max(a2, zero); a3 = f32x4.max(a3, zero);
  }
  v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
}

/**
 * One output pixel's filters [f, filters): 16 at a time, then 4, then one. win = the window's
 * top-left pixel of x, out = y[b, oy, ox, 0].
 */
// @ts-ignore: decorator
@inline function pixelFilters(win: usize, kernel: usize, bias: usize, out: usize, f: i32, filters: i32,
  w: i32, kh: i32, kw: i32, relu: i32): void {
  const fBytes = bytesOf(filters);
  const f16s = filters & ~15, f4s = filters & ~3;
  for (; f < f16s; f += 16) {
    const fo = bytesOf(f);
    let a0 = v128.load(bias + fo), a1 = v128.load(bias + fo, 16), a2 = v128.load(bias + fo, 32), a3 = v128.load(bias + fo, 48);
    let k = kernel + fo;
    for (let ky = 0; ky < kh; ky++) {
      const row = win + bytesOf(ky * w);
      for (let kx = 0; kx < kw; kx++, k += fBytes) {
        const s = v128.load32_splat(row + bytesOf(kx));
        a0 = madd(s, v128.load(k), a0); a1 = madd(s, v128.load(k, 16), a1);
        a2 = madd(s, v128.load(k, 32), a2); a3 = madd(s, v128.load(k, 48), a3);
      }
    }
    store16(out + fo, a0, a1, a2, a3, relu);
  }
  for (; f < f4s; f += 4) {
    const fo = bytesOf(f);
    let a = v128.load(bias + fo);
    let k = kernel + fo;
    for (let ky = 0; ky < kh; ky++) {
      const row = win + bytesOf(ky * w);
      for (let kx = 0; kx < kw; kx++, k += fBytes) a = madd(v128.load32_splat(row + bytesOf(kx)), v128.load(k), a);
    }
    v128.store(out + fo, relu ? f32x4.max(a, f32x4.splat(0)) : a);
  }
  for (; f < filters; f++) {
    const fo = bytesOf(f);
    let a = load<f32>(bias + fo);
    let k = kernel + fo;
    for (let ky = 0; ky < kh; ky++) {
      const row = win + bytesOf(ky * w);
      for (let kx = 0; kx < kw; kx++, k += fBytes) a += load<f32>(row + bytesOf(kx)) * load<f32>(k);
    }
    store<f32>(out + fo, relu ? max(a, <f32>0) : a);
  }
}

/**
 * y[b, oy, ox, f] = act(bias[f] + Σ_{ky, kx} x[b, oy + ky, ox + kx] · kernel[ky, kx, f]), x[batch, h, w]
 * (one channel), kernel [kh, kw, filters], y [batch, outH, outW, filters] with outH = h − kh + 1 and
 * outW = w − kw + 1; act = max(0, ·) if relu = 1. Each sum starts at bias and adds the taps in (ky, kx)
 * order. Two neighbouring output pixels share each load of the kernel: 8 accumulators = 2 pixels x
 * 16 filters, 4 kernel loads and 2 splats per 8 multiply-adds (same sums, same order, as one pixel).
 */
export function conv2dC1Forward(x: usize, kernel: usize, bias: usize, y: usize, batch: i32, h: i32, w: i32,
  kh: i32, kw: i32, outH: i32, outW: i32, filters: i32, relu: i32): void {
  const fBytes = bytesOf(filters); // one kernel row (tap) and one output pixel
  const f16s = filters & ~15;
  let out = y;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      let ox = 0;
      for (; ox + 1 < outW; ox += 2, out += fBytes << 1) {
        const win = x + bytesOf((b * h + oy) * w + ox); // the first window's top-left pixel
        let f = 0;
        for (; f < f16s; f += 16) {
          const fo = bytesOf(f);
          let a0 = v128.load(bias + fo), a1 = v128.load(bias + fo, 16), a2 = v128.load(bias + fo, 32), a3 = v128.load(bias + fo, 48);
          let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
          let k = kernel + fo;
          for (let ky = 0; ky < kh; ky++) {
            const row = win + bytesOf(ky * w);
            for (let kx = 0; kx < kw; kx++, k += fBytes) {
              const s = v128.load32_splat(row + bytesOf(kx)), t = v128.load32_splat(row + bytesOf(kx), 4);
              const k0 = v128.load(k), k1 = v128.load(k, 16), k2 = v128.load(k, 32), k3 = v128.load(k, 48);
              a0 = madd(s, k0, a0); a1 = madd(s, k1, a1); a2 = madd(s, k2, a2); a3 = madd(s, k3, a3);
              b0 = madd(t, k0, b0); b1 = madd(t, k1, b1); b2 = madd(t, k2, b2); b3 = madd(t, k3, b3);
            }
          }
          store16(out + fo, a0, a1, a2, a3, relu);
          store16(out + fBytes + fo, b0, b1, b2, b3, relu);
        }
        pixelFilters(win, kernel, bias, out, f, filters, w, kh, kw, relu);
        pixelFilters(win + 4, kernel, bias, out + fBytes, f, filters, w, kh, kw, relu);
      }
      if (ox < outW) {
        // An odd last pixel of the row: alone.
        pixelFilters(x + bytesOf((b * h + oy) * w + ox), kernel, bias, out, 0, filters, w, kh, kw, relu);
        out += fBytes;
      }
    }
  }
}

/** dK[tap, f0 + 4i ..] += the 4-float sums in a0..a3 (one tap, 16 filters). */
// @ts-ignore: decorator
@inline function addTo16(k: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  v128.store(k, f32x4.add(v128.load(k), a0)); v128.store(k, f32x4.add(v128.load(k, 16), a1), 16);
  v128.store(k, f32x4.add(v128.load(k, 32), a2), 32); v128.store(k, f32x4.add(v128.load(k, 48), a3), 48);
}

/**
 * One tap's row sums for filters [f, filters): dK[tap, f..] += Σ_ox x[xRow + ox] · dz[dzRow + ox, f..],
 * 4 filters at a time, then one at a time.
 */
// @ts-ignore: decorator
@inline function tapRowTail(xRow: usize, dzRow: usize, k: usize, f: i32, filters: i32, outW: i32): void {
  const fBytes = bytesOf(filters);
  const f4s = filters & ~3;
  for (; f < f4s; f += 4) {
    const fo = bytesOf(f);
    let a = f32x4.splat(0);
    let d = dzRow + fo;
    for (let ox = 0; ox < outW; ox++, d += fBytes) a = madd(v128.load32_splat(xRow + bytesOf(ox)), v128.load(d), a);
    v128.store(k + fo, f32x4.add(v128.load(k + fo), a));
  }
  for (; f < filters; f++) {
    const fo = bytesOf(f);
    let a: f32 = 0;
    let d = dzRow + fo;
    for (let ox = 0; ox < outW; ox++, d += fBytes) a += load<f32>(xRow + bytesOf(ox)) * load<f32>(d);
    store<f32>(k + fo, load<f32>(k + fo) + a);
  }
}

/**
 * The kernel and bias gradients of conv2dC1Forward: dK[ky, kx, f] = Σ_{b, oy, ox} x[b, oy + ky, ox + kx] · dz[b, oy, ox, f]
 * and dbias[f] = Σ_{b, oy, ox} dz[b, oy, ox, f] (both overwritten; the bias sum comes free while
 * each row of dz is in L1, where a separate column sum would stream all of dz again). Summed per output row: for each (b, oy) and tap, the row's outW terms are added
 * in registers (ox order), then that row sum is added to dK, rows in (b, oy) order. The row of dz
 * (outW·filters floats) stays in L1 across the kh·kw taps. Two neighbouring taps (kx, kx + 1) share
 * each load of dz: 8 accumulators = 2 taps x 16 filters, 4 loads of dz and 2 splats per 8 multiply-adds.
 */
export function conv2dC1KernelGrad(x: usize, dz: usize, dK: usize, dbias: usize, batch: i32, h: i32, w: i32,
  kh: i32, kw: i32, outH: i32, outW: i32, filters: i32): void {
  memory.fill(dK, 0, bytesOf(kh * kw * filters));
  memory.fill(dbias, 0, bytesOf(filters));
  addC1KernelGrad(x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters);
}

/** conv2dC1KernelGrad without the zeroing: adds the sums to dK and dbias, rows in (b, oy) order. */
function addC1KernelGrad(x: usize, dz: usize, dK: usize, dbias: usize, batch: i32, h: i32, w: i32,
  kh: i32, kw: i32, outH: i32, outW: i32, filters: i32): void {
  const fBytes = bytesOf(filters);
  const f16s = filters & ~15;
  const f4s = filters & ~3;
  let dzRow = dz;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++, dzRow += <usize>outW * fBytes) {
      // dbias += this row's sum (ox order), as dK below.
      let g = 0;
      for (; g < f4s; g += 4) {
        let a = f32x4.splat(0);
        let d = dzRow + bytesOf(g);
        for (let ox = 0; ox < outW; ox++, d += fBytes) a = f32x4.add(a, v128.load(d));
        v128.store(dbias + bytesOf(g), f32x4.add(v128.load(dbias + bytesOf(g)), a));
      }
      for (; g < filters; g++) {
        let a: f32 = 0;
        let d = dzRow + bytesOf(g);
        for (let ox = 0; ox < outW; ox++, d += fBytes) a += load<f32>(d);
        store<f32>(dbias + bytesOf(g), load<f32>(dbias + bytesOf(g)) + a);
      }
      let k = dK; // dK[ky, kx, :]
      for (let ky = 0; ky < kh; ky++) {
        let kx = 0;
        for (; kx + 1 < kw; kx += 2, k += fBytes << 1) {
          const xRow = x + bytesOf((b * h + oy + ky) * w + kx); // x[b, oy + ky, kx + ox] at ox = 0
          let f = 0;
          for (; f < f16s; f += 16) {
            const fo = bytesOf(f);
            let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            let d = dzRow + fo;
            let xp = xRow;
            for (let ox = 0; ox < outW; ox++, d += fBytes, xp += 4) {
              const s = v128.load32_splat(xp), t = v128.load32_splat(xp, 4);
              const d0 = v128.load(d), d1 = v128.load(d, 16), d2 = v128.load(d, 32), d3 = v128.load(d, 48);
              a0 = madd(s, d0, a0); a1 = madd(s, d1, a1); a2 = madd(s, d2, a2); a3 = madd(s, d3, a3);
              b0 = madd(t, d0, b0); b1 = madd(t, d1, b1); b2 = madd(t, d2, b2); b3 = madd(t, d3, b3);
            }
            addTo16(k + fo, a0, a1, a2, a3);
            addTo16(k + fBytes + fo, b0, b1, b2, b3);
          }
          tapRowTail(xRow, dzRow, k, f, filters, outW);
          tapRowTail(xRow + 4, dzRow, k + fBytes, f, filters, outW);
        }
        if (kx < kw) {
          // An odd last tap of the kernel row: alone.
          const xRow = x + bytesOf((b * h + oy + ky) * w + kx);
          let f = 0;
          for (; f < f16s; f += 16) {
            const fo = bytesOf(f);
            let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
            let d = dzRow + fo;
            for (let ox = 0; ox < outW; ox++, d += fBytes) {
              const s = v128.load32_splat(xRow + bytesOf(ox));
              a0 = madd(s, v128.load(d), a0); a1 = madd(s, v128.load(d, 16), a1);
              a2 = madd(s, v128.load(d, 32), a2); a3 = madd(s, v128.load(d, 48), a3);
            }
            addTo16(k + fo, a0, a1, a2, a3);
          }
          tapRowTail(xRow, dzRow, k, f, filters, outW);
          k += fBytes;
        }
      }
    }
  }
}

// ---- The first convolution and its max pool, fused ----
// A one-channel conv with ReLU followed by a max pool whose windows tile its output (the convnet's
// conv1 → pool1) need not store the conv's output at all (26x26x32 floats per image, 11 MB a batch,
// written, then read back by the pool; and in backward the same again for dL/dz). These two
// kernels work through each image one band of poolH conv rows at a time, in an L1-sized scratch:
// forward computes the band (conv2dC1Forward) and pools it (maxPoolForwardImages); backward
// expands the pooled gradient into the band's dL/dz (maxPoolBackwardWindowsImages) and adds its
// kernel gradient (addC1KernelGrad). Same values, same order as the four passes unfused.
// argmax here indexes the band: (r·convW + ox)·filters + f for conv row r < poolH of the band.

/**
 * y[b, py, px, f] = max over the pool window of max(0, conv2dC1Forward), argmax as above (−1 where
 * y = 0). y, argmax: [batch, outH, outW, filters]; the conv rows and columns computed are the
 * outH·poolH by outW·poolW the pool reads. scratch: poolH·outW·poolW·filters floats.
 */
export function conv2dC1PoolForward(x: usize, kernel: usize, bias: usize, y: usize, argmax: usize, scratch: usize,
  batch: i32, h: i32, w: i32, kh: i32, kw: i32, filters: i32, poolH: i32, poolW: i32, outH: i32, outW: i32): void {
  const convW = outW * poolW;
  const pooledRow = bytesOf(outW * filters);
  for (let b = 0; b < batch; b++) {
    for (let py = 0; py < outH; py++) {
      const band = x + bytesOf((b * h + py * poolH) * w); // first input row of the band's windows
      conv2dC1Forward(band, kernel, bias, scratch, 1, poolH + kh - 1, w, kh, kw, poolH, convW, filters, 1);
      const o = <usize>(b * outH + py) * pooledRow;
      maxPoolForwardImages(scratch, y + o, argmax + o, 0, 1, poolH, convW, filters, poolH, poolW, poolH, poolW, 0, 0, 1, outW, 1);
    }
  }
}

/**
 * dK, dbias of conv2dC1PoolForward (overwritten) from dy = dL/dy of its pooled output: the conv's
 * dL/dz is dy at each window's winner and 0 elsewhere (and where argmax = −1, the ReLU's zeros).
 * scratch: poolH·outW·poolW·filters floats.
 */
export function conv2dC1PoolKernelGrad(x: usize, dy: usize, argmax: usize, dK: usize, dbias: usize, scratch: usize,
  batch: i32, h: i32, w: i32, kh: i32, kw: i32, filters: i32, poolH: i32, poolW: i32, outH: i32, outW: i32): void {
  memory.fill(dK, 0, bytesOf(kh * kw * filters));
  memory.fill(dbias, 0, bytesOf(filters));
  const convW = outW * poolW;
  const pooledRow = bytesOf(outW * filters);
  for (let b = 0; b < batch; b++) {
    for (let py = 0; py < outH; py++) {
      const o = <usize>(b * outH + py) * pooledRow;
      maxPoolBackwardWindowsImages(dy + o, argmax + o, scratch, 0, 1, poolH, convW, filters, poolH, poolW, 1, outW);
      const band = x + bytesOf((b * h + py * poolH) * w);
      addC1KernelGrad(band, scratch, dK, dbias, 1, poolH + kh - 1, w, kh, kw, poolH, convW, filters);
    }
  }
}
