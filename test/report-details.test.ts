// The report: the accuracy chart names its reference line in the legend, above the plot, where it can cover no
// curve; the hyperparameter table says how a run was trained.
import { describe, expect, it } from 'vitest';
import { lineChart } from '../src/report/charts.ts';

describe('the reference line of a line chart', () => {
  const chart = (reference: number) =>
    lineChart({
      name: 'accuracy', title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy',
      reference: { value: reference, label: 'Keras reference 99.22%' },
      series: [{ label: 'training', values: [0.95, 0.985, 0.991], color: '#00f' }, { label: 'validation', values: [0.98, 0.99, 0.993], color: '#f00', dashed: true }],
    });

  it('is named in the legend, well above the line, not on the plot beside the curves near it', () => {
    const body = chart(0.9922).body;
    const label = /<text x="[\d.]+" y="([\d.]+)"[^>]*>Keras reference 99\.22%<\/text>/.exec(body);
    expect(label).not.toBeNull();
    const plotLine = Number(/<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="\1"[^>]*stroke-width="1.2" stroke-dasharray="2 3"/.exec(body)![1]);
    expect(Number(label![1])).toBeLessThan(plotLine - 30);
  });

  it('off the axis, it says which way it lies', () => {
    expect(chart(0.5).body).toMatch(/↓ Keras reference 99\.22% \(below this axis\)/);
  });
});

describe('the hyperparameter table', () => {
  it('names the affine augmentation and the learning-rate decay a cnn-bn run used', async () => {
    const { hyperparameterRows, trainingGapNote } = await import('../src/report/index.ts');
    const rows = hyperparameterRows({ learningRate: 0.001, lrDecay: 0.9, randomShift: 0, augment: { rotation: 10, zoom: 0.1, shift: 2 } });
    expect(rows).toContainEqual(['Learning rate', '0.001, multiplied by 0.9 after each epoch']);
    expect(rows).toContainEqual(['Augmentation', 'random rotations up to ±10°, zooms up to ±10%, shifts up to ±2 pixels, a new map per image and step']);
    expect(trainingGapNote(true, 0, true)).toMatch(/with dropout and random rotations, zooms and shifts on/);
  });
});
