// Losses: the mean over the batch of a per-sample loss, and its gradient dL/dŷ with respect to the
// model's output ŷ, from which backpropagation starts.
//
// Cross-entropy as TensorFlow.js computes it. On probabilities (the default): ŷ is clipped to
// [ε, 1 − ε] (ε = 1e-7), each row is divided by its sum, clipped again, and
//   L = −(1/B) Σ_b log ŷ[b, label_b]
// The gradient goes back through those steps (a clipped value passes no gradient). After a softmax
// layer, whose backward applies its Jacobian, this gives the familiar dL/dz = (p − onehot)/B.
// With `fromLogits: true` the model's outputs are logits z, and the softmax is part of the loss:
//   L = −(1/B) Σ_b log softmax(z_b)[label_b],   dL/dz = (softmax(z) − onehot)/B
import type { Backend } from './backend/index.ts';

export type LossName = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy';

/** TF.js's epsilon(), as float32. */
const EPSILON = Math.fround(1e-7);
const ONE_MINUS_EPSILON = Math.fround(1 - 1e-7);

export interface LossArgs {
  /** Whether the model's outputs are logits rather than probabilities. */
  fromLogits?: boolean;
}

export class CrossEntropy {
  readonly fromLogits: boolean;

  /** `name`: the Keras name; the categorical form takes one-hot rows, turned into class indices before this. */
  constructor(readonly name: LossName, args: LossArgs = {}) {
    this.fromLogits = args.fromLogits ?? false;
  }

  /**
   * Σ_b loss of `rows` samples of `cols` classes: output at `pred`, class indices (i32) at
   * `labels`. Writes dL/dŷ of the mean loss, scaled by `scale` (1/B; 0 skips it), to `dPred`.
   * `probs` receives softmax(z) when `fromLogits`.
   */
  compute(backend: Backend, pred: number, labels: number, dPred: number, probs: number, rows: number, cols: number, scale: number): number {
    if (this.fromLogits) return backend.kernels.softmaxCrossEntropy(pred, labels, probs, dPred, rows, cols, scale);
    const arena = backend.arena;
    const p = arena.f32At(pred, rows * cols);
    const label = arena.i32At(labels, rows);
    const grad = scale === 0 ? null : arena.f32At(dPred, rows * cols);
    let sum = 0;
    for (let b = 0; b < rows; b++) {
      const row = b * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += clip(p[row + c]);
      const l = label[b];
      const q = clip(p[row + l]) / s; // the label's probability, clipped and normalised
      const r = clip(q);
      sum -= Math.log(r);
      if (!grad) continue;
      // L_b = −log r: dL/dq = −1/r where q was not clipped again; q = a_l / s with a = clip(p), s = Σ a
      // gives dL/da_j = dL/dq · ([j = l] − q)/s; then only unclipped a_j pass it on to p_j.
      const dq = inRange(q) ? -1 / r : 0;
      for (let c = 0; c < cols; c++) {
        const da = (dq * ((c === l ? 1 : 0) - q)) / s;
        grad[row + c] = inRange(p[row + c]) ? scale * da : 0;
      }
    }
    return sum;
  }
}

function clip(v: number): number {
  return Math.min(Math.max(v, EPSILON), ONE_MINUS_EPSILON);
}

function inRange(v: number): boolean {
  return v >= EPSILON && v <= ONE_MINUS_EPSILON;
}
