// Reference twin of assembly/elementwise.ts: the element-wise, row-wise and optimizer kernels of
// kernels.ts as plain loops over the arena's Float32Array / Int32Array views (index = ptr >> 2).
// Arithmetic happens in float64 and is rounded to float32 on store; the WASM kernels round every
// step to float32, so the two agree to a few float32 ulps, not bit for bit.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type ElementwiseKernels = Pick<Kernels, 'relu' | 'reluBackward' | 'colSum' | 'softmax' | 'softmaxBackward' | 'softmaxCrossEntropy' | 'argmaxRows' | 'mul' | 'dropoutMask' | 'axpy' | 'gatherRows' | 'transpose' | 'sgdUpdate' | 'adamUpdate' | 'rmspropUpdate'>;

export function referenceElementwise(arena: Arena): ElementwiseKernels {
  /** softmax of f[x .. x+cols) into f[y .. y+cols) (float indices); y may equal x. */
  function softmaxRow(f: Float32Array, x: number, y: number, cols: number): void {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, f[x + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      f[y + c] = Math.exp(f[x + c] - max);
      sum += f[y + c];
    }
    for (let c = 0; c < cols; c++) f[y + c] = f[y + c] / sum;
  }

  return {
    relu(x, y, n) {
      const f = arena.f32;
      const X = x >> 2, Y = y >> 2;
      for (let i = 0; i < n; i++) f[Y + i] = Math.max(0, f[X + i]);
    },

    reluBackward(dy, y, dx, n) {
      const f = arena.f32;
      const DY = dy >> 2, Y = y >> 2, DX = dx >> 2;
      for (let i = 0; i < n; i++) f[DX + i] = f[Y + i] > 0 ? f[DY + i] : 0;
    },

    colSum(x, out, rows, cols, accumulate) {
      const f = arena.f32;
      const X = x >> 2, O = out >> 2;
      for (let c = 0; c < cols; c++) {
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += f[X + r * cols + c];
        f[O + c] = accumulate ? f[O + c] + sum : sum;
      }
    },

    softmax(x, y, rows, cols) {
      const f = arena.f32;
      for (let r = 0; r < rows; r++) softmaxRow(f, (x >> 2) + r * cols, (y >> 2) + r * cols, cols);
    },

    softmaxBackward(y, dy, dx, rows, cols) {
      const f = arena.f32;
      for (let r = 0; r < rows; r++) {
        const Y = (y >> 2) + r * cols, DY = (dy >> 2) + r * cols, DX = (dx >> 2) + r * cols;
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += f[DY + c] * f[Y + c];
        for (let c = 0; c < cols; c++) f[DX + c] = f[Y + c] * (f[DY + c] - dot);
      }
    },

    softmaxCrossEntropy(logits, labels, probs, dLogits, rows, cols, scale) {
      const f = arena.f32, i32 = arena.i32;
      let loss = 0; // float64 sum
      for (let r = 0; r < rows; r++) {
        const L = (logits >> 2) + r * cols, P = (probs >> 2) + r * cols, D = (dLogits >> 2) + r * cols;
        const label = i32[(labels >> 2) + r];
        softmaxRow(f, L, P, cols); // reads the logits row before dLogits (maybe the same row) is written
        for (let c = 0; c < cols; c++) f[D + c] = scale * (f[P + c] - (c === label ? 1 : 0));
        // A label outside [0, cols) makes the loss NaN (the WASM kernel does the same).
        loss -= label >= 0 && label < cols ? Math.log(Math.max(f[P + label], 1e-7)) : NaN;
      }
      return loss;
    },

    argmaxRows(x, out, rows, cols) {
      const f = arena.f32, i32 = arena.i32;
      for (let r = 0; r < rows; r++) {
        const X = (x >> 2) + r * cols;
        let best = 0;
        for (let c = 1; c < cols; c++) if (f[X + c] > f[X + best]) best = c;
        i32[(out >> 2) + r] = best;
      }
    },

    mul(a, b, out, n) {
      const f = arena.f32;
      const A = a >> 2, B = b >> 2, O = out >> 2;
      for (let i = 0; i < n; i++) f[O + i] = f[A + i] * f[B + i];
    },

    dropoutMask(mask, n, rate, scale, seed, start) {
      const f = arena.f32;
      const r = Math.fround(rate), keep = Math.fround(scale);
      for (let i = 0; i < n; i++) f[(mask >> 2) + i] = dropoutUniform(seed, start + i) < r ? 0 : keep;
    },

    axpy(x, y, n, alpha) {
      const f = arena.f32;
      const X = x >> 2, Y = y >> 2;
      for (let i = 0; i < n; i++) f[Y + i] += alpha * f[X + i];
    },

    transpose(x, y, rows, cols) {
      const f = arena.f32;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) f[(y >> 2) + c * rows + r] = f[(x >> 2) + r * cols + c];
      }
    },

    gatherRows(src, indices, dst, count, rowLen) {
      const f = arena.f32, i32 = arena.i32;
      for (let i = 0; i < count; i++) {
        const from = (src >> 2) + i32[(indices >> 2) + i] * rowLen;
        for (let j = 0; j < rowLen; j++) f[(dst >> 2) + i * rowLen + j] = f[from + j];
      }
    },

    sgdUpdate(w, g, v, n, lr, momentum, nesterov) {
      const f = arena.f32;
      const W = w >> 2, G = g >> 2, V = v >> 2;
      for (let i = 0; i < n; i++) {
        if (momentum === 0) {
          f[W + i] -= lr * f[G + i];
        } else {
          f[V + i] = flushSubnormal(momentum * f[V + i] - lr * f[G + i]);
          f[W + i] += nesterov ? momentum * f[V + i] - lr * f[G + i] : f[V + i];
        }
      }
    },

    adamUpdate(w, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2) {
      const f = arena.f32;
      const W = w >> 2, G = g >> 2, M = m >> 2, V = v >> 2;
      for (let i = 0; i < n; i++) {
        const grad = f[G + i];
        f[M + i] = flushSubnormal(beta1 * f[M + i] + (1 - beta1) * grad);
        f[V + i] = flushSubnormal(beta2 * f[V + i] + (1 - beta2) * grad * grad);
        f[W + i] -= (lr * (f[M + i] * c1)) / (Math.sqrt(f[V + i] * c2) + epsilon);
      }
    },

    rmspropUpdate(w, g, ms, mom, mg, n, lr, rho, momentum, epsilon, centered) {
      const f = arena.f32;
      const W = w >> 2, G = g >> 2, S = ms >> 2, P = mom >> 2, A = mg >> 2;
      for (let i = 0; i < n; i++) {
        const grad = f[G + i];
        f[S + i] = flushSubnormal(rho * f[S + i] + (1 - rho) * grad * grad);
        let d = f[S + i];
        if (centered) {
          f[A + i] = flushSubnormal(rho * f[A + i] + (1 - rho) * grad);
          d -= f[A + i] * f[A + i];
        }
        let step = (lr * grad) / Math.sqrt(d + epsilon);
        if (momentum !== 0) step = f[P + i] = flushSubnormal(momentum * f[P + i] + step);
        f[W + i] -= step;
      }
    },
  };
}

/** The smallest normal f32, 2⁻¹²⁶. */
const FLT_MIN = 1.17549435e-38;

/** x rounded to f32, or 0 if that is subnormal (as the WASM optimizer kernels store their state). */
function flushSubnormal(x: number): number {
  const r = Math.fround(x);
  return Math.abs(r) >= FLT_MIN ? r : 0;
}

/**
 * A uniform number in [0, 1) for (seed, index), with 24 random bits: the index spread by the golden
 * ratio, then Chris Wellons's "lowbias32" integer mixer. Stateless, so a dropout mask can be made in
 * any order, range by range, by any thread.
 */
export function dropoutUniform(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 8) / 16777216;
}
