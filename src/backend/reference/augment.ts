// Reference twin of assembly/augment.ts: per-image inverse affine resampling, bilinear, NHWC.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

export function referenceAugment(arena: Arena): Pick<Kernels, 'affineImages'> {
  return {
    // dst[b, y, x, :] = src[b] sampled bilinearly at (a·u + b·v + tx, c·u + d·v + ty) + centre, with
    // (u, v) = (x, y) − centre and params[6b..6b+6] = [a, b, tx, c, d, ty]; 0 outside the image.
    affineImages(src, dst, params, batch, h, w, c) {
      const f = arena.f32;
      const cx = (w - 1) / 2, cy = (h - 1) / 2;
      const imageLen = h * w * c;
      for (let b = 0; b < batch; b++) {
        const [a, bb, tx, cc, d, ty] = f.subarray((params >> 2) + 6 * b, (params >> 2) + 6 * b + 6);
        const image = (src >> 2) + b * imageLen;
        const out = (dst >> 2) + b * imageLen;
        const at = (y: number, x: number, ci: number) => (x >= 0 && x < w && y >= 0 && y < h ? f[image + (y * w + x) * c + ci] : 0);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const u = x - cx, v = y - cy;
            const sx = a * u + bb * v + tx + cx;
            const sy = cc * u + d * v + ty + cy;
            const x0 = Math.floor(sx), y0 = Math.floor(sy);
            const fx = sx - x0, fy = sy - y0;
            for (let ci = 0; ci < c; ci++) {
              let s = 0;
              s += (1 - fx) * (1 - fy) * at(y0, x0, ci);
              s += fx * (1 - fy) * at(y0, x0 + 1, ci);
              s += (1 - fx) * fy * at(y0 + 1, x0, ci);
              s += fx * fy * at(y0 + 1, x0 + 1, ci);
              f[out + (y * w + x) * c + ci] = Number.isFinite(sx) && Number.isFinite(sy) ? s : 0;
            }
          }
        }
      }
    },
  };
}
