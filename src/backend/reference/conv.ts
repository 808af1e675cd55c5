// Reference twin of assembly/conv.ts: im2col / col2im and max pooling, NHWC, as plain loops over the
// arena's views (index = ptr >> 2). These loops are the definition the WASM kernels are tested against.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type ConvKernels = Pick<Kernels, 'im2col' | 'col2im' | 'conv2dC1Forward' | 'conv2dC1KernelGrad' | 'conv2dC1PoolForward' | 'conv2dC1PoolKernelGrad' | 'maxPoolForward' | 'maxPoolBackward' | 'maxPoolBackwardWindows' | 'translateImages'>;

export function referenceConv(arena: Arena): ConvKernels {
  return {
    // cols[(b·outH + oy)·outW + ox, (ky·kw + kx)·c + ci] = x[b, oy·sH + ky − padTop, ox·sW + kx − padLeft, ci], 0 outside.
    im2col(x, cols, batch, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW) {
      const f = arena.f32;
      const X = x >> 2, C = cols >> 2;
      const rowLen = kh * kw * c;
      for (let b = 0; b < batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const row = C + ((b * outH + oy) * outW + ox) * rowLen;
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * strideH + ky - padTop;
                const ix = ox * strideW + kx - padLeft;
                const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                for (let ci = 0; ci < c; ci++) {
                  f[row + (ky * kw + kx) * c + ci] = inside ? f[X + ((b * h + iy) * w + ix) * c + ci] : 0;
                }
              }
            }
          }
        }
      }
    },

    // The adjoint of im2col: x = 0, then x[pixel a cols entry was copied from] += that entry.
    col2im(cols, x, batch, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW) {
      const f = arena.f32;
      const X = x >> 2, C = cols >> 2;
      const rowLen = kh * kw * c;
      f.fill(0, X, X + batch * h * w * c);
      for (let b = 0; b < batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const row = C + ((b * outH + oy) * outW + ox) * rowLen;
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * strideH + ky - padTop;
                const ix = ox * strideW + kx - padLeft;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (let ci = 0; ci < c; ci++) {
                  f[X + ((b * h + iy) * w + ix) * c + ci] += f[row + (ky * kw + kx) * c + ci];
                }
              }
            }
          }
        }
      }
    },

    // One input channel, stride 1, 'valid': y[b, oy, ox, f] = act(bias[f] + Σ_{ky, kx} x[b, oy + ky, ox + kx] · K[ky, kx, f]).
    conv2dC1Forward(x, kernel, bias, y, batch, h, w, kh, kw, outH, outW, filters, relu) {
      const f32 = arena.f32;
      const X = x >> 2, K = kernel >> 2, BIAS = bias >> 2, Y = y >> 2;
      for (let b = 0; b < batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            for (let f = 0; f < filters; f++) {
              let sum = f32[BIAS + f];
              for (let ky = 0; ky < kh; ky++) {
                for (let kx = 0; kx < kw; kx++) {
                  sum += f32[X + (b * h + oy + ky) * w + ox + kx] * f32[K + (ky * kw + kx) * filters + f];
                }
              }
              f32[Y + ((b * outH + oy) * outW + ox) * filters + f] = relu ? Math.max(0, sum) : sum;
            }
          }
        }
      }
    },

    // Its kernel gradient: dK[ky, kx, f] = Σ_{b, oy, ox} x[b, oy + ky, ox + kx] · dz[b, oy, ox, f];
    // and its bias gradient: dbias[f] = Σ_{b, oy, ox} dz[b, oy, ox, f].
    conv2dC1KernelGrad(x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters) {
      const f32 = arena.f32;
      const X = x >> 2, DZ = dz >> 2, DK = dK >> 2;
      for (let f = 0; f < filters; f++) {
        let sum = 0;
        for (let p = 0; p < batch * outH * outW; p++) sum += f32[DZ + p * filters + f];
        f32[(dbias >> 2) + f] = sum;
      }
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          for (let f = 0; f < filters; f++) {
            let sum = 0;
            for (let b = 0; b < batch; b++) {
              for (let oy = 0; oy < outH; oy++) {
                for (let ox = 0; ox < outW; ox++) {
                  sum += f32[X + (b * h + oy + ky) * w + ox + kx] * f32[DZ + ((b * outH + oy) * outW + ox) * filters + f];
                }
              }
            }
            f32[DK + (ky * kw + kx) * filters + f] = sum;
          }
        }
      }
    },

    // The conv's ReLU outputs pooled: the maximum over each window, first in window order, its index
    // in the window's band of poolH conv rows ((r·convW + ox)·filters + f), −1 where the maximum is 0.
    conv2dC1PoolForward(x, kernel, bias, y, argmax, _scratch, batch, h, w, kh, kw, filters, poolH, poolW, outH, outW) {
      const f32 = arena.f32, i32 = arena.i32;
      const X = x >> 2, K = kernel >> 2, BIAS = bias >> 2;
      const convW = outW * poolW;
      const conv = (b: number, oy: number, ox: number, f: number) => {
        let sum = f32[BIAS + f];
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) sum += f32[X + (b * h + oy + ky) * w + ox + kx] * f32[K + (ky * kw + kx) * filters + f];
        }
        return Math.fround(Math.max(0, sum));
      };
      for (let b = 0; b < batch; b++) {
        for (let py = 0; py < outH; py++) {
          for (let px = 0; px < outW; px++) {
            for (let f = 0; f < filters; f++) {
              let best = 0;
              let arg = -1;
              for (let r = 0; r < poolH; r++) {
                for (let s = 0; s < poolW; s++) {
                  const v = conv(b, py * poolH + r, px * poolW + s, f);
                  if (arg < 0 || v > best) {
                    best = v;
                    arg = (r * convW + px * poolW + s) * filters + f;
                  }
                }
              }
              const o = ((b * outH + py) * outW + px) * filters + f;
              f32[(y >> 2) + o] = best;
              i32[(argmax >> 2) + o] = best > 0 ? arg : -1;
            }
          }
        }
      }
    },

    // Its kernel and bias gradients: conv2dC1KernelGrad's sums, with dz = dy at each window's winner.
    conv2dC1PoolKernelGrad(x, dy, argmax, dK, dbias, _scratch, batch, h, w, kh, kw, filters, poolH, poolW, outH, outW) {
      const f32 = arena.f32, i32 = arena.i32;
      const X = x >> 2, DY = dy >> 2, A = argmax >> 2;
      const convW = outW * poolW;
      const dz = (b: number, oy: number, ox: number, f: number) => {
        const py = Math.floor(oy / poolH), px = Math.floor(ox / poolW);
        const o = ((b * outH + py) * outW + px) * filters + f;
        return i32[A + o] === ((oy % poolH) * convW + ox) * filters + f ? f32[DY + o] : 0;
      };
      for (let f = 0; f < filters; f++) {
        let bias = 0;
        const taps = new Float64Array(kh * kw);
        for (let b = 0; b < batch; b++) {
          for (let oy = 0; oy < outH * poolH; oy++) {
            for (let ox = 0; ox < convW; ox++) {
              const g = dz(b, oy, ox, f);
              bias += g;
              for (let ky = 0; ky < kh; ky++) {
                for (let kx = 0; kx < kw; kx++) taps[ky * kw + kx] += f32[X + (b * h + oy + ky) * w + ox + kx] * g;
              }
            }
          }
        }
        f32[(dbias >> 2) + f] = bias;
        taps.forEach((sum, tap) => (f32[(dK >> 2) + tap * filters + f] = sum));
      }
    },

    // y = max over the window's cells inside the image; argmax = flat index into x of the first
    // maximum in window order (ky, then kx). A window entirely in the padding: y = 0, argmax = −1.
    // positiveOnly: argmax = −1 also where y <= 0 (no gradient where a ReLU below passed none).
    maxPoolForward(x, y, argmax, batch, h, w, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW, positiveOnly) {
      const f = arena.f32, i32 = arena.i32;
      const X = x >> 2, Y = y >> 2, A = argmax >> 2;
      for (let b = 0; b < batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            for (let ci = 0; ci < c; ci++) {
              let best = 0;
              let arg = -1;
              for (let ky = 0; ky < poolH; ky++) {
                for (let kx = 0; kx < poolW; kx++) {
                  const iy = oy * strideH + ky - padTop;
                  const ix = ox * strideW + kx - padLeft;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; // padding never wins
                  const idx = ((b * h + iy) * w + ix) * c + ci;
                  if (arg < 0 || f[X + idx] > best) {
                    best = f[X + idx];
                    arg = idx;
                  }
                }
              }
              const o = ((b * outH + oy) * outW + ox) * c + ci;
              f[Y + o] = best;
              i32[A + o] = positiveOnly && !(best > 0) ? -1 : arg;
            }
          }
        }
      }
    },

    // Windows that tile the image without overlap: each cell gets dy of its window if it won, else 0
    // (cells outside every window: 0).
    maxPoolBackwardWindows(dy, argmax, dx, batch, h, w, c, poolH, poolW, outH, outW) {
      const f = arena.f32, i32 = arena.i32;
      const DY = dy >> 2, A = argmax >> 2, DX = dx >> 2;
      for (let b = 0; b < batch; b++) {
        for (let iy = 0; iy < h; iy++) {
          for (let ix = 0; ix < w; ix++) {
            const oy = Math.floor(iy / poolH), ox = Math.floor(ix / poolW);
            for (let ci = 0; ci < c; ci++) {
              const cell = ((b * h + iy) * w + ix) * c + ci;
              const o = ((b * outH + oy) * outW + ox) * c + ci;
              f[DX + cell] = oy < outH && ox < outW && i32[A + o] === cell ? f[DY + o] : 0;
            }
          }
        }
      }
    },

    // dx = 0, then dx[argmax[i]] += dy[i] (indices outside [0, inSize) are skipped).
    maxPoolBackward(dy, argmax, dx, outSize, inSize) {
      const f = arena.f32, i32 = arena.i32;
      const DY = dy >> 2, A = argmax >> 2, DX = dx >> 2;
      f.fill(0, DX, DX + inSize);
      for (let i = 0; i < outSize; i++) {
        const idx = i32[A + i];
        if (idx >= 0 && idx < inSize) f[DX + idx] += f[DY + i];
      }
    },

    // dst[b, y, x, :] = src[b, y − dy, x − dx, :], 0 outside the image; (dy, dx) = shifts[2b], shifts[2b + 1].
    translateImages(src, dst, shifts, batch, h, w, c) {
      const f = arena.f32, i32 = arena.i32;
      for (let b = 0; b < batch; b++) {
        const dy = i32[(shifts >> 2) + 2 * b];
        const dx = i32[(shifts >> 2) + 2 * b + 1];
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const sy = y - dy, sx = x - dx;
            const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            for (let ch = 0; ch < c; ch++) {
              f[(dst >> 2) + ((b * h + y) * w + x) * c + ch] = inside ? f[(src >> 2) + ((b * h + sy) * w + sx) * c + ch] : 0;
            }
          }
        }
      }
    },
  };
}
