// Reference twin of assembly/normalization.ts: batch normalization over the last axis of
// x[rows, cols], one channel per column, as plain loops in float64 rounded to float32 on store.
// epsilon is rounded to float32 first, as the WASM kernels take it.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type NormalizationKernels = Pick<Kernels, 'batchNormStats' | 'batchNormForward' | 'batchNormParamGrads' | 'batchNormInputGrad' | 'movingAverage'>;

export function referenceNormalization(arena: Arena): NormalizationKernels {
  return {
    batchNormStats(x, mean, variance, rows, cols) {
      const f = arena.f32;
      for (let c = 0; c < cols; c++) {
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += f[(x >> 2) + r * cols + c];
        const m = sum / rows;
        let squares = 0;
        for (let r = 0; r < rows; r++) squares += (f[(x >> 2) + r * cols + c] - m) ** 2;
        f[(mean >> 2) + c] = m;
        f[(variance >> 2) + c] = squares / rows;
      }
    },

    batchNormForward(x, y, mean, variance, gamma, beta, rows, cols, epsilon) {
      epsilon = Math.fround(epsilon);
      const f = arena.f32;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const scale = f[(gamma >> 2) + c] / Math.sqrt(f[(variance >> 2) + c] + epsilon);
          f[(y >> 2) + r * cols + c] = (f[(x >> 2) + r * cols + c] - f[(mean >> 2) + c]) * scale + f[(beta >> 2) + c];
        }
      }
    },

    batchNormParamGrads(x, dy, mean, variance, dGamma, dBeta, rows, cols, epsilon) {
      epsilon = Math.fround(epsilon);
      const f = arena.f32;
      for (let c = 0; c < cols; c++) {
        const m = f[(mean >> 2) + c];
        let sumDy = 0, sumDyXc = 0;
        for (let r = 0; r < rows; r++) {
          const g = f[(dy >> 2) + r * cols + c];
          sumDy += g;
          sumDyXc += g * (f[(x >> 2) + r * cols + c] - m);
        }
        f[(dBeta >> 2) + c] = sumDy;
        f[(dGamma >> 2) + c] = sumDyXc / Math.sqrt(f[(variance >> 2) + c] + epsilon);
      }
    },

    batchNormInputGrad(x, dy, dx, mean, variance, gamma, dGamma, dBeta, rows, cols, epsilon, training) {
      epsilon = Math.fround(epsilon);
      const f = arena.f32;
      const t = training ? 1 / rows : 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const inv = 1 / Math.sqrt(f[(variance >> 2) + c] + epsilon);
          const i = r * cols + c;
          const xhat = (f[(x >> 2) + i] - f[(mean >> 2) + c]) * inv;
          const shared = t * (f[(dBeta >> 2) + c] + xhat * f[(dGamma >> 2) + c]);
          f[(dx >> 2) + i] = f[(gamma >> 2) + c] * inv * (f[(dy >> 2) + i] - shared);
        }
      }
    },

    movingAverage(moving, value, n, momentum) {
      const f = arena.f32;
      const decay = Math.fround(1 - momentum);
      for (let i = 0; i < n; i++) f[(moving >> 2) + i] -= (f[(moving >> 2) + i] - f[(value >> 2) + i]) * decay;
    },
  };
}
