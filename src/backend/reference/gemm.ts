// Reference matrix products: the specification the WASM GEMM kernels are tested against.
// Plain triple loops over the arena's Float32Array view (index = byte offset / 4), row-major,
// summing in k order into a JavaScript number (float64) and rounding once when C is stored.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

export function referenceGemm(arena: Arena): Pick<Kernels, 'gemmNN' | 'gemmNT' | 'gemmTN' | 'gemmNNBias' | 'gemmBatched'> {
  const kernels: Pick<Kernels, 'gemmNN' | 'gemmNT' | 'gemmTN' | 'gemmNNBias' | 'gemmBatched'> = {
    /** C[m,n] (+)= A[m,k] · B[k,n] */
    gemmNN(a, b, c, m, k, n, accumulate) {
      const f = arena.f32;
      const A = a >> 2, B = b >> 2, C = c >> 2;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += f[A + i * k + p] * f[B + p * n + j];
          f[C + i * n + j] = accumulate ? f[C + i * n + j] + sum : sum;
        }
      }
    },

    /** C[m,n] (+)= A[m,k] · B[n,k]ᵀ */
    gemmNT(a, b, c, m, k, n, accumulate) {
      const f = arena.f32;
      const A = a >> 2, B = b >> 2, C = c >> 2;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += f[A + i * k + p] * f[B + j * k + p];
          f[C + i * n + j] = accumulate ? f[C + i * n + j] + sum : sum;
        }
      }
    },

    /** C[m,n] (+)= A[k,m]ᵀ · B[k,n] */
    gemmTN(a, b, c, m, k, n, accumulate) {
      const f = arena.f32;
      const A = a >> 2, B = b >> 2, C = c >> 2;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += f[A + p * m + i] * f[B + p * n + j];
          f[C + i * n + j] = accumulate ? f[C + i * n + j] + sum : sum;
        }
      }
    },

    /** C[m,n] = A[m,k] · B[k,n] + bias[n], then max(0, ·) if relu = 1. */
    gemmNNBias(a, b, bias, c, m, k, n, relu) {
      const f = arena.f32;
      const A = a >> 2, B = b >> 2, BIAS = bias >> 2, C = c >> 2;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += f[A + i * k + p] * f[B + p * n + j];
          const v = sum + f[BIAS + j];
          f[C + i * n + j] = relu ? Math.max(0, v) : v;
        }
      }
    },

    /** `count` products of one form (0: NN, 1: NT, 2: TN), the i-th at a + i·strideA, ... (strides in elements). */
    gemmBatched(form, a, b, c, m, k, n, count, strideA, strideB, strideC) {
      const product = [kernels.gemmNN, kernels.gemmNT, kernels.gemmTN][form];
      for (let i = 0; i < count; i++) product(a + 4 * i * strideA, b + 4 * i * strideB, c + 4 * i * strideC, m, k, n, 0);
    },
  };
  return kernels;
}
