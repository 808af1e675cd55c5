// Losses: the mean over the batch of a per-sample loss, and its gradient dL/dŷ with respect to the
// model's output ŷ, from which backpropagation starts. Keras's four core losses, computed as
// TensorFlow.js computes them.
//
// Cross-entropy on probabilities (the default, whatever the last layer is): ŷ is clipped to
// [ε, 1 − ε] (ε = 1e-7) before every log, as TF.js does, and the gradient goes back through those
// steps (a clipped value passes no gradient). The categorical forms divide each row by its sum
// first (the sparse form clips before that division too, as TF.js does):
//   L = −(1/B) Σ_b Σ_c y[b, c]·log clip(ŷ[b, c] / Σ_j ŷ[b, j])
// After a softmax layer, whose backward applies its Jacobian, this gives dL/dz = (p − y)/B.
// With `fromLogits: true` the model's outputs are logits z and the softmax is part of the loss:
//   dL/dz = (softmax(z)·Σ_c y_c − y)/B          (= (softmax(z) − y)/B for one-hot y)
// Binary cross-entropy is element-wise, averaged over the values of a sample, then over the batch:
//   L = −mean(y·log p + (1 − y)·log(1 − p)),  p = clip(ŷ) or sigmoid(z) with `fromLogits`
// Mean squared error: L = mean((ŷ − y)²), dL/dŷ = 2(ŷ − y)/(B·values per sample).
import type { Backend } from './backend/index.ts';
import type { Shape } from './layers/layer.ts';
import { checkOptions } from './options.ts';

export type LossName = 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError';

/** TF.js's epsilon(), as float32. */
const EPSILON = Math.fround(1e-7);
const ONE_MINUS_EPSILON = Math.fround(1 - 1e-7);

export interface CrossentropyArgs {
  /** Whether the model's outputs are logits rather than probabilities. Default false. */
  fromLogits?: boolean;
}

export abstract class Loss {
  /** The Keras/TF.js name, as `compile({ loss })` takes it. */
  abstract readonly name: LossName;
  /**
   * The targets `fit` takes: 'classes', one class index per sample (i32 in memory), or 'values',
   * one target per output value (f32), such as one-hot rows.
   */
  abstract readonly targets: 'classes' | 'values';
  readonly fromLogits: boolean = false;

  /**
   * Σ over `rows` samples of each sample's loss, for outputs at `pred` (`cols` values per sample)
   * and targets at `targets` (see `targets`). Writes dL/dŷ of the mean loss, scaled by `scale`
   * (1/B; 0 skips it), to `dPred`. `probs` (cols floats per sample) is scratch for a softmax.
   */
  abstract compute(backend: Backend, pred: number, targets: number, dPred: number, probs: number, rows: number, cols: number, scale: number): number;

  /** Throws, naming the loss and the shape, if the model's output (one sample) does not suit this loss. */
  checkOutputShape(_owner: string, _shape: Shape): void {}

  /** The options as TF.js and Keras write them: `{}` or `{ fromLogits }`. */
  getConfig(): Record<string, boolean> {
    return {};
  }
}

/** Cross-entropy over the classes of each sample: the output is one row of class scores. */
abstract class ClassCrossentropy extends Loss {
  override readonly fromLogits: boolean;

  constructor(owner: string, args: CrossentropyArgs) {
    super();
    checkOptions(owner, args, ['fromLogits']);
    this.fromLogits = checkFromLogits(owner, args.fromLogits);
  }

  override checkOutputShape(owner: string, shape: Shape): void {
    if (shape.length !== 1) {
      throw new Error(`${owner}: ${this.name} needs one row of class scores per sample, but the model's output is [${shape.join(', ')}] (end it with Flatten and Dense)`);
    }
  }

  override getConfig(): Record<string, boolean> {
    return { fromLogits: this.fromLogits };
  }
}

/** Cross-entropy against integer class labels. */
export class SparseCategoricalCrossentropy extends ClassCrossentropy {
  readonly name = 'sparseCategoricalCrossentropy';
  readonly targets = 'classes';

  constructor(args: CrossentropyArgs = {}) {
    super('SparseCategoricalCrossentropy', args);
  }

  compute(backend: Backend, pred: number, targets: number, dPred: number, probs: number, rows: number, cols: number, scale: number): number {
    if (this.fromLogits) return backend.kernels.softmaxCrossEntropy(pred, targets, probs, dPred, rows, cols, scale);
    const arena = backend.arena;
    const p = arena.f32At(pred, rows * cols);
    const labels = arena.i32At(targets, rows);
    const grad = scale === 0 ? null : arena.f32At(dPred, rows * cols);
    const y = new Float64Array(cols);
    const e = new Float64Array(cols);
    let sum = 0;
    for (let b = 0; b < rows; b++) {
      y.fill(0);
      y[labels[b]] = 1;
      sum += probabilityRow(p, b * cols, cols, y, true, grad, scale, e);
    }
    return sum;
  }
}

/** Cross-entropy against a target distribution per sample: one-hot rows, or probabilities. */
export class CategoricalCrossentropy extends ClassCrossentropy {
  readonly name = 'categoricalCrossentropy';
  readonly targets = 'values';

  constructor(args: CrossentropyArgs = {}) {
    super('CategoricalCrossentropy', args);
  }

  compute(backend: Backend, pred: number, targets: number, dPred: number, _probs: number, rows: number, cols: number, scale: number): number {
    const arena = backend.arena;
    const p = arena.f32At(pred, rows * cols);
    const t = arena.f32At(targets, rows * cols);
    const grad = scale === 0 ? null : arena.f32At(dPred, rows * cols);
    const y = new Float64Array(cols);
    const e = new Float64Array(cols);
    let sum = 0;
    for (let b = 0; b < rows; b++) {
      const at = b * cols;
      for (let c = 0; c < cols; c++) y[c] = t[at + c];
      sum += this.fromLogits ? logitRow(p, at, cols, y, grad, scale, e) : probabilityRow(p, at, cols, y, false, grad, scale, e);
    }
    return sum;
  }
}

/** Element-wise cross-entropy against 0/1 labels or probabilities (a sigmoid output, or several). */
export class BinaryCrossentropy extends Loss {
  readonly name = 'binaryCrossentropy';
  readonly targets = 'values';
  override readonly fromLogits: boolean;

  constructor(args: CrossentropyArgs = {}) {
    super();
    checkOptions('BinaryCrossentropy', args, ['fromLogits']);
    this.fromLogits = checkFromLogits('BinaryCrossentropy', args.fromLogits);
  }

  compute(backend: Backend, pred: number, targets: number, dPred: number, _probs: number, rows: number, cols: number, scale: number): number {
    const arena = backend.arena;
    const n = rows * cols;
    const p = arena.f32At(pred, n);
    const y = arena.f32At(targets, n);
    const grad = scale === 0 ? null : arena.f32At(dPred, n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      let loss: number, d: number;
      if (this.fromLogits) {
        // TF.js's sigmoidCrossEntropyWithLogits: max(z, 0) − z·y + log(1 + e^−|z|), stable for any z.
        const z = p[i];
        loss = Math.max(z, 0) - z * y[i] + Math.log1p(Math.exp(-Math.abs(z)));
        d = sigmoid(z) - y[i];
      } else {
        const c = clip(p[i]);
        loss = -(y[i] * Math.log(c) + (1 - y[i]) * Math.log(1 - c));
        d = inRange(p[i]) ? (c - y[i]) / (c * (1 - c)) : 0;
      }
      sum += loss;
      if (grad) grad[i] = (scale * d) / cols;
    }
    return sum / cols;
  }

  override getConfig(): Record<string, boolean> {
    return { fromLogits: this.fromLogits };
  }
}

/** The mean of (ŷ − y)² over the values of a sample, then over the batch. */
export class MeanSquaredError extends Loss {
  readonly name = 'meanSquaredError';
  readonly targets = 'values';

  /** No options: Keras's MeanSquaredError has no `fromLogits`. */
  constructor(args: Record<string, never> = {}) {
    super();
    checkOptions('MeanSquaredError', args, []);
  }

  compute(backend: Backend, pred: number, targets: number, dPred: number, _probs: number, rows: number, cols: number, scale: number): number {
    const arena = backend.arena;
    const n = rows * cols;
    const p = arena.f32At(pred, n);
    const y = arena.f32At(targets, n);
    const grad = scale === 0 ? null : arena.f32At(dPred, n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const diff = p[i] - y[i];
      sum += diff * diff;
      if (grad) grad[i] = (scale * 2 * diff) / cols;
    }
    return sum / cols;
  }
}

const BY_NAME: Record<string, () => Loss> = {
  sparseCategoricalCrossentropy: () => new SparseCategoricalCrossentropy(),
  categoricalCrossentropy: () => new CategoricalCrossentropy(),
  binaryCrossentropy: () => new BinaryCrossentropy(),
  meanSquaredError: () => new MeanSquaredError(),
  mse: () => new MeanSquaredError(),
};

/** The loss for a name (TF.js's camelCase names, and Keras's 'mse'); a Loss is returned as is. */
export function getLoss(owner: string, loss: LossName | 'mse' | Loss): Loss {
  if (loss instanceof Loss) return loss;
  if (typeof loss !== 'string' || !Object.hasOwn(BY_NAME, loss)) {
    const got = typeof loss === 'string' ? `"${loss}"` : String(loss);
    throw new Error(`${owner}: unsupported loss ${got} (supported: ${Object.keys(BY_NAME).join(', ')}, or a loss object such as new BinaryCrossentropy({ fromLogits: true }))`);
  }
  return BY_NAME[loss]();
}

/**
 * One sample of cross-entropy on probabilities p[at … at + cols), targets y: q = a / Σa with
 * a = clip(p) when `clipFirst` (TF.js's sparse form), else a = p; L = −Σ_c y_c·log clip(q_c).
 * Writes scale·dL/dp to grad. `e`: scratch of cols values.
 */
function probabilityRow(p: Float32Array, at: number, cols: number, y: Float64Array, clipFirst: boolean, grad: Float32Array | null, scale: number, e: Float64Array): number {
  let s = 0;
  for (let c = 0; c < cols; c++) s += clipFirst ? clip(p[at + c]) : p[at + c];
  let loss = 0;
  let eq = 0; // Σ_c e_c·q_c
  for (let c = 0; c < cols; c++) {
    const q = (clipFirst ? clip(p[at + c]) : p[at + c]) / s;
    const r = clip(q);
    if (y[c] !== 0) loss -= y[c] * Math.log(r);
    e[c] = inRange(q) ? -y[c] / r : 0; // dL/dq_c, none through the clip
    eq += e[c] * q;
  }
  if (grad) {
    for (let c = 0; c < cols; c++) {
      // q_c = a_c / s, so dL/da_j = (e_j − Σ_c e_c·q_c) / s; then the first clip, if any, lets it through or not.
      const da = (e[c] - eq) / s;
      grad[at + c] = clipFirst && !inRange(p[at + c]) ? 0 : scale * da;
    }
  }
  return loss;
}

/**
 * One sample of cross-entropy on logits z[at … at + cols): softmax in float64, the loss clipped as
 * the fused softmaxCrossEntropy kernel clips it (−log max(p, ε)). `sm`: scratch of cols values.
 */
function logitRow(z: Float32Array, at: number, cols: number, y: Float64Array, grad: Float32Array | null, scale: number, sm: Float64Array): number {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, z[at + c]);
  let total = 0;
  for (let c = 0; c < cols; c++) total += sm[c] = Math.exp(z[at + c] - max);
  let loss = 0;
  let ySum = 0;
  for (let c = 0; c < cols; c++) {
    sm[c] /= total;
    if (y[c] !== 0) loss -= y[c] * Math.log(Math.max(sm[c], EPSILON));
    ySum += y[c];
  }
  if (grad) for (let c = 0; c < cols; c++) grad[at + c] = scale * (sm[c] * ySum - y[c]);
  return loss;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function clip(v: number): number {
  return Math.min(Math.max(v, EPSILON), ONE_MINUS_EPSILON);
}

function inRange(v: number): boolean {
  return v >= EPSILON && v <= ONE_MINUS_EPSILON;
}

function checkFromLogits(owner: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new Error(`${owner}: fromLogits must be true or false, got ${JSON.stringify(value)}`);
  return value ?? false;
}
