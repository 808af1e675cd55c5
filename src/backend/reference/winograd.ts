// Reference twin of assembly/winograd.ts: the Winograd F(2x2, 3x3) transforms written as the
// matrix products they are (y = Aᵀ [(G W Gᵀ) ⊙ (Bᵀ d B)] A, and the adjoints for backward), in
// float64 rounded to float32 on store. See kernels.ts for the layouts.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type WinogradKernels = Pick<Kernels, 'winogradInput' | 'winogradInputGrad' | 'winogradOutput' | 'winogradOutputGrad' | 'winogradKernel' | 'winogradKernelGrad'>;

type Matrix = number[][];

export const BT: Matrix = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
export const G: Matrix = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
export const AT: Matrix = [[1, 1, 1, 0], [0, 1, -1, -1]];

const transpose = (m: Matrix): Matrix => m[0].map((_, j) => m.map((row) => row[j]));
const times = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
/** L·X·R */
const sandwich = (l: Matrix, x: Matrix, r: Matrix): Matrix => times(times(l, x), r);

const B = transpose(BT);
const GT = transpose(G);
const A = transpose(AT);

export function referenceWinograd(arena: Arena): WinogradKernels {
  /** Calls fn(b, ty, tx, t) for every tile, in order. */
  const eachTile = (batch: number, tilesH: number, tilesW: number, fn: (b: number, ty: number, tx: number, t: number) => void) => {
    for (let b = 0; b < batch; b++) {
      for (let ty = 0; ty < tilesH; ty++) for (let tx = 0; tx < tilesW; tx++) fn(b, ty, tx, (b * tilesH + ty) * tilesW + tx);
    }
  };
  const grid = (n: number, fn: (i: number, j: number) => number): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => fn(i, j)));

  return {
    winogradInput(x, v, batch, h, w, c, tilesH, tilesW, stride) {
      const f = arena.f32;
      eachTile(batch, tilesH, tilesW, (b, ty, tx, t) => {
        for (let ci = 0; ci < c; ci++) {
          const d = grid(4, (i, j) => {
            const [yy, xx] = [2 * ty + i, 2 * tx + j];
            return yy < h && xx < w ? f[(x >> 2) + ((b * h + yy) * w + xx) * c + ci] : 0;
          });
          const out = sandwich(BT, d, B);
          for (let e = 0; e < 16; e++) f[(v >> 2) + (e * stride + t) * c + ci] = out[e >> 2][e & 3];
        }
      });
    },

    winogradInputGrad(dv, dx, batch, h, w, c, tilesH, tilesW, stride) {
      const f = arena.f32;
      f.fill(0, dx >> 2, (dx >> 2) + batch * h * w * c);
      eachTile(batch, tilesH, tilesW, (b, ty, tx, t) => {
        for (let ci = 0; ci < c; ci++) {
          const dd = sandwich(B, grid(4, (i, j) => f[(dv >> 2) + ((4 * i + j) * stride + t) * c + ci]), BT);
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) {
              const [yy, xx] = [2 * ty + i, 2 * tx + j];
              if (yy < h && xx < w) f[(dx >> 2) + ((b * h + yy) * w + xx) * c + ci] += dd[i][j];
            }
          }
        }
      });
    },

    winogradOutput(m, y, bias, batch, outH, outW, filters, tilesH, tilesW, stride, hasBias) {
      const f = arena.f32;
      eachTile(batch, tilesH, tilesW, (b, ty, tx, t) => {
        for (let fi = 0; fi < filters; fi++) {
          const out = sandwich(AT, grid(4, (i, j) => f[(m >> 2) + ((4 * i + j) * stride + t) * filters + fi]), A);
          const add = hasBias ? f[(bias >> 2) + fi] : 0;
          for (let a = 0; a < 2; a++) {
            for (let a2 = 0; a2 < 2; a2++) {
              const [yy, xx] = [2 * ty + a, 2 * tx + a2];
              if (yy < outH && xx < outW) f[(y >> 2) + ((b * outH + yy) * outW + xx) * filters + fi] = out[a][a2] + add;
            }
          }
        }
      });
    },

    winogradOutputGrad(dy, m, batch, outH, outW, filters, tilesH, tilesW, stride) {
      const f = arena.f32;
      eachTile(batch, tilesH, tilesW, (b, ty, tx, t) => {
        for (let fi = 0; fi < filters; fi++) {
          const g = [0, 1].map((a) => [0, 1].map((a2) => {
            const [yy, xx] = [2 * ty + a, 2 * tx + a2];
            return yy < outH && xx < outW ? f[(dy >> 2) + ((b * outH + yy) * outW + xx) * filters + fi] : 0;
          }));
          const out = sandwich(A, g, AT);
          for (let e = 0; e < 16; e++) f[(m >> 2) + (e * stride + t) * filters + fi] = out[e >> 2][e & 3];
        }
      });
    },

    winogradKernel(kernel, u, c, filters) {
      const f = arena.f32;
      const n = c * filters;
      for (let i = 0; i < n; i++) {
        const W = [0, 1, 2].map((ky) => [0, 1, 2].map((kx) => f[(kernel >> 2) + (ky * 3 + kx) * n + i]));
        const out = sandwich(G, W, GT);
        for (let e = 0; e < 16; e++) f[(u >> 2) + e * n + i] = out[e >> 2][e & 3];
      }
    },

    winogradKernelGrad(du, dK, c, filters) {
      const f = arena.f32;
      const n = c * filters;
      for (let i = 0; i < n; i++) {
        const out = sandwich(GT, grid(4, (a, b) => f[(du >> 2) + (4 * a + b) * n + i]), G);
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) f[(dK >> 2) + (ky * 3 + kx) * n + i] = out[ky][kx];
      }
    },
  };
}
