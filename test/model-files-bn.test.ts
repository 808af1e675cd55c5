// A model saved by TensorFlow.js with BatchNormalization, Activation, AveragePooling2D, LeakyReLU,
// GlobalAveragePooling2D and Keras activations (test/fixtures/tfjs-bn-cnn/): it loads, predicts what
// TF.js predicted, and one epoch of each of four optimizers reproduces every weight TF.js trained,
// the moved statistics included (TF.js's order: every trainable weight, then the moving statistics).
import { describe, expect, it } from 'vitest';
import { loadModel, Tensor, SGD, Adam, RMSprop } from '../src/index.ts';
import type { BackendName } from '../src/backend/index.ts';
import type { Optimizer } from '../src/optimizers/optimizer.ts';
import { FIXTURES, maxRelError, readFixture } from './layer-utils.ts';

interface IO { inputShape: number[]; input: number[]; outputShape: number[]; output: number[] }
interface Run { optimizer: 'sgd' | 'adam' | 'momentum' | 'rmsprop'; config: Record<string, number>; loss: number; weights: { name: string; shape: number[]; data: number[] }[] }
interface TrainSteps { input: number[]; inputShape: number[]; labels: number[]; batchSize: number; runs: Run[] }

const DIR = FIXTURES + 'tfjs-bn-cnn';
const optimizers: Record<Run['optimizer'], (c: Record<string, number>) => Optimizer> = {
  sgd: (c) => new SGD({ learningRate: c.learningRate }),
  momentum: (c) => new SGD({ learningRate: c.learningRate, momentum: c.momentum }),
  adam: (c) => new Adam(c),
  rmsprop: (c) => new RMSprop(c),
};

describe.each([['reference', true], ['wasm', true], ['wasm', false]] as [BackendName, boolean][])('tfjs-bn-cnn (%s backend, optimize: %s)', (backend, optimize) => {
  it('loads, lists its weights in TF.js order, and predicts what TF.js predicted', async () => {
    const io = readFixture<IO>('tfjs-bn-cnn/io.json');
    const model = await loadModel(DIR, { backend, optimize });
    expect(model.layers.map((l) => l.className)).toEqual([
      'Conv2D', 'BatchNormalization', 'Activation', 'AveragePooling2D', 'Conv2D', 'LeakyReLU', 'GlobalAveragePooling2D', 'Dense', 'Dense',
    ]);
    const names = model.params().map((p) => model.weightName(p));
    expect(names.slice(-2)).toEqual(['batch_normalization_BatchNormalization1/moving_mean', 'batch_normalization_BatchNormalization1/moving_variance']);
    const out = model.predict(Tensor.from(io.input, io.inputShape));
    expect(out.shape).toEqual(io.outputShape);
    expect(maxRelError(out.data, io.output)).toBeLessThan(1e-5);
  });

  const steps = readFixture<TrainSteps>('tfjs-bn-cnn/train-steps.json');
  it.each(steps.runs.map((r) => [r.optimizer, r] as const))('one epoch of %s reproduces every weight TF.js trained', async (_name, run) => {
    const model = await loadModel(DIR, { backend, optimize });
    const n = steps.inputShape[0];
    const classes = model.outputShape[0];
    const oneHot = new Float32Array(n * classes);
    steps.labels.forEach((label, i) => (oneHot[i * classes + label] = 1));
    model.compile({ optimizer: optimizers[run.optimizer](run.config), loss: 'categoricalCrossentropy' });
    const history = await model.fit(Tensor.from(steps.input, steps.inputShape), new Tensor(oneHot, [n, classes]), {
      epochs: 1, batchSize: steps.batchSize, shuffle: false, verbose: 0,
    });
    expect(history.history.loss[0]).toBeCloseTo(run.loss, 5);
    const weights = model.getWeights();
    expect(weights.map((w) => w.shape)).toEqual(run.weights.map((w) => w.shape));
    run.weights.forEach((expected, i) => expect(maxRelError(weights[i].data, expected.data), expected.name).toBeLessThan(1e-5));
  });
});
