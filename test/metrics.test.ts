import { describe, expect, it } from 'vitest';
import {
  accuracy,
  accuracyFromConfusion,
  argmaxRows,
  averageMetrics,
  confusionMatrix,
  formatClassReport,
  formatConfusionMatrix,
  perClassMetrics,
} from '../src/metrics.ts';

describe('confusion matrix', () => {
  it('counts rows = true class, columns = predicted, and sums to the number of examples', () => {
    const truth = [0, 0, 1, 1, 1, 2, 2, 2, 2, 0];
    const pred = [0, 1, 1, 1, 2, 2, 2, 0, 2, 0];
    const cm = confusionMatrix(truth, pred, 3);
    expect(cm).toEqual([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 3],
    ]);
    expect(cm.flat().reduce((a, b) => a + b, 0)).toBe(truth.length);
    cm.forEach((row, t) => expect(row.reduce((a, b) => a + b, 0)).toBe(truth.filter((x) => x === t).length));
    expect(accuracyFromConfusion(cm)).toBeCloseTo(0.7, 12);
    expect(accuracy(truth, pred)).toBeCloseTo(0.7, 12);
  });

  it('defaults to 10 classes and accepts typed arrays', () => {
    const cm = confusionMatrix(new Uint8Array([9, 3, 3]), new Int32Array([9, 3, 8]));
    expect(cm).toHaveLength(10);
    expect(cm[9][9]).toBe(1);
    expect(cm[3][3]).toBe(1);
    expect(cm[3][8]).toBe(1);
  });

  it('rejects mismatched lengths and out-of-range labels', () => {
    expect(() => confusionMatrix([1, 2], [1])).toThrow('2 true labels but 1 predictions');
    expect(() => confusionMatrix([1, 12], [1, 2])).toThrow('true label 12 at index 1 is out of range 0-9');
    expect(() => confusionMatrix([1, 2], [1, -1])).toThrow('predicted label -1 at index 1 is out of range 0-9');
  });
});

describe('per-class metrics', () => {
  it('computes precision, recall, F1 and support on a hand example', () => {
    const cm = [
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 3],
    ];
    const m = perClassMetrics(cm);
    // class 0: tp 2, predicted as 0: 3, support 3
    expect(m[0].precision).toBeCloseTo(2 / 3, 12);
    expect(m[0].recall).toBeCloseTo(2 / 3, 12);
    expect(m[0].f1).toBeCloseTo(2 / 3, 12);
    expect(m[0].support).toBe(3);
    // class 2: tp 3, predicted as 2: 4, support 4
    expect(m[2].precision).toBeCloseTo(3 / 4, 12);
    expect(m[2].recall).toBeCloseTo(3 / 4, 12);
    // class 1: tp 2, predicted as 1: 3, support 3
    expect(m[1]).toMatchObject({ label: 1, support: 3 });
    expect(m[1].precision).toBeCloseTo(2 / 3, 12);
    const { macro, weighted } = averageMetrics(m);
    expect(macro.precision).toBeCloseTo((2 / 3 + 2 / 3 + 3 / 4) / 3, 12);
    expect(weighted.recall).toBeCloseTo(0.7, 12); // weighted recall = accuracy
    expect(macro.support).toBe(10);
  });

  it('uses 0 for zero divisions (class never predicted / never present)', () => {
    const cm = [
      [3, 0, 0],
      [2, 0, 0],
      [0, 0, 0],
    ];
    const m = perClassMetrics(cm);
    expect(m[1]).toEqual({ label: 1, precision: 0, recall: 0, f1: 0, support: 2 });
    expect(m[2]).toEqual({ label: 2, precision: 0, recall: 0, f1: 0, support: 0 });
    expect(m[0].precision).toBeCloseTo(0.6, 12);
    expect(m[0].recall).toBe(1);
    expect(m[0].f1).toBeCloseTo(0.75, 12);
  });
});

describe('argmaxRows', () => {
  it('takes the first maximum of each row', () => {
    expect(Array.from(argmaxRows(new Float32Array([0.1, 0.7, 0.2, 0.5, 0.5, 0]), 3))).toEqual([1, 0]);
    expect(() => argmaxRows([1, 2, 3], 2)).toThrow(/do not split into rows of 2/);
  });
});

describe('text reports', () => {
  it('formats the confusion matrix with labels, rows = true', () => {
    const cm = confusionMatrix([0, 1, 1, 9], [0, 1, 7, 9]);
    const text = formatConfusionMatrix(cm);
    const lines = text.split('\n');
    expect(lines[0]).toBe('rows: true, columns: predicted');
    expect(lines[1]).toMatch(/^true\\pred\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9$/);
    expect(lines).toHaveLength(12);
    expect(lines[3].trim().split(/\s+/)).toEqual(['1', '0', '1', '0', '0', '0', '0', '0', '1', '0', '0']);
    // Columns line up: every line has the same length.
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1);
  });

  it('writes long class names over several lines above their columns, bottom-aligned', () => {
    const names = ['T-shirt/top', 'Trouser', 'Ankle boot'];
    const text = formatConfusionMatrix([[900, 3, 0], [12, 980, 1], [0, 0, 1000]], names);
    expect(text.split('\n')).toEqual([
      'rows: true, columns: predicted',
      '             T-shirt/           Ankle',
      '  true\\pred       top  Trouser   boot',
      'T-shirt/top       900        3      0',
      '    Trouser        12      980      1',
      ' Ankle boot         0        0   1000',
    ]);
    expect(() => formatConfusionMatrix([[1, 0], [0, 1]], names)).toThrow('3 class names for a confusion matrix of 2 classes');
  });

  it('names the classes in the classification report', () => {
    const text = formatClassReport(perClassMetrics([[3, 1], [0, 4]]), ['T-shirt/top', 'Ankle boot']);
    expect(text).toMatch(/^ T-shirt\/top\s+1\.0000\s+0\.7500\s+0\.8571\s+4$/m);
    expect(text).toMatch(/^ {2}Ankle boot\s+0\.8000\s+1\.0000\s+0\.8889\s+4$/m);
  });

  it('formats a classification report with macro and weighted averages', () => {
    const m = perClassMetrics([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 3],
    ]);
    const text = formatClassReport(m);
    expect(text).toMatch(/precision\s+recall\s+f1-score\s+support/);
    expect(text).toMatch(/^\s+2\s+0\.7500\s+0\.7500\s+0\.7500\s+4$/m);
    expect(text).toMatch(/^\s+accuracy\s+0\.7000\s+10$/m);
    expect(text).toMatch(/^\s+macro avg\s+0\.6944\s+0\.6944\s+0\.6944\s+10$/m);
    expect(text).toMatch(/^\s*weighted avg\s+0\.7000\s+0\.7000\s+0\.7000\s+10$/m);
  });
});
