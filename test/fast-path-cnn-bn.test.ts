// The fast pass's rewrites for the cnn-bn preset (Winograd convolutions, src/fast/winograd-conv.ts)
// against the textbook layers, in test/fast-path.test.ts's style: each rewrite applies where it
// should, and a model trains to the same losses and weights either way, up to float rounding.
import { describe, expect, it } from 'vitest';
import { Sequential, Dense, Conv2D, MaxPooling2D, Flatten, BatchNormalization, ReLU, SGD, Tensor, loadMnist } from '../src/index.ts';
import type { Layer } from '../src/layers/layer.ts';
import type { BackendName } from '../src/backend/index.ts';
import { Random } from '../src/random.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { DirectConv2D } from '../src/fast/direct-conv.ts';
import { paddedStride, WinogradConv2D } from '../src/fast/winograd-conv.ts';
import { BatchNormRelu } from '../src/fast/batch-norm-relu.ts';
import { MNIST_DIR } from './paths.ts';

function images(n: number, shape: number[], seed: number): Tensor {
  const rng = new Random(seed);
  const size = n * shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: size }, () => rng.next()), [n, ...shape]);
}

/** Trains `steps` batches both ways from one seed; returns each path's losses, final weights and predictions. */
function trainBothWays(build: (optimize: boolean) => Sequential, x: Tensor, y: Int32Array, batch: number, steps: number, learningRate = 0.05) {
  return [true, false].map((optimize) => {
    const model = build(optimize);
    model.compile({ optimizer: new SGD({ learningRate, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const rows = [s * batch, (s + 1) * batch];
      losses.push(model.trainOnBatch(x.slice(rows[0], rows[1]), y.subarray(rows[0], rows[1])).loss);
    }
    const result = { losses, weights: model.getWeights(), predicted: model.predict(x.slice(0, batch)).data, runLayers: model.runLayers };
    model.dispose();
    return result;
  });
}

function expectSameTraining(fast: ReturnType<typeof trainBothWays>[0], textbook: ReturnType<typeof trainBothWays>[0]): void {
  fast.losses.forEach((loss, i) => expect(Math.abs(loss - textbook.losses[i]), `step ${i} loss`).toBeLessThan(1e-5 * Math.max(1, loss)));
  fast.weights.forEach((w, i) => {
    // Biases start at 0 and move by less than 0.01 in three steps, and Σ dz, their gradient, cancels
    // heavily ahead of a BatchNormalization (whose dx sums to 0 over each channel): they are held
    // to 2e-7 absolute.
    let scale = 1e-3, worst = 0;
    for (const v of textbook.weights[i].data) scale = Math.max(scale, Math.abs(v));
    w.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - textbook.weights[i].data[j]))));
    expect(worst, `weight ${i}: worst difference, against 1e-5 of its scale ${scale}`).toBeLessThan(1e-5 * scale + 2e-7);
  });
  fast.predicted.forEach((p, i) => expect(Math.abs(p - textbook.predicted[i])).toBeLessThan(1e-5));
}

/** Odd outputs (the last tiles cut), channels off the SIMD width, a bias, activations, a conv feeding a conv. */
const WINOGRAD_MODEL = (): Layer[] => [
  new Conv2D({ filters: 17, kernelSize: 3, activation: 'relu', inputShape: [9, 8, 1] }),
  new Conv2D({ filters: 18, kernelSize: 3, activation: 'tanh' }), // 17 channels in: Winograd, 5x4 out
  new Conv2D({ filters: 5, kernelSize: 3, useBias: false }), // 18 channels in: Winograd, 3x2 out
  new BatchNormalization(),
  new ReLU(),
  new Flatten(),
  new Dense({ units: 3, activation: 'softmax' }),
];

describe('the cnn-bn rewrites apply where they should', () => {
  it('cnn-bn: every BatchNormalization → ReLU pair is fused', () => {
    const fast = PRESETS['cnn-bn'].build(1);
    expect(fast.runLayers.filter((l) => l instanceof BatchNormRelu)).toHaveLength(5);
    expect(fast.runLayers.some((l) => l instanceof ReLU || l instanceof BatchNormalization)).toBe(false);
    fast.dispose();
  });

  it('cnn-bn: every 3x3 conv with >= 16 input channels; the one-channel first conv, without a bias, is convolved directly', () => {
    const fast = PRESETS['cnn-bn'].build(1);
    const convs = fast.runLayers.filter((l) => l instanceof WinogradConv2D || l instanceof Conv2D || l instanceof DirectConv2D);
    expect(convs.map((l) => l.constructor.name)).toEqual(['DirectConv2D', 'WinogradConv2D', 'WinogradConv2D', 'WinogradConv2D']);
    const textbook = PRESETS['cnn-bn'].build(1, { optimize: false });
    expect(textbook.runLayers).toEqual(textbook.layers);
    expect(fast.countParams()).toBe(textbook.countParams());
    fast.dispose();
    textbook.dispose();
  });

  it('not for strides, padding, other kernel sizes or few channels', () => {
    const cases: Conv2D[] = [
      new Conv2D({ filters: 4, kernelSize: 3, strides: 2, inputShape: [9, 9, 16] }),
      new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', inputShape: [9, 9, 16] }),
      new Conv2D({ filters: 4, kernelSize: 5, inputShape: [9, 9, 16] }),
      new Conv2D({ filters: 4, kernelSize: 3, inputShape: [9, 9, 8] }),
    ];
    for (const conv of cases) {
      const model = new Sequential([conv, new Flatten(), new Dense({ units: 2 })]);
      expect(model.runLayers.some((l) => l instanceof WinogradConv2D)).toBe(false);
      model.dispose();
    }
  });

  it('the 16 matrices never start a multiple of 4 KiB apart (when padding can help)', () => {
    for (const [tiles, width] of [[18_432, 32], [3200, 32], [2048, 64], [25, 17], [1, 1]]) {
      const stride = paddedStride(tiles, width);
      expect(stride).toBeGreaterThanOrEqual(tiles);
      expect(stride - tiles).toBeLessThan(64);
      const offset = (stride * width * 4) % 4096;
      expect(offset >= 256 && offset <= 3840, `${tiles} x ${width}`).toBe(true);
    }
  });
});

describe('both paths train to the same losses and weights (SGD with momentum, one seed)', () => {
  it.each(['reference', 'wasm'] as BackendName[])('Winograd convs with odd outputs, bias, ReLU/tanh, BatchNormalization (%s)', (backend) => {
    const x = images(24, [9, 8, 1], 3);
    const y = Int32Array.from({ length: 24 }, (_, i) => i % 3);
    const [fast, textbook] = trainBothWays((optimize) => new Sequential(WINOGRAD_MODEL(), { seed: 5, backend, optimize }), x, y, 8, 3);
    expect(fast.runLayers.filter((l) => l instanceof WinogradConv2D)).toHaveLength(2);
    expectSameTraining(fast, textbook);
  });

  it.each([1, 2])('Winograd on %i thread(s) gives the same weights run after run', (threads) => {
    const x = images(48, [9, 8, 1], 4);
    const y = Int32Array.from({ length: 48 }, (_, i) => i % 3);
    const run = () => trainBothWays((optimize) => new Sequential(WINOGRAD_MODEL(), { seed: 6, threads, optimize }), x, y, 16, 3)[0];
    const [a, b] = [run(), run()];
    a.weights.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(b.weights[i].data)));
  });

  // MNIST's blank margins make flat regions: the textbook conv gives every position there the same
  // bits, so a max pool's window holds exact ties and takes its first cell, while Winograd's four
  // outputs of a tile come from four different formulas and differ in the last bit, so the pool
  // may take another cell (an equally valid subgradient). At SGD's 0.05 with momentum those
  // different but equal choices move the first layers' weights apart by up to ~1e-3 of their
  // scale within three steps (the BN betas most, being near 0); the gradients of one step agree
  // to 1e-6, and at a learning rate of 0.002 the weights still agree after three steps.
  it.skipIf(!MNIST_DIR)('the cnn-bn preset on real MNIST digits: every gradient of a step', async () => {
    const { train } = await loadMnist({ dataDir: MNIST_DIR, limitTrain: 32, limitTest: 1 });
    const labels = Int32Array.from(train.labels);
    const [fast, textbook] = [true, false].map((optimize) => {
      const model = PRESETS['cnn-bn'].build(7, { optimize });
      model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'sparseCategoricalCrossentropy' });
      model.trainOnBatch(train.images, labels);
      const grads = model.layers.flatMap((l) => l.params.filter((p) => p.trainable !== false))
        .map((p) => Float64Array.from(model.backend.arena.f32At(p.grad, p.shape.reduce((a, b) => a * b, 1))));
      model.dispose();
      return grads;
    });
    expect(fast).toHaveLength(17);
    fast.forEach((g, i) => {
      let scale = 1e-12, worst = 0;
      textbook[i].forEach((v, j) => {
        scale = Math.max(scale, Math.abs(v));
        worst = Math.max(worst, Math.abs(v - g[j]));
      });
      expect(worst / scale, `gradient ${i}`).toBeLessThan(1e-5);
    });
  });

  it.skipIf(!MNIST_DIR)('the cnn-bn preset on 2 threads (its Winograd and BatchNormalization passes split) gives the same weights run after run', async () => {
    const { train } = await loadMnist({ dataDir: MNIST_DIR, limitTrain: 64, limitTest: 1 });
    const labels = Int32Array.from(train.labels);
    const run = () => {
      const model = PRESETS['cnn-bn'].build(9, { threads: 2 });
      model.compile({ optimizer: new SGD({ learningRate: 0.01, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
      for (let s = 0; s < 2; s++) model.trainOnBatch(train.images.slice(32 * s, 32 * s + 32), labels.subarray(32 * s, 32 * s + 32));
      const weights = model.getWeights().map((w) => Array.from(w.data));
      model.dispose();
      return weights;
    };
    expect(run()).toEqual(run());
  });

  it.skipIf(!MNIST_DIR)('the cnn-bn preset on real MNIST digits: three steps', async () => {
    const { train } = await loadMnist({ dataDir: MNIST_DIR, limitTrain: 96, limitTest: 1 });
    const labels = Int32Array.from(train.labels);
    const [fast, textbook] = trainBothWays((optimize) => PRESETS['cnn-bn'].build(7, { optimize }), train.images, labels, 32, 3, 0.002);
    expectSameTraining(fast, textbook);
  });
});
