// The fast pass (src/fast/) against the textbook layers it replaces: each rewrite applies where it
// should, and a model trains to the same losses and weights either way, up to float rounding.
import { describe, expect, it } from 'vitest';
import { Sequential, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, ReLU, Softmax, SGD, Tensor, loadMnist } from '../src/index.ts';
import type { Layer } from '../src/layers/layer.ts';
import type { BackendName } from '../src/backend/index.ts';
import { Random } from '../src/random.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { ConvPoolOneChannel } from '../src/fast/conv-pool-one-channel.ts';
import { ConvReluMaxPool } from '../src/fast/conv-relu-max-pool.ts';
import { DirectConv2D } from '../src/fast/direct-conv.ts';
import { SparseInputDense } from '../src/fast/sparse-input-dense.ts';
import { TilingMaxPool } from '../src/fast/tiling-max-pool.ts';
import { MNIST_DIR } from './paths.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Images three quarters 0, like MNIST's, so the sparse products are taken. */
function sparseImages(n: number, shape: number[], seed: number): Tensor {
  const rng = new Random(seed);
  const size = n * shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: size }, () => (rng.next() < 0.75 ? 0 : rng.next())), [n, ...shape]);
}

const OTHER_MODELS: Record<string, { layers: () => Layer[]; shape: number[]; classes: number }> = {
  "'same' padding, strides 2, no bias, a pool that does not tile": {
    shape: [11, 11, 2],
    classes: 4,
    layers: () => [
      new Conv2D({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false, activation: 'relu', inputShape: [11, 11, 2] }),
      new MaxPooling2D({ poolSize: 3, strides: 1 }),
      new Flatten(),
      new Dense({ units: 4, activation: 'softmax' }),
    ],
  },
  'a pool that does not follow a ReLU, a one-channel conv without one': {
    shape: [10, 10, 1],
    classes: 3,
    layers: () => [
      new Conv2D({ filters: 3, kernelSize: 3, inputShape: [10, 10, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new ReLU(),
      new Conv2D({ filters: 5, kernelSize: 2, activation: 'relu' }),
      new MaxPooling2D({ poolSize: 2, padding: 'same' }),
      new Flatten(),
      new Dense({ units: 3 }),
      new Softmax(),
    ],
  },
  'a Dense without bias reading the images, dropout': {
    shape: [6, 6, 1],
    classes: 3,
    layers: () => [
      new Flatten({ inputShape: [6, 6, 1] }),
      new Dense({ units: 8, activation: 'relu', useBias: false }),
      new Dropout({ rate: 0.25 }),
      new Dense({ units: 3, activation: 'softmax' }),
    ],
  },
  'Keras activations in the rewritten layers: a tanh one-channel conv, a sigmoid Dense': {
    shape: [7, 7, 1],
    classes: 3,
    layers: () => [
      new Conv2D({ filters: 2, kernelSize: 3, activation: 'tanh', inputShape: [7, 7, 1] }),
      new Flatten(),
      new Dense({ units: 3, activation: 'softmax' }),
    ],
  },
  'a sigmoid Dense reading the images': {
    shape: [6, 6, 1],
    classes: 3,
    layers: () => [new Flatten({ inputShape: [6, 6, 1] }), new Dense({ units: 5, activation: 'sigmoid' }), new Dense({ units: 3, activation: 'softmax' })],
  },
  "a conv with 'valid' pool reading an odd-sized output (cropped)": {
    shape: [9, 9, 2],
    classes: 4,
    layers: () => [
      new Conv2D({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [9, 9, 2] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dense({ units: 4, activation: 'softmax' }),
    ],
  },
};

/** Trains `steps` batches both ways from one seed; returns each path's per-step losses and final weights. */
function trainBothWays(build: (optimize: boolean) => Sequential, x: Tensor, y: Int32Array, batch: number, steps: number) {
  return [true, false].map((optimize) => {
    const model = build(optimize);
    model.compile({ optimizer: new SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const rows = [s * batch, (s + 1) * batch];
      losses.push(model.trainOnBatch(x.slice(rows[0], rows[1]), y.subarray(rows[0], rows[1])).loss);
    }
    return { losses, weights: model.getWeights(), predicted: model.predict(x.slice(0, batch)).data, runLayers: model.runLayers };
  });
}

function expectSameTraining(fast: ReturnType<typeof trainBothWays>[0], textbook: ReturnType<typeof trainBothWays>[0]): void {
  fast.losses.forEach((loss, i) => expect(Math.abs(loss - textbook.losses[i]), `step ${i} loss`).toBeLessThan(1e-5 * Math.max(1, loss)));
  fast.weights.forEach((w, i) => {
    const scale = Math.max(...textbook.weights[i].data.map(Math.abs), 1e-3);
    let worst = 0;
    w.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - textbook.weights[i].data[j]))));
    expect(worst / scale, `weight ${i}`).toBeLessThan(1e-5);
  });
  fast.predicted.forEach((p, i) => expect(Math.abs(p - textbook.predicted[i])).toBeLessThan(1e-5));
}

describe('the fast pass rewrites what it should', () => {
  it('the cnn preset: conv1 → pool1 fused, conv2 → pool2 cropped with a sparse backward; the textbook path runs the layers as written', () => {
    const fast = PRESETS.cnn.build(1);
    expect(fast.runLayers.map((l) => l.constructor)).toEqual([ConvPoolOneChannel, ConvReluMaxPool, Flatten, Dropout, Dense]);
    const textbook = PRESETS.cnn.build(1, { optimize: false });
    expect(textbook.runLayers).toEqual(textbook.layers);
    // The public layers, shapes and parameters are the textbook ones either way.
    expect(fast.layers.map((l) => l.outputShape)).toEqual(textbook.layers.map((l) => l.outputShape));
    expect(fast.countParams()).toBe(34_826);
  });

  it('the saved files are the same either way: they describe the textbook layers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-fast-'));
    try {
      for (const optimize of [true, false]) await PRESETS.cnn.build(3, { optimize }).save(join(dir, String(optimize)));
      for (const file of ['model.json', 'weights.bin']) {
        expect(readFileSync(join(dir, 'true', file)).equals(readFileSync(join(dir, 'false', file))), file).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the mlp preset: the first Dense multiplies only the nonzero pixels', () => {
    expect(PRESETS.mlp.build(1).runLayers.map((l) => l.constructor)).toEqual([Flatten, SparseInputDense, Dense]);
  });

  it('a one-channel conv without a pool is convolved directly; a tiling pool after a ReLU layer scatters in one pass', () => {
    const model = new Sequential(OTHER_MODELS['a pool that does not follow a ReLU, a one-channel conv without one'].layers());
    expect(model.runLayers.map((l) => l.constructor)).toEqual([DirectConv2D, TilingMaxPool, ReLU, ConvReluMaxPool, Flatten, Dense, Softmax]);
  });
});

describe('both paths train to the same losses and weights (SGD with momentum, one seed)', () => {
  for (const [name, spec] of Object.entries(OTHER_MODELS)) {
    it.each(['reference', 'wasm'] as BackendName[])(`${name} (%s)`, (backend) => {
      const x = sparseImages(24, spec.shape, 3);
      const y = Int32Array.from({ length: 24 }, (_, i) => i % spec.classes);
      const [fast, textbook] = trainBothWays((optimize) => new Sequential(spec.layers(), { seed: 5, backend, optimize }), x, y, 8, 3);
      expect(fast.runLayers.some((l, i) => l !== textbook.runLayers[i])).toBe(true);
      expectSameTraining(fast, textbook);
    });
  }

  it.skipIf(!MNIST_DIR).each(['mlp', 'cnn'] as const)('the %s preset on real MNIST digits', async (preset) => {
    const { train } = await loadMnist({ dataDir: MNIST_DIR, limitTrain: 160, limitTest: 1 });
    const labels = Int32Array.from(train.labels);
    const [fast, textbook] = trainBothWays((optimize) => PRESETS[preset].build(7, { optimize }), train.images, labels, 32, 5);
    expectSameTraining(fast, textbook);
  });
});
