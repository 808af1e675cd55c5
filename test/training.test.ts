// Training end to end on small synthetic data: it learns, it is deterministic, both backends agree,
// and bad input is refused with errors that say what is wrong.
import { describe, expect, it, vi } from 'vitest';
import { getBackend } from '../src/backend/index.ts';
import { Sequential, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Softmax, ReLU, Adam, SGD, Tensor, BinaryCrossentropy, CategoricalCrossentropy } from '../src/index.ts';
import type { BackendName } from '../src/backend/index.ts';
import { Layer, product, type Shape } from '../src/layers/layer.ts';
import { Random } from '../src/random.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { drawAffineParams } from '../src/model/sequential.ts';

/** Three Gaussian blobs in 2-D: a classification task a small MLP should nearly ace. */
function blobs(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Random(seed);
  const centres = [[0, 2], [2, -1], [-2, -1]];
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(3);
    y[i] = c;
    // Box-Muller for normal noise.
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const t = 2 * Math.PI * rng.next();
    x[i * 2] = centres[c][0] + 0.6 * r * Math.cos(t);
    x[i * 2 + 1] = centres[c][1] + 0.6 * r * Math.sin(t);
  }
  return { x: new Tensor(x, [n, 2]), y };
}

/** 8x8 images with one bright bar, horizontal (class 0) or vertical (class 1), on noise. */
function bars(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Random(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const vertical = rng.int(2);
    const at = 1 + rng.int(6);
    y[i] = vertical;
    for (let p = 0; p < 64; p++) x[i * 64 + p] = 0.3 * rng.next();
    for (let j = 0; j < 8; j++) x[i * 64 + (vertical ? j * 8 + at : at * 8 + j)] = 1;
  }
  return { x: new Tensor(x, [n, 8, 8, 1]), y };
}

function mlp(seed: number, backend: BackendName = 'wasm'): Sequential {
  return new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [2] }), new Dense({ units: 3, activation: 'softmax' })], { seed, backend });
}

function cnn(seed: number, backend: BackendName = 'wasm'): Sequential {
  return new Sequential(
    [
      new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 6, kernelSize: 2, padding: 'same' }),
      new ReLU(),
      new Flatten(),
      new Dropout({ rate: 0.3 }),
      new Dense({ units: 2 }),
      new Softmax(),
    ],
    { seed, backend },
  );
}

describe('summary', () => {
  it('the mlp preset, the seed MLP 784-128-10, has 101,770 parameters', () => {
    const model = PRESETS.mlp.build(1);
    const text = model.summary(null);
    expect(model.countParams()).toBe(101_770);
    expect(text).toContain('Total params: 101,770');
    expect(text).toMatch(/dense \(Dense\)\s+\(None, 128\)\s+100,480/);
    expect(text).toMatch(/flatten \(Flatten\)\s+\(None, 784\)\s+0/);
  });

  it('the cnn preset, the Keras MNIST convnet, has 34,826 parameters', () => {
    const model = PRESETS.cnn.build(1);
    expect(model.countParams()).toBe(34_826);
    const text = model.summary(null);
    expect(text).toMatch(/conv2d_1 \(Conv2D\)\s+\(None, 11, 11, 64\)\s+18,496/);
    expect(text).toMatch(/max_pooling2d_1 \(MaxPooling2D\)\s+\(None, 5, 5, 64\)\s+0/);
  });
});

describe('training', () => {
  it('an MLP learns three blobs to > 95% held-out accuracy', async () => {
    const train = blobs(600, 1);
    const test = blobs(300, 2);
    const model = mlp(7);
    model.compile({ optimizer: new Adam({ learningRate: 0.02 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const history = await model.fit(train.x, train.y, { epochs: 15, batchSize: 32, validationSplit: 0.2 });
    expect(history.history.loss[14]).toBeLessThan(history.history.loss[0]);
    expect(history.history.valAccuracy).toHaveLength(15);
    expect(model.evaluate(test.x, test.y).accuracy).toBeGreaterThan(0.95);
  });

  it('a CNN learns horizontal vs vertical bars to > 95%', async () => {
    const train = bars(400, 3);
    const test = bars(200, 4);
    const model = cnn(5);
    model.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
    await model.fit(train.x, train.y, { epochs: 8, batchSize: 16 });
    expect(model.evaluate(test.x, test.y).accuracy).toBeGreaterThan(0.95);
  });

  it('the same seed gives bit-identical weights; another seed does not', async () => {
    const data = bars(96, 6);
    const run = async (seed: number) => {
      const model = cnn(seed);
      model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
      await model.fit(data.x, data.y, { epochs: 2, batchSize: 16 });
      return model.getWeights().map((w) => Array.from(w.data));
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
  });

  it('the WASM and reference backends give the same loss over 20 training steps of a small CNN', async () => {
    const data = bars(20 * 8, 8);
    const losses = async (backend: BackendName) => {
      const model = cnn(9, backend);
      model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
      const out: number[] = [];
      await model.fit(data.x, data.y, { epochs: 1, batchSize: 8, onBatchEnd: (_b, logs) => void out.push(logs.loss) });
      return out;
    };
    const wasm = await losses('wasm');
    const reference = await losses('reference');
    expect(wasm).toHaveLength(20);
    wasm.forEach((loss, i) => expect(Math.abs(loss - reference[i]) / reference[i]).toBeLessThan(1e-4));
  });

  it("a training step allocates nothing: the arena's allocation count is the same after every batch", async () => {
    const data = bars(160, 9);
    const model = cnn(4);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const arena = model.backend.arena;
    const counts: number[] = [];
    await model.fit(data.x, data.y, { epochs: 2, batchSize: 16, randomShift: 1, onBatchEnd: () => void counts.push(arena.allocations) });
    expect(counts).toHaveLength(20);
    expect(new Set(counts).size).toBe(1);
    const before = arena.allocations;
    model.trainOnBatch(data.x.slice(0, 16), data.y.subarray(0, 16));
    model.trainOnBatch(data.x.slice(16, 32), data.y.subarray(16, 32));
    expect(arena.allocations).toBe(before);
  });

  it('no layer computes a dL/dx that nobody uses: Flatten → Dense skips the Dense\'s dx product', () => {
    const kernels = getBackend('reference').kernels;
    const spy = vi.spyOn(kernels, 'gemmNT');
    try {
      const model = new Sequential([new Flatten({ inputShape: [2, 2, 1] }), new Dense({ units: 3, activation: 'relu' }), new Dense({ units: 2, activation: 'softmax' })], { backend: 'reference', seed: 1 });
      model.compile({ optimizer: new SGD(), loss: 'sparseCategoricalCrossentropy' });
      model.trainOnBatch(Tensor.zeros([4, 2, 2, 1]), [0, 1, 0, 1]);
      // Only the second Dense passes a gradient down (to the first Dense); the first passes none.
      expect(spy.mock.calls.map((c) => [c[3], c[4], c[5]])).toEqual([[4, 2, 3]]);
    } finally {
      spy.mockRestore();
    }
  });

  it('stopTraining set from a callback ends fit after the current batch', async () => {
    const data = blobs(200, 3);
    const model = mlp(1);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    let batches = 0;
    const history = await model.fit(data.x, data.y, {
      epochs: 5,
      batchSize: 20,
      onBatchEnd: () => {
        if (++batches === 3) model.stopTraining = true;
      },
    });
    expect(batches).toBe(3);
    expect(history.epoch).toEqual([0]);
  });
});

describe('guard rails', () => {
  it('a layer that cannot take its input names itself and both shapes', () => {
    const model = new Sequential([new Conv2D({ filters: 2, kernelSize: 3, inputShape: [28, 28, 1] }), new Dense({ units: 10 })]);
    expect(() => model.build()).toThrow(/dense \(Dense\): expected input \[features\] \(add a Flatten layer before Dense\), got \[26, 26, 2\]/);
  });

  it('fit refuses data of the wrong shape, mismatched label counts and labels out of range', async () => {
    const model = mlp(1);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const x = Tensor.zeros([4, 2]);
    await expect(model.fit(Tensor.zeros([4, 3]), [0, 1, 2, 0])).rejects.toThrow(/input of shape \[4, 3\] does not match the model's input \[N, 2\] \(first layer dense\)/);
    await expect(model.fit(x, [0, 1, 2])).rejects.toThrow(/4 samples but 3 labels/);
    await expect(model.fit(x, [0, 1, 3, 0])).rejects.toThrow(/label 3 at index 2 is out of range 0-2/);
    await expect(model.fit(x, [0, 1, 0.5, 0])).rejects.toThrow(/label 0.5 at index 2 is not a class index/);
  });

  it('fit before compile is refused; an unknown loss is refused by name', async () => {
    await expect(mlp(1).fit(Tensor.zeros([1, 2]), [0])).rejects.toThrow(/call model.compile/);
    expect(() => mlp(1).compile({ optimizer: new Adam(), loss: 'hinge' as never })).toThrow(/unsupported loss "hinge"/);
  });

  it('a NaN loss stops fit, naming the epoch and batch, before that batch changes any weight', async () => {
    const data = blobs(64, 4);
    data.x.data[40 * 2] = NaN; // sample 40 lands in the third batch of 16 (no shuffling)
    const model = mlp(2);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
    let before: number[][] = [];
    await expect(
      model.fit(data.x, data.y, {
        epochs: 1,
        batchSize: 16,
        shuffle: false,
        onBatchEnd: () => void (before = model.getWeights().map((w) => Array.from(w.data))),
      }),
    ).rejects.toThrow(/loss became NaN at epoch 1, batch 3/);
    expect(model.getWeights().map((w) => Array.from(w.data))).toEqual(before);
  });
});

describe('refusals by name', () => {
  it('unknown or misspelt options of layers, models, compile, fit and optimizers are refused, naming them', async () => {
    expect(() => new Dense({ units: 3, kernelInitializer: 'heNormal' } as never)).toThrow(/Dense: unknown option "kernelInitializer"; the options are name, inputShape, units, activation, useBias/);
    expect(() => new Conv2D({ filters: 2, kernelSize: 3, stride: 2 } as never)).toThrow(/Conv2D: unknown option "stride" \(did you mean "strides"\?\)/);
    expect(() => new Sequential([], { sed: 1 } as never)).toThrow(/Sequential: unknown option "sed" \(did you mean "seed"\?\)/);
    expect(() => new Adam({ lr: 0.1 } as never)).toThrow(/Adam: unknown option "lr"/);
    const model = mlp(1);
    expect(() => model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy', metric: ['accuracy'] } as never)).toThrow(/compile: unknown option "metric" \(did you mean "metrics"\?\)/);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    await expect(model.fit(Tensor.zeros([2, 2]), [0, 1], { epohcs: 3 } as never)).rejects.toThrow(/fit: unknown option "epohcs" \(did you mean "epochs"\?\)/);
  });

  it('a label of 2**32 + 1 is out of range, not wrapped to 1', async () => {
    const model = mlp(1);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    await expect(model.fit(Tensor.zeros([2, 2]), [0, 2 ** 32 + 1])).rejects.toThrow(/label 4294967297 at index 1 is out of range 0-2/);
  });

  it('predict refuses a plain array and NaN inputs, saying what is wrong', () => {
    const model = mlp(1);
    expect(() => model.predict([[0, 1]] as never)).toThrow(/predict: the input must be a Tensor \(Tensor.from\(data, shape\)\), got an array/);
    expect(() => model.predict(Tensor.from([0, 1, NaN, 2], [2, 2]))).toThrow(/predict: input value NaN at flat index 2 \(sample 1\)/);
  });
});

/**
 * A sigmoid layer for these tests alone (the engine's own activations are another file's work):
 * y = 1 / (1 + e^−x), dL/dx = dL/dy · y(1 − y), computed over the arena's views.
 */
class TestSigmoid extends Layer {
  readonly className = 'Activation';
  private y = 0;
  private dx = 0;

  protected computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    this.y = this.allocF32(capacity * product(this.inputShape), 'output');
    this.dx = needInputGrad ? this.allocF32(capacity * product(this.inputShape), 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const n = batch * product(this.inputShape);
    const [xs, ys] = [this.backend.arena.f32At(x, n), this.backend.arena.f32At(this.y, n)];
    for (let i = 0; i < n; i++) ys[i] = 1 / (1 + Math.exp(-xs[i]));
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    const n = batch * product(this.inputShape);
    const arena = this.backend.arena;
    const [dys, ys, dxs] = [arena.f32At(dy, n), arena.f32At(this.y, n), arena.f32At(this.dx, n)];
    for (let i = 0; i < n; i++) dxs[i] = dys[i] * ys[i] * (1 - ys[i]);
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return { activation: 'sigmoid' };
  }
}

/** Points in [−2, 2]²: label 1 inside the circle of radius 1.2 (about 28% of them), else 0. */
function disc(n: number, seed: number): { x: Tensor; y: Float32Array } {
  const rng = new Random(seed);
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = 4 * rng.next() - 2;
    x[2 * i + 1] = 4 * rng.next() - 2;
    y[i] = Math.hypot(x[2 * i], x[2 * i + 1]) < 1.2 ? 1 : 0;
  }
  return { x: new Tensor(x, [n, 2]), y };
}

describe('losses and metrics in fit and evaluate', () => {
  it.each([true, false])('a model ending in sigmoid learns binary labels to > 90%% with binaryCrossentropy (optimize: %s)', async (optimize) => {
    const train = disc(600, 1);
    const test = disc(300, 2);
    const model = new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [2] }), new Dense({ units: 1 }), new TestSigmoid()], { seed: 3, optimize });
    model.compile({ optimizer: new Adam({ learningRate: 0.03 }), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const history = await model.fit(train.x, train.y, { epochs: 40, batchSize: 32, verbose: 0 });
    expect(history.history.loss[39]).toBeLessThan(history.history.loss[0] / 2);
    const result = model.evaluate(test.x, new Tensor(test.y, [300, 1]));
    expect(result.accuracy).toBeGreaterThan(0.9);
    // Accuracy is binary accuracy, the output thresholded at 0.5, as Keras picks it for one sigmoid output.
    const p = model.predict(test.x).data;
    expect(result.accuracy).toBeCloseTo(p.filter((v, i) => (v > 0.5 ? 1 : 0) === test.y[i]).length / 300, 10);
  });

  it('binaryCrossentropy fromLogits trains a linear output; its accuracy thresholds the logit at 0', async () => {
    const train = disc(600, 1);
    const model = new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [2] }), new Dense({ units: 1 })], { seed: 3 });
    model.compile({ optimizer: new Adam({ learningRate: 0.03 }), loss: new BinaryCrossentropy({ fromLogits: true }), metrics: ['accuracy', 'binaryAccuracy'] });
    const history = await model.fit(train.x, train.y, { epochs: 40, batchSize: 32, verbose: 0 });
    expect(history.history.accuracy[39]).toBeGreaterThan(0.9);
    expect(history.history.binaryAccuracy).toEqual(history.history.accuracy);
    const z = model.predict(train.x).data;
    expect(model.evaluate(train.x, train.y).accuracy).toBeCloseTo(z.filter((v, i) => (v > 0 ? 1 : 0) === train.y[i]).length / 600, 10);
  });

  it('meanSquaredError fits a regression; the mse metric equals the loss', async () => {
    const rng = new Random(4);
    const n = 256;
    const x = new Float32Array(n * 2).map(() => 2 * rng.next() - 1);
    const y = new Float32Array(n * 2).map((_, i) => (i % 2 ? 0.5 * x[i - 1] - x[i] : 2 * x[i] + 1));
    const model = new Sequential([new Dense({ units: 2, inputShape: [2] })], { seed: 5 });
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'meanSquaredError', metrics: ['mse'] });
    const history = await model.fit(new Tensor(x, [n, 2]), new Tensor(y, [n, 2]), { epochs: 30, batchSize: 16, verbose: 0, validationSplit: 0.25 });
    expect(history.history.loss[29]).toBeLessThan(1e-3);
    expect(history.history.mse).toEqual(history.history.loss);
    expect(history.history.valMse).toEqual(history.history.valLoss);
    const result = model.evaluate(new Tensor(x, [n, 2]), new Tensor(y, [n, 2]));
    expect(result.mse).toBeCloseTo(result.loss, 12);
    const [kernel, bias] = model.getWeights();
    expectNear(Array.from(kernel.data), [2, 0.5, 0, -1], 0.02);
    expectNear(Array.from(bias.data), [1, 0], 0.02);
  });

  it.each([true, false])('categoricalCrossentropy on one-hot rows trains as sparse labels do (optimize: %s)', async (optimize) => {
    const data = blobs(300, 5);
    const oneHot = new Float32Array(300 * 3);
    data.y.forEach((c, i) => (oneHot[i * 3 + c] = 1));
    const run = async (loss: 'sparseCategoricalCrossentropy' | 'categoricalCrossentropy', y: Int32Array | Tensor) => {
      const model = new Sequential([new Dense({ units: 8, activation: 'relu', inputShape: [2] }), new Dense({ units: 3, activation: 'softmax' })], { seed: 2, optimize });
      model.compile({ optimizer: new Adam({ learningRate: 0.02 }), loss });
      return (await model.fit(data.x, y, { epochs: 5, batchSize: 30, verbose: 0 })).history;
    };
    const dense = await run('categoricalCrossentropy', new Tensor(oneHot, [300, 3]));
    const sparse = await run('sparseCategoricalCrossentropy', data.y);
    expect(dense.accuracy).toEqual(sparse.accuracy);
    expectNear(dense.loss, sparse.loss, 1e-5);
    expect(dense.accuracy[4]).toBeGreaterThan(0.9);
  });

  it('categoricalCrossentropy fromLogits takes soft targets; accuracy compares argmaxes', async () => {
    const model = new Sequential([new Dense({ units: 3, inputShape: [2] })], { seed: 2 });
    model.compile({ optimizer: 'adam', loss: new CategoricalCrossentropy({ fromLogits: true }) });
    const x = Tensor.from([1, 0, 0, 1, -1, -1], [3, 2]);
    const y = Tensor.from([0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8], [3, 3]);
    const before = model.evaluate(x, y);
    model.setWeights([Tensor.from([5, 0, 0, 0, 5, 0], [2, 3]), Tensor.zeros([3])]);
    // Logits [5, 0, 0], [0, 5, 0], [−5, −5, 0]: each row's argmax is its target's.
    const after = model.evaluate(x, y);
    expect(after.accuracy).toBe(1);
    expect(after.loss).toBeLessThan(before.loss);
  });

  it('sparse labels may come as a Tensor [N] or [N, 1]', async () => {
    const model = mlp(1);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    const x = Tensor.from([0, 2, 2, -1, -2, -1], [3, 2]);
    const a = model.evaluate(x, [0, 1, 2]);
    expect(model.evaluate(x, Tensor.from([0, 1, 2], [3]))).toEqual(a);
    expect(model.evaluate(x, Tensor.from([0, 1, 2], [3, 1]))).toEqual(a);
  });

  it('targets that do not suit the loss are refused, naming the loss, the shape or the value', async () => {
    const x = Tensor.zeros([2, 2]);
    const binary = new Sequential([new Dense({ units: 1, inputShape: [2] }), new TestSigmoid()], { seed: 1 });
    binary.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    await expect(binary.fit(x, Tensor.zeros([2, 3]), { verbose: 0 })).rejects.toThrow(/fit: binaryCrossentropy needs targets of the model's output shape \[N, 1\] \(or N values\), got a Tensor of shape \[2, 3\]/);
    await expect(binary.fit(x, [0, 1.5], { verbose: 0 })).rejects.toThrow(/fit: target 1.5 at index 1 \(sample 1\) is outside \[0, 1\]; binaryCrossentropy takes 0\/1 labels or probabilities/);
    await expect(binary.fit(x, [0, NaN], { verbose: 0 })).rejects.toThrow(/fit: target NaN at index 1 \(sample 1\) is not a finite number/);
    expect(() => binary.evaluate(x, [0, 1, 1])).toThrow(/evaluate: 2 samples but 3 targets/);
    expect(() => binary.evaluate(x, 'ab' as never)).toThrow(/evaluate: the labels must be an array, a typed array or a Tensor, got string/);

    const categorical = mlp(1);
    categorical.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await expect(categorical.fit(x, [0, 2], { verbose: 0 })).rejects.toThrow(/fit: categoricalCrossentropy needs a Tensor of targets \[N, 3\], got an array of 2 numbers \(class indices need sparseCategoricalCrossentropy\)/);
    await expect(categorical.fit(x, Tensor.from([1, 0, 0, 0.5, 0, 0], [2, 3]), { verbose: 0 })).rejects.toThrow(/fit: target row 1 sums to 0.5, not 1: \[0.5, 0, 0\]; categoricalCrossentropy takes one-hot rows or probabilities/);
    await expect(categorical.fit(x, Tensor.from([1, 0, 0, 2, -1, 0], [2, 3]), { verbose: 0 })).rejects.toThrow(/fit: target 2 at index 3 \(sample 1\) is outside \[0, 1\]/);

    const sparse = mlp(1);
    sparse.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    expect(() => sparse.evaluate(x, Tensor.from([1, 0, 0, 0, 1, 0], [2, 3]))).toThrow(/evaluate: sparseCategoricalCrossentropy takes one class index per sample, got a Tensor of shape \[2, 3\] \(one-hot rows need categoricalCrossentropy\)/);

    const mse = new Sequential([new Dense({ units: 2, inputShape: [2] })], { seed: 1 });
    mse.compile({ optimizer: 'sgd', loss: 'mse' });
    expect(() => mse.evaluate(x, [1, 2])).toThrow(/evaluate: meanSquaredError needs a Tensor of targets \[N, 2\], got an array of 2 numbers/);
    expect(() => mse.evaluate(x, Tensor.from([1, 2, 3, Infinity], [2, 2]))).toThrow(/evaluate: target Infinity at index 3 \(sample 1\) is not a finite number/);
  });

  it('compile refuses a cross-entropy over classes on a multi-axis output, and metrics it does not have', () => {
    const conv = new Sequential([new Conv2D({ filters: 2, kernelSize: 3, inputShape: [4, 4, 1] })], { seed: 1 });
    expect(() => conv.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' })).toThrow(
      /compile \(sequential, last layer conv2d\): categoricalCrossentropy needs one row of class scores per sample, but the model's output is \[2, 2, 2\]/,
    );
    conv.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    const model = mlp(1);
    expect(() => model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['auc'] })).toThrow(/compile: unsupported metric "auc" \(supported: accuracy, acc, binaryAccuracy, mse\)/);
    expect(() => model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['mse'] })).toThrow(/compile: metric "mse" compares the output with a target per output value; sparseCategoricalCrossentropy takes class indices/);
    expect(() => model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: 'accuracy' as never })).toThrow(/compile: metrics must be an array of names/);
  });
});

describe('fit prints progress as Keras does', () => {
  /** Runs `body` with stdout's writes captured (and stdout shown as a terminal or not). */
  async function captureStdout(tty: boolean, body: () => Promise<unknown>): Promise<string> {
    const chunks: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (chunks.push(String(chunk)), true));
    const isTTY = process.stdout.isTTY;
    process.stdout.isTTY = tty;
    try {
      await body();
    } finally {
      write.mockRestore();
      process.stdout.isTTY = isTTY;
    }
    return chunks.join('');
  }

  const data = blobs(64, 9);
  const fit = (args: object) => {
    const model = mlp(1);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    return model.fit(data.x, data.y, { epochs: 2, batchSize: 16, validationSplit: 0.25, ...args });
  };

  it('verbose 1 (the default) draws a live bar on a terminal, one line per epoch elsewhere', async () => {
    const live = await captureStdout(true, () => fit({}));
    expect(live).toContain('\r');
    expect(live).toMatch(/Epoch 1\/2 \[=+\] 3\/3 .*val_loss \d\.\d{4}/);
    const plain = await captureStdout(false, () => fit({}));
    expect(plain.split('\n').filter(Boolean)).toHaveLength(2);
    expect(plain).not.toContain('\r');
    expect(plain).toMatch(/^Epoch 1\/2  3\/3  \d+\.\ds  loss \d\.\d{4}  acc \d\.\d{4}  val_loss \d\.\d{4}  val_acc \d\.\d{4}\n/);
  });

  it('verbose 2 prints one line per epoch even on a terminal; verbose 0 prints nothing', async () => {
    const lines = await captureStdout(true, () => fit({ verbose: 2 }));
    expect(lines).not.toContain('\r');
    expect(lines.split('\n').filter(Boolean)).toHaveLength(2);
    expect(await captureStdout(true, () => fit({ verbose: 0 }))).toBe('');
    await expect(fit({ verbose: 3 })).rejects.toThrow(/fit: verbose must be 0 \(silent\), 1 \(progress bar\) or 2 \(one line per epoch\), got 3/);
  });
});

/** |a[i] − b[i]| ≤ tol for every i. */
function expectNear(a: number[], b: number[], tol: number): void {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]), `[${i}]: ${v} vs ${b[i]}`).toBeLessThanOrEqual(tol));
}

describe('random affine augmentation (fit augment)', () => {
  const augment = { rotation: 15, zoom: 0.1, shift: 1.5 };

  it('is deterministic for a seed, and another seed trains differently', async () => {
    const data = bars(64, 21);
    const run = async (seed: number) => {
      const model = cnn(seed);
      model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
      await model.fit(data.x, data.y, { epochs: 2, batchSize: 16, augment });
      return model.getWeights().map((w) => Array.from(w.data));
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('feeds the model the gathered batch moved by the kernel, a fresh map per image and step', async () => {
    const data = bars(32, 22);
    const model = cnn(7, 'reference');
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const { kernels, arena } = model.backend;
    const calls: { src: Float32Array; dst: Float32Array; params: Float32Array }[] = [];
    const original = kernels.affineImages;
    const spy = vi.spyOn(kernels, 'affineImages').mockImplementation((src, dst, params, batch, h, w, c) => {
      original(src, dst, params, batch, h, w, c);
      const n = batch * h * w * c;
      calls.push({ src: arena.f32At(src, n).slice(), dst: arena.f32At(dst, n).slice(), params: arena.f32At(params, 6 * batch).slice() });
    });
    try {
      await model.fit(data.x, data.y, { epochs: 2, batchSize: 16, shuffle: false, augment });
    } finally {
      spy.mockRestore();
    }
    expect(calls).toHaveLength(4);
    // Unshuffled, step 0 of each epoch gathers the first 16 images: the plain batch goes in, a moved one comes out.
    expect(Array.from(calls[0].src)).toEqual(Array.from(data.x.data.subarray(0, 16 * 64)));
    expect(Array.from(calls[0].dst)).not.toEqual(Array.from(calls[0].src));
    expect(Array.from(calls[2].src)).toEqual(Array.from(calls[0].src));
    // Different maps for the same images in the next epoch, and per image within a step.
    expect(Array.from(calls[2].params)).not.toEqual(Array.from(calls[0].params));
    expect(Array.from(calls[0].params.subarray(0, 6))).not.toEqual(Array.from(calls[0].params.subarray(6, 12)));
  });

  it('the drawn maps stay within the ranges asked for', () => {
    const out = new Float32Array(6 * 500);
    drawAffineParams(new Random(3), { rotation: 10, zoom: 0.1, shift: 2 }, out, 500);
    for (let i = 0; i < 500; i++) {
      const [a, b, tx, c, d, ty] = out.subarray(6 * i, 6 * i + 6);
      const scale = Math.hypot(a, b); // 1/z
      expect(scale).toBeGreaterThanOrEqual(1 / 1.1 - 1e-6);
      expect(scale).toBeLessThanOrEqual(1 / 0.9 + 1e-6);
      expect(Math.abs(Math.atan2(b, a))).toBeLessThanOrEqual((10 * Math.PI) / 180 + 1e-6);
      expect([c, d]).toEqual([-b, a]);
      // The shift is M⁻¹ applied to (−tx, −ty).
      const sx = (d * -tx - b * -ty) / (a * d - b * c), sy = (-c * -tx + a * -ty) / (a * d - b * c);
      expect(Math.max(Math.abs(sx), Math.abs(sy))).toBeLessThanOrEqual(2 + 1e-4);
    }
  });

  it('refuses unknown keys, bad values, non-image inputs and randomShift alongside', async () => {
    const data = bars(16, 23);
    const model = cnn(1);
    model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const fit = (args: object) => model.fit(data.x, data.y, { verbose: 0, ...args });
    await expect(fit({ augment: { rotaton: 10 } })).rejects.toThrow('fit: augment: unknown option "rotaton" (did you mean "rotation"?)');
    await expect(fit({ augment: { rotation: 200 } })).rejects.toThrow('fit: augment.rotation must be a number of degrees in [0, 180], got 200');
    await expect(fit({ augment: { zoom: 1 } })).rejects.toThrow('fit: augment.zoom must be a fraction in [0, 1), got 1');
    await expect(fit({ augment: { shift: -1 } })).rejects.toThrow('fit: augment.shift must be a number of pixels >= 0, got -1');
    await expect(fit({ augment: { shift: '2' } })).rejects.toThrow('fit: augment.shift must be a number of pixels >= 0, got "2"');
    await expect(fit({ augment: { zoom: NaN } })).rejects.toThrow('fit: augment.zoom must be a fraction in [0, 1), got NaN');
    await expect(fit({ augment: 10 })).rejects.toThrow('fit: augment: options must be an object, got 10');
    await expect(fit({ augment: { shift: 1 }, randomShift: 1 })).rejects.toThrow('fit: randomShift (1) and augment both move the images; give augment.shift instead');
    const flat = mlp(1);
    flat.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
    const points = blobs(8, 1);
    await expect(flat.fit(points.x, points.y, { augment: { rotation: 5 } })).rejects.toThrow('fit: augment needs image inputs [height, width, channels], the model takes [2]');
  });
});

describe('the cnn-bn preset', () => {
  it('has the layers asked for: 197,802 trainable parameters, plus 640 moving statistics (Keras counts both)', () => {
    const model = PRESETS['cnn-bn'].build(1);
    const text = model.summary(null);
    expect(text).toContain('Trainable params: 197,802');
    expect(text).toContain('Non-trainable params: 640');
    expect(model.countParams()).toBe(198_442);
    expect(text).toMatch(/conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+288\n/);
    expect(text).toMatch(/conv2d_3 \(Conv2D\)\s+\(None, 8, 8, 64\)\s+36,864/);
    expect(text).toMatch(/dense \(Dense\)\s+\(None, 128\)\s+131,072/);
    expect(text).toMatch(/batch_normalization_4 \(BatchNormalization\)\s+\(None, 128\)\s+512/);
    expect(model.layers.map((l) => l.className)).toEqual([
      'Conv2D', 'BatchNormalization', 'ReLU', 'Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D',
      'Conv2D', 'BatchNormalization', 'ReLU', 'Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D',
      'Flatten', 'Dense', 'BatchNormalization', 'ReLU', 'Dropout', 'Dense',
    ]);
  });

  it('trains on MNIST with rotation 10, zoom 0.1, shift 2 and a decaying learning rate by default', () => {
    expect(PRESETS['cnn-bn'].datasets.mnist).toMatchObject({ epochs: 15, randomShift: 0, augment: { rotation: 10, zoom: 0.1, shift: 2 }, lrDecay: 0.9 });
  });
});
