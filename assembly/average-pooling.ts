// Average pooling, NHWC (spec: src/backend/kernels.ts, readable twin:
// src/backend/reference/average-pooling.ts). A window's cells outside the image ('same' padding)
// are not counted: each output is the mean of the cells it covers, as in TF.js. Channels are
// contiguous, so every cell's channels are summed four lanes at a time, with a scalar tail.
import { bytesOf } from './common';

// @ts-ignore: decorator
@inline function vecBytes(n: i32): usize {
  return <usize>(n & ~3) << 2;
}

/** y[b, oy, ox, :] = the mean of x over the window's cells inside the image. */
export function avgPoolForward(x: usize, y: usize, batch: i32, h: i32, w: i32, c: i32, poolH: i32, poolW: i32,
  strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const cBytes = bytesOf(c);
  const vecEnd = vecBytes(c);
  for (let b = 0; b < batch; b++) {
    const image = x + <usize>b * h * w * cBytes;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = max(oy * strideH - padTop, 0), y1 = min(oy * strideH - padTop + poolH, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = max(ox * strideW - padLeft, 0), x1 = min(ox * strideW - padLeft + poolW, w);
        const count = <f32>((y1 - y0) * (x1 - x0));
        const out = y + ((<usize>b * outH + oy) * outW + ox) * cBytes;
        let i: usize = 0;
        for (; i < vecEnd; i += 16) {
          let s = f32x4.splat(0);
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) s = f32x4.add(s, v128.load(image + (<usize>yy * w + xx) * cBytes + i));
          }
          v128.store(out + i, f32x4.div(s, f32x4.splat(count)));
        }
        for (; i < cBytes; i += 4) {
          let s: f32 = 0;
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) s += load<f32>(image + (<usize>yy * w + xx) * cBytes + i);
          }
          store<f32>(out + i, s / count);
        }
      }
    }
  }
}

/** dx = 0, then dx[cell] += dy[b, oy, ox, :] / count for every cell of every window inside the image. */
export function avgPoolBackward(dy: usize, dx: usize, batch: i32, h: i32, w: i32, c: i32, poolH: i32, poolW: i32,
  strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32): void {
  const cBytes = bytesOf(c);
  const vecEnd = vecBytes(c);
  memory.fill(dx, 0, <usize>batch * h * w * cBytes);
  for (let b = 0; b < batch; b++) {
    const image = dx + <usize>b * h * w * cBytes;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = max(oy * strideH - padTop, 0), y1 = min(oy * strideH - padTop + poolH, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = max(ox * strideW - padLeft, 0), x1 = min(ox * strideW - padLeft + poolW, w);
        const count = <f32>((y1 - y0) * (x1 - x0));
        const g = dy + ((<usize>b * outH + oy) * outW + ox) * cBytes;
        let i: usize = 0;
        for (; i < vecEnd; i += 16) {
          const share = f32x4.div(v128.load(g + i), f32x4.splat(count));
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) {
              const p = image + (<usize>yy * w + xx) * cBytes + i;
              v128.store(p, f32x4.add(v128.load(p), share));
            }
          }
        }
        for (; i < cBytes; i += 4) {
          const share = load<f32>(g + i) / count;
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) {
              const p = image + (<usize>yy * w + xx) * cBytes + i;
              store<f32>(p, load<f32>(p) + share);
            }
          }
        }
      }
    }
  }
}
