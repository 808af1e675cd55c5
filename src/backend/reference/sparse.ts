// Reference twin of assembly/sparse.ts: compressed rows (CSR) of a mostly-zero matrix, their
// transpose, and the products that skip the zeros, as plain loops over the arena's views.
// Sums run in float64 in entry order and round once on store, like referenceGemm.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type SparseKernels = Pick<Kernels, 'sparseRows' | 'sparseTranspose' | 'sparseGemm' | 'sparseGemmBias' | 'sparseGemmTN' | 'sparseCol2im'>;

export function referenceSparse(arena: Arena): SparseKernels {
  /** Row i of C = Σ_p values[p] · B[index[p], :] (+ bias, then ReLU). */
  function sparseProduct(start: number, index: number, values: number, b: number, bias: number | null, c: number,
    m: number, n: number, relu: boolean): void {
    const f = arena.f32, ints = arena.i32;
    const S = start >> 2, I = index >> 2, V = values >> 2, B = b >> 2, C = c >> 2;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = bias === null ? 0 : f[(bias >> 2) + j];
        for (let p = ints[S + i]; p < ints[S + i + 1]; p++) sum += f[V + p] * f[B + ints[I + p] * n + j];
        f[C + i * n + j] = relu ? Math.max(0, sum) : sum;
      }
    }
  }

  return {
    sparseRows(x, rows, cols, start, index, values, sums) {
      const f = arena.f32, ints = arena.i32;
      const X = x >> 2, S = start >> 2, I = index >> 2, V = values >> 2;
      if (sums !== 0) {
        for (let j = 0; j < cols; j++) {
          let sum = 0;
          for (let i = 0; i < rows; i++) sum += f[X + i * cols + j];
          f[(sums >> 2) + j] = sum;
        }
      }
      let count = 0;
      for (let i = 0; i < rows; i++) {
        ints[S + i] = count;
        for (let j = 0; j < cols; j++) {
          const v = f[X + i * cols + j];
          if (v !== 0) {
            ints[I + count] = j;
            f[V + count] = v;
            count++;
          }
        }
      }
      ints[S + rows] = count;
      return count;
    },

    sparseTranspose(start, index, values, rows, cols, tStart, tIndex, tValues) {
      const f = arena.f32, ints = arena.i32;
      const S = start >> 2, I = index >> 2, V = values >> 2, T = tStart >> 2, TI = tIndex >> 2, TV = tValues >> 2;
      // Column by column, scanning every row for that column's entry: the definition, not fast.
      let count = 0;
      for (let j = 0; j < cols; j++) {
        ints[T + j] = count;
        for (let i = 0; i < rows; i++) {
          for (let p = ints[S + i]; p < ints[S + i + 1]; p++) {
            if (ints[I + p] !== j) continue;
            ints[TI + count] = i;
            f[TV + count] = f[V + p];
            count++;
          }
        }
      }
      ints[T + cols] = count;
    },

    sparseGemm(start, index, values, b, c, m, n) {
      sparseProduct(start, index, values, b, null, c, m, n, false);
    },

    sparseGemmBias(start, index, values, b, bias, c, m, n, relu) {
      sparseProduct(start, index, values, b, bias, c, m, n, relu !== 0);
    },

    // x = 0; each entry (position, f, v) adds v · Kt[f, (ky·kw + kx)·c + ci] to the input pixel
    // (oy·sH + ky − padTop, ox·sW + kx − padLeft, ci) of its window, where that is inside the image.
    sparseCol2im(start, index, values, kt, x, batch, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW) {
      const f = arena.f32, ints = arena.i32;
      const S = start >> 2, I = index >> 2, V = values >> 2, KT = kt >> 2, X = x >> 2;
      const rowLen = kh * kw * c;
      f.fill(0, X, X + batch * h * w * c);
      for (let b = 0; b < batch; b++) {
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const position = (b * outH + oy) * outW + ox;
            for (let p = ints[S + position]; p < ints[S + position + 1]; p++) {
              for (let ky = 0; ky < kh; ky++) {
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * strideH + ky - padTop, ix = ox * strideW + kx - padLeft;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  for (let ci = 0; ci < c; ci++) {
                    f[X + ((b * h + iy) * w + ix) * c + ci] += f[V + p] * f[KT + ints[I + p] * rowLen + (ky * kw + kx) * c + ci];
                  }
                }
              }
            }
          }
        }
      }
    },

    // C[j, :] = Σ over the entries (i, j, v) of column j of A, in row order, of v · B[i, :].
    sparseGemmTN(start, index, values, b, c, m, k, n) {
      const f = arena.f32, ints = arena.i32;
      const S = start >> 2, I = index >> 2, V = values >> 2, B = b >> 2, C = c >> 2;
      const sums = new Float64Array(k * n);
      for (let i = 0; i < m; i++) {
        for (let p = ints[S + i]; p < ints[S + i + 1]; p++) {
          for (let j = 0; j < n; j++) sums[ints[I + p] * n + j] += f[V + p] * f[B + i * n + j];
        }
      }
      f.set(sums, C);
    },
  };
}
