// What the CLIs print and save about a model on the test set, computed from one prediction pass.
import { cpus } from 'node:os';
import type { Sequential } from '../model/sequential.ts';
import type { Tensor } from '../tensor.ts';
import { argmaxRows, confusionMatrix, formatClassReport, formatConfusionMatrix, perClassMetrics } from '../metrics.ts';
import type { Reference } from './presets.ts';

export interface TestResult {
  count: number;
  correct: number;
  accuracy: number;
  /** Mean cross-entropy −log p[label] (p clamped at 1e-7, as the loss in training). */
  loss: number;
  confusion: number[][];
  probabilities: Float32Array;
}

export function evaluateOnTest(model: Sequential, images: Tensor, labels: Uint8Array): TestResult {
  const probs = model.predict(images, { batchSize: 256 });
  const classes = probs.shape[1];
  const predicted = argmaxRows(probs.data, classes);
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (predicted[i] === labels[i]) correct++;
    lossSum -= Math.log(Math.max(probs.data[i * classes + labels[i]], 1e-7));
  }
  return {
    count: labels.length,
    correct,
    accuracy: correct / labels.length,
    loss: lossSum / labels.length,
    confusion: confusionMatrix(labels, predicted, classes),
    probabilities: probs.data,
  };
}

/**
 * The test result as printed; `reference` is the model's own published counterpart, if it has
 * one; `classNames` name the rows and columns (default: the class numbers).
 */
export function formatTestResult(result: TestResult, reference?: Reference, classNames?: readonly string[]): string {
  const lines = [`test accuracy: ${result.accuracy.toFixed(4)} (${result.correct}/${result.count})`, `test loss: ${result.loss.toFixed(4)}`];
  if (reference) {
    const diff = (result.accuracy - reference.accuracy) * 100;
    lines.push(
      `reference (${reference.name}): ${(reference.accuracy * 100).toFixed(2)}%  ours: ${(result.accuracy * 100).toFixed(2)}%  ` +
        `(${diff >= 0 ? '+' : ''}${diff.toFixed(2)} percentage points)`,
      `  source: ${reference.source}`,
    );
  }
  return [
    ...lines,
    '',
    'confusion matrix',
    formatConfusionMatrix(result.confusion, classNames),
    '',
    formatClassReport(perClassMetrics(result.confusion), classNames),
  ].join('\n');
}

export function machineInfo(model: Sequential): { cpu: string; cores: number; node: string; platform: string; simd: string; threads: number } {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    simd: model.backend.flavor,
    threads: model.backend.threads,
  };
}
