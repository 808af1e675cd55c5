// Reference twin of assembly/batch-norm-relu.ts: BatchNormalization → ReLU, fused, as plain loops
// (sums in float64, the element-wise passes rounded to float32 on store).
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type BatchNormReluKernels = Pick<Kernels, 'channelSums' | 'batchNormReluForward' | 'batchNormReluInputGrad'>;

export function referenceBatchNormRelu(arena: Arena): BatchNormReluKernels {
  return {
    channelSums(x, y, dy, mean, sums, rows, cols, mode) {
      const f = arena.f32;
      const out = new Float64Array(arena.memory.buffer, sums, mode === 2 ? 2 * cols : cols);
      out.fill(0);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const v = f[(x >> 2) + i];
          const d = mode === 0 ? 0 : v - f[(mean >> 2) + c];
          if (mode === 0) out[c] += v;
          else if (mode === 1) out[c] += d * d;
          else {
            const g = f[(y >> 2) + i] > 0 ? f[(dy >> 2) + i] : 0; // the ReLU's backward
            out[c] += g;
            out[cols + c] += g * d;
          }
        }
      }
    },

    batchNormReluForward(x, y, mean, scale, beta, rows, cols) {
      const f = arena.f32;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          f[(y >> 2) + i] = Math.max(0, (f[(x >> 2) + i] - f[(mean >> 2) + c]) * f[(scale >> 2) + c] + f[(beta >> 2) + c]);
        }
      }
    },

    batchNormReluInputGrad(x, y, dy, dx, mean, scale, a, b, rows, cols) {
      const f = arena.f32;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const g = f[(y >> 2) + i] > 0 ? f[(dy >> 2) + i] : 0;
          f[(dx >> 2) + i] = f[(scale >> 2) + c] * g + f[(a >> 2) + c] * (f[(x >> 2) + i] - f[(mean >> 2) + c]) + f[(b >> 2) + c];
        }
      }
    },
  };
}
