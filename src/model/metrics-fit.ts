// The metrics `fit` and `evaluate` report, and the names callbacks know them by.
//
// `accuracy` means what TF.js makes of it for the loss and the output: binary accuracy (the
// output thresholded at 0.5) for a single output or binaryCrossentropy; the argmax against the
// class index for sparseCategoricalCrossentropy; the argmax against the target's argmax otherwise.
import type { Loss } from '../losses.ts';

export type MetricName = 'accuracy' | 'binaryAccuracy' | 'mse';

/** The names `compile({ metrics })` takes, with the metric each one means. */
const METRIC_NAMES: Record<string, MetricName> = { accuracy: 'accuracy', acc: 'accuracy', binaryAccuracy: 'binaryAccuracy', mse: 'mse' };

/** The targets of one batch: class indices (i32) or `cols` values per sample (f32). */
export type BatchTargets = Int32Array | Float32Array;

/** Checks compile's metric names; returns the extra metrics (beyond loss and accuracy, always reported). */
export function checkMetrics(owner: string, metrics: unknown, loss: Loss): MetricName[] {
  if (metrics === undefined) return [];
  if (!Array.isArray(metrics)) throw new Error(`${owner}: metrics must be an array of names, such as ['accuracy'], got ${JSON.stringify(metrics)}`);
  const extra: MetricName[] = [];
  for (const name of metrics) {
    const metric = typeof name === 'string' && Object.hasOwn(METRIC_NAMES, name) ? METRIC_NAMES[name] : undefined;
    if (!metric) throw new Error(`${owner}: unsupported metric ${JSON.stringify(name)} (supported: ${Object.keys(METRIC_NAMES).join(', ')})`);
    if (metric !== 'accuracy' && loss.targets === 'classes') {
      throw new Error(`${owner}: metric "${name}" compares the output with a target per output value; ${loss.name} takes class indices`);
    }
    if (metric !== 'accuracy' && !extra.includes(metric)) extra.push(metric);
  }
  return extra;
}

/**
 * Scores one batch for `metric`: the sum over its samples of each sample's score (accuracy in
 * [0, 1], or mean squared error), for outputs `pred` [rows, cols] and targets `y`.
 */
export function scoreBatch(metric: MetricName, loss: Loss, pred: Float32Array, y: BatchTargets, rows: number, cols: number): number {
  if (metric === 'mse') return squaredErrorSum(pred, y, rows, cols);
  // A logit above 0 is a probability above 0.5.
  const threshold = loss.fromLogits && loss.name === 'binaryCrossentropy' ? 0 : 0.5;
  if (metric === 'binaryAccuracy' || cols === 1 || loss.name === 'binaryCrossentropy') return binaryAccuracySum(pred, y, rows, cols, threshold);
  let correct = 0;
  for (let b = 0; b < rows; b++) {
    const truth = loss.targets === 'classes' ? y[b] : argmax(y, b * cols, cols);
    if (argmax(pred, b * cols, cols) === truth) correct++;
  }
  return correct;
}

/** Σ over samples of the fraction of its values where (output > threshold) equals the target, as Keras's binary accuracy. */
function binaryAccuracySum(pred: Float32Array, y: BatchTargets, rows: number, cols: number, threshold: number): number {
  let hits = 0;
  for (let i = 0; i < rows * cols; i++) if ((pred[i] > threshold ? 1 : 0) === y[i]) hits++;
  return hits / cols;
}

function squaredErrorSum(pred: Float32Array, y: BatchTargets, rows: number, cols: number): number {
  let sum = 0;
  for (let i = 0; i < rows * cols; i++) sum += (pred[i] - y[i]) ** 2;
  return sum / cols;
}

/** Index of the first maximum of x[at … at + n). */
function argmax(x: ArrayLike<number>, at: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (x[at + c] > x[at + best]) best = c;
  return best;
}

// ---- log names ----

/** The keys of the epoch logs (camelCase, as fit's EpochLogs has them). */
export type LogKey = 'loss' | 'accuracy' | 'binaryAccuracy' | 'mse' | 'valLoss' | 'valAccuracy' | 'valBinaryAccuracy' | 'valMse';

/** Every name a callback may monitor: Keras's snake_case log names and fit's camelCase keys. */
const LOG_NAMES: Record<string, LogKey> = {
  loss: 'loss', val_loss: 'valLoss', valLoss: 'valLoss',
  accuracy: 'accuracy', acc: 'accuracy', val_accuracy: 'valAccuracy', val_acc: 'valAccuracy', valAccuracy: 'valAccuracy',
  binary_accuracy: 'binaryAccuracy', binaryAccuracy: 'binaryAccuracy', val_binary_accuracy: 'valBinaryAccuracy', valBinaryAccuracy: 'valBinaryAccuracy',
  mse: 'mse', val_mse: 'valMse', valMse: 'valMse',
};

/** The log key for a monitored name such as 'val_loss'; throws, naming `owner` and the names, for an unknown one. */
export function logKey(owner: string, name: string): LogKey {
  if (typeof name !== 'string' || !Object.hasOwn(LOG_NAMES, name)) {
    throw new Error(`${owner}: unknown metric ${JSON.stringify(name)}; the names are ${Object.keys(LOG_NAMES).join(', ')}`);
  }
  return LOG_NAMES[name];
}

/** Whether a larger value is better ('auto' mode of the callbacks): the accuracies. */
export function higherIsBetter(key: LogKey): boolean {
  return /accuracy/i.test(key);
}

/** The log keys of one fit's epochs: loss and accuracy, the extra metrics, and their val_ twins with validation data. */
export function epochLogKeys(extra: readonly MetricName[], validation: boolean): LogKey[] {
  const keys: LogKey[] = ['loss', 'accuracy', ...extra];
  if (validation) keys.push(...keys.map((k) => `val${k[0].toUpperCase()}${k.slice(1)}` as LogKey));
  return keys;
}
