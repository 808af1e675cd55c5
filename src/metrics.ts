/**
 * Classification metrics: accuracy, confusion matrix, per-class precision / recall / F1, and
 * their text reports (in the style of scikit-learn's classification_report).
 */

function checkLabels(trueLabels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): void {
  if (!Number.isInteger(classes) || classes <= 0) throw new Error(`classes must be a positive integer, got ${classes}`);
  if (trueLabels.length !== predicted.length) {
    throw new Error(`${trueLabels.length} true labels but ${predicted.length} predictions`);
  }
}

function checkClass(v: number, i: number, classes: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v >= classes) {
    throw new Error(`${what} ${v} at index ${i} is out of range 0-${classes - 1}`);
  }
}

/** Index of the largest value of each row of a [rows, classes] row-major array (first on ties). */
export function argmaxRows(values: ArrayLike<number>, classes: number): Uint8Array | Int32Array {
  if (!Number.isInteger(classes) || classes <= 0 || values.length % classes !== 0) {
    throw new Error(`argmaxRows: ${values.length} values do not split into rows of ${classes}`);
  }
  const rows = values.length / classes;
  const out = classes <= 256 ? new Uint8Array(rows) : new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = values[r * classes];
    for (let c = 1; c < classes; c++) {
      const v = values[r * classes + c];
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Fraction of predictions equal to the true label (0 for no examples). */
export function accuracy(trueLabels: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (trueLabels.length !== predicted.length) {
    throw new Error(`${trueLabels.length} true labels but ${predicted.length} predictions`);
  }
  if (trueLabels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < trueLabels.length; i++) if (trueLabels[i] === predicted[i]) correct++;
  return correct / trueLabels.length;
}

/** cm[t][p] = number of examples of true class t predicted as p (rows = true class). */
export function confusionMatrix(trueLabels: ArrayLike<number>, predicted: ArrayLike<number>, classes = 10): number[][] {
  checkLabels(trueLabels, predicted, classes);
  const cm = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < trueLabels.length; i++) {
    const t = trueLabels[i];
    const p = predicted[i];
    checkClass(t, i, classes, 'true label');
    checkClass(p, i, classes, 'predicted label');
    cm[t][p]++;
  }
  return cm;
}

/** Accuracy from a confusion matrix: trace / total (0 when empty). */
export function accuracyFromConfusion(cm: number[][]): number {
  let total = 0;
  let correct = 0;
  for (let t = 0; t < cm.length; t++) {
    for (let p = 0; p < cm[t].length; p++) total += cm[t][p];
    correct += cm[t][t] ?? 0;
  }
  return total === 0 ? 0 : correct / total;
}

export interface ClassMetrics {
  /** The class id (row index in the confusion matrix). */
  label: number;
  precision: number;
  recall: number;
  f1: number;
  /** Number of examples whose true class is this one. */
  support: number;
}

/** Precision, recall, F1 and support of each class; a zero denominator gives 0 (as sklearn's zero_division=0). */
export function perClassMetrics(cm: number[][]): ClassMetrics[] {
  const n = cm.length;
  for (const row of cm) {
    if (row.length !== n) throw new Error(`confusion matrix must be square, got a row of ${row.length} in a ${n}-row matrix`);
  }
  const out: ClassMetrics[] = [];
  for (let c = 0; c < n; c++) {
    const tp = cm[c][c];
    let support = 0;
    let predictedAs = 0;
    for (let k = 0; k < n; k++) {
      support += cm[c][k];
      predictedAs += cm[k][c];
    }
    const precision = predictedAs === 0 ? 0 : tp / predictedAs;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    out.push({ label: c, precision, recall, f1, support });
  }
  return out;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Macro average (unweighted mean over classes) and support-weighted average. */
export function averageMetrics(metrics: ClassMetrics[]): { macro: AveragedMetrics; weighted: AveragedMetrics } {
  const support = metrics.reduce((s, m) => s + m.support, 0);
  const k = metrics.length || 1;
  const mean = (f: (m: ClassMetrics) => number) => metrics.reduce((s, m) => s + f(m), 0) / k;
  const wmean = (f: (m: ClassMetrics) => number) =>
    support === 0 ? 0 : metrics.reduce((s, m) => s + f(m) * m.support, 0) / support;
  return {
    macro: { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1), support },
    weighted: {
      precision: wmean((m) => m.precision),
      recall: wmean((m) => m.recall),
      f1: wmean((m) => m.f1),
      support,
    },
  };
}

/**
 * The confusion matrix as a table, rows = true class, columns = predicted class, e.g.
 *
 *   rows: true, columns: predicted
 *   true\pred     0     1 ...
 *           0   973     0 ...
 *
 * `labels` name the classes (default: their numbers). A long name is written over several lines
 * above its column, broken at spaces and after '/' ("Ankle" over "boot"), to keep the table narrow.
 */
export function formatConfusionMatrix(cm: number[][], labels?: readonly string[]): string {
  const n = cm.length;
  if (labels && labels.length !== n) throw new Error(`${labels.length} class names for a confusion matrix of ${n} classes`);
  const names = labels ?? Array.from({ length: n }, (_, i) => String(i));
  const headers = names.map((name) => name.split(/\s+|(?<=\/)/).filter(Boolean));
  let widestValue = 1;
  for (const row of cm) for (const v of row) widestValue = Math.max(widestValue, String(v).length);
  const widths = headers.map((lines) => Math.max(widestValue, ...lines.map((l) => l.length)) + 2);
  const corner = 'true\\pred';
  const rowHead = Math.max(corner.length, ...names.map((s) => s.length));
  const depth = Math.max(1, ...headers.map((h) => h.length));
  const lines = ['rows: true, columns: predicted'];
  for (let r = 0; r < depth; r++) {
    // Header lines are bottom-aligned: a one-line name sits on the last line, beside the corner.
    const cells = headers.map((h, j) => (h[r - (depth - h.length)] ?? '').padStart(widths[j]));
    lines.push((r === depth - 1 ? corner : '').padStart(rowHead) + cells.join(''));
  }
  for (let t = 0; t < n; t++) {
    lines.push(names[t].padStart(rowHead) + cm[t].map((v, j) => String(v).padStart(widths[j])).join(''));
  }
  return lines.join('\n');
}

/**
 * Per-class precision / recall / F1 / support, then accuracy, macro and weighted averages, like
 * sklearn.metrics.classification_report (4 decimals).
 */
export function formatClassReport(metrics: ClassMetrics[], labels?: readonly string[]): string {
  const names = labels ?? metrics.map((m) => String(m.label));
  const { macro, weighted } = averageMetrics(metrics);
  const support = macro.support;
  const correct = metrics.reduce((s, m) => s + m.recall * m.support, 0);
  const acc = support === 0 ? 0 : correct / support;
  const nameWidth = Math.max(12, ...names.map((s) => s.length));
  const col = 10;
  const num = (v: number) => v.toFixed(4).padStart(col);
  const int = (v: number) => String(Math.round(v)).padStart(col);
  const lines: string[] = [];
  lines.push(''.padStart(nameWidth) + ['precision', 'recall', 'f1-score', 'support'].map((h) => h.padStart(col)).join(''));
  lines.push('');
  metrics.forEach((m, i) => {
    lines.push(names[i].padStart(nameWidth) + num(m.precision) + num(m.recall) + num(m.f1) + int(m.support));
  });
  lines.push('');
  lines.push('accuracy'.padStart(nameWidth) + ''.padStart(2 * col) + num(acc) + int(support));
  lines.push('macro avg'.padStart(nameWidth) + num(macro.precision) + num(macro.recall) + num(macro.f1) + int(support));
  lines.push(
    'weighted avg'.padStart(nameWidth) + num(weighted.precision) + num(weighted.recall) + num(weighted.f1) + int(support),
  );
  return lines.join('\n');
}
