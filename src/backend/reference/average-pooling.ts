// Reference twin of assembly/average-pooling.ts: average pooling, NHWC, as plain loops. A window's
// cells outside the image ('same' padding) are not counted.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type AveragePoolingKernels = Pick<Kernels, 'avgPoolForward' | 'avgPoolBackward'>;

type Geometry = [batch: number, h: number, w: number, c: number, poolH: number, poolW: number,
  strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number];

/**
 * Calls visit(out, cells) for every output: out its float index in y, cells the float indices in x
 * of the first channel of each window cell inside the image.
 */
function forEachWindow(g: Geometry, visit: (out: number, cells: number[]) => void): void {
  const [batch, h, w, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW] = g;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const cells: number[] = [];
        for (let wy = 0; wy < poolH; wy++) {
          for (let wx = 0; wx < poolW; wx++) {
            const iy = oy * strideH + wy - padTop, ix = ox * strideW + wx - padLeft;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) cells.push(((b * h + iy) * w + ix) * c);
          }
        }
        visit(((b * outH + oy) * outW + ox) * c, cells);
      }
    }
  }
}

export function referenceAveragePooling(arena: Arena): AveragePoolingKernels {
  return {
    avgPoolForward(x, y, ...g) {
      const f = arena.f32;
      const c = g[3];
      forEachWindow(g, (out, cells) => {
        for (let ci = 0; ci < c; ci++) {
          let sum = 0;
          for (const cell of cells) sum += f[(x >> 2) + cell + ci];
          f[(y >> 2) + out + ci] = sum / cells.length;
        }
      });
    },

    avgPoolBackward(dy, dx, ...g) {
      const f = arena.f32;
      const [batch, h, w, c] = g;
      f.fill(0, dx >> 2, (dx >> 2) + batch * h * w * c);
      forEachWindow(g, (out, cells) => {
        for (let ci = 0; ci < c; ci++) {
          const share = f[(dy >> 2) + out + ci] / cells.length;
          for (const cell of cells) f[(dx >> 2) + cell + ci] += share;
        }
      });
    },
  };
}
