// Random affine augmentation: each image resampled through its own inverse affine map, bilinearly.
// Coordinates are computed in f64 in the same order as the reference twin
// (src/backend/reference/augment.ts), so both pick the same source pixels and weights.
import { bytesOf } from './common';

/**
 * params: 6 f32 per image, [a, b, tx, c, d, ty]; output pixel (x, y), taken about the image centre,
 * reads the source at (a·x + b·y + tx, c·x + d·y + ty), bilinearly, 0 outside the image.
 */
export function affineImages(src: usize, dst: usize, params: usize, batch: i32, h: i32, w: i32, c: i32): void {
  const cx = <f64>(w - 1) * 0.5;
  const cy = <f64>(h - 1) * 0.5;
  const imageLen = h * w * c;
  for (let b = 0; b < batch; b++) {
    const p = params + bytesOf(6 * b);
    const a = <f64>load<f32>(p), bb = <f64>load<f32>(p, 4), tx = <f64>load<f32>(p, 8);
    const cc = <f64>load<f32>(p, 12), d = <f64>load<f32>(p, 16), ty = <f64>load<f32>(p, 20);
    const image = src + bytesOf(b * imageLen);
    let out = dst + bytesOf(b * imageLen);
    for (let y = 0; y < h; y++) {
      const v = <f64>y - cy;
      for (let x = 0; x < w; x++) {
        const u = <f64>x - cx;
        const sx = a * u + bb * v + tx + cx;
        const sy = cc * u + d * v + ty + cy;
        const fx0 = Math.floor(sx), fy0 = Math.floor(sy);
        const fx = sx - fx0, fy = sy - fy0;
        // Far outside (or NaN): every tap is outside; also keeps the i32 conversion in range.
        if (!(fx0 >= -1 && fx0 < <f64>w && fy0 >= -1 && fy0 < <f64>h)) {
          memory.fill(out, 0, bytesOf(c));
          out += bytesOf(c);
          continue;
        }
        const x0 = <i32>fx0, y0 = <i32>fy0;
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        const in00 = x0 >= 0 && y0 >= 0, in01 = x0 + 1 < w && y0 >= 0;
        const in10 = x0 >= 0 && y0 + 1 < h, in11 = x0 + 1 < w && y0 + 1 < h;
        const p00 = image + bytesOf((y0 * w + x0) * c);
        const p01 = p00 + bytesOf(c), p10 = p00 + bytesOf(w * c), p11 = p10 + bytesOf(c);
        for (let ci = 0; ci < c; ci++) {
          const o = bytesOf(ci);
          let s: f64 = 0;
          if (in00) s += w00 * <f64>load<f32>(p00 + o);
          if (in01) s += w01 * <f64>load<f32>(p01 + o);
          if (in10) s += w10 * <f64>load<f32>(p10 + o);
          if (in11) s += w11 * <f64>load<f32>(p11 + o);
          store<f32>(out + o, <f32>s);
        }
        out += bytesOf(c);
      }
    }
  }
}
