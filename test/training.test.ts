// Training end to end on small synthetic data: it learns, it is deterministic, both backends agree,
// and bad input is refused with errors that say what is wrong.
import { describe, expect, it, vi } from 'vitest';
import { getBackend } from '../src/backend/index.ts';
import { Sequential, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Softmax, ReLU, Adam, SGD, Tensor } from '../src/index.ts';
import type { BackendName } from '../src/backend/index.ts';
import { Random } from '../src/random.ts';
import { PRESETS } from '../src/cli/presets.ts';

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
    expect(model.countParams).toBe(101_770);
    expect(text).toContain('Total params: 101,770');
    expect(text).toMatch(/dense \(Dense\)\s+\(None, 128\)\s+100,480/);
    expect(text).toMatch(/flatten \(Flatten\)\s+\(None, 784\)\s+0/);
  });

  it('the cnn preset, the Keras MNIST convnet, has 34,826 parameters', () => {
    const model = PRESETS.cnn.build(1);
    expect(model.countParams).toBe(34_826);
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

  it.each(['reference', 'wasm'] as const)(
    "%s: a conv computes only the outputs its 'valid' pool reads, the pool does its ReLU's backward, the conv's backward skips dz's zeros; same predictions and updates",
    (backend) => {
      // 9x9 input → conv 3x3 → 7x7 → pool 2 → 3x3, which reads only the top-left 6x6 of the 7x7.
      // Twin model: a ReLU between them (the identity after a relu conv) keeps the conv whole and
      // its ReLU backward its own.
      const layersOf = (cropped: boolean) => [
        new Conv2D({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [9, 9, 2] }),
        ...(cropped ? [] : [new ReLU()]),
        new MaxPooling2D({ poolSize: 2 }),
        new Flatten(),
        new Dense({ units: 4, activation: 'softmax' }),
      ];
      const rng = new Random(5);
      const x = new Tensor(Float32Array.from({ length: 6 * 81 * 2 }, () => rng.uniform(-1, 1)), [6, 9, 9, 2]);
      const y = [0, 1, 2, 3, 1, 2];
      const kernels = getBackend(backend).kernels;
      const spy = vi.spyOn(kernels, 'gemmNNBias');
      const reluSpy = vi.spyOn(kernels, 'reluBackward');
      const sparseSpy = vi.spyOn(kernels, 'sparseGemmTN');
      const results = [true, false].map((cropped) => {
        const model = new Sequential(layersOf(cropped), { backend, seed: 3 });
        model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
        spy.mockClear();
        reluSpy.mockClear();
        sparseSpy.mockClear();
        const predicted = model.predict(x).data.slice();
        const rows = spy.mock.calls.map((c) => c[4]);
        model.trainOnBatch(x, y);
        return { predicted, rows, reluBackwards: reluSpy.mock.calls.length, sparse: sparseSpy.mock.calls.length, weights: model.getWeights().map((w) => w.data.slice()) };
      });
      spy.mockRestore();
      reluSpy.mockRestore();
      sparseSpy.mockRestore();
      const [cropped, whole] = results;
      // dK from dz's nonzeros (at most one in four: the pool's winners), dbias summed while they
      // are compressed, against the dense gemmTN and colSum.
      expect([cropped.sparse, whole.sparse]).toEqual([1, 0]);
      expect(cropped.rows[0]).toBe(6 * 6 * 6); // the conv's product has a row per computed output position
      expect(whole.rows[0]).toBe(6 * 7 * 7);
      expect(cropped.reluBackwards).toBe(0);
      expect(whole.reluBackwards).toBe(2); // the conv's and the ReLU layer's
      expect(cropped.predicted).toEqual(whole.predicted);
      cropped.weights.forEach((w, i) => {
        for (let j = 0; j < w.length; j++) expect(w[j]).toBeCloseTo(whole.weights[i][j], 6);
      });
      // The public shapes stay Keras's.
      expect(new Sequential(layersOf(true)).build().layers[0].outputShape).toEqual([7, 7, 3]);
    },
  );

  it.each(['reference', 'wasm'] as const)(
    '%s: a Dense fed the images skips their zero pixels, or multiplies them all when few are 0; same predictions and updates',
    (backend) => {
      // Twin model: a ReLU in front (the identity on pixels >= 0) means the Dense no longer reads
      // the model input, so it takes the dense GEMMs.
      const layersOf = (twin: boolean) => [
        ...(twin ? [new ReLU({ inputShape: [6, 6, 1] })] : []),
        new Flatten(twin ? {} : { inputShape: [6, 6, 1] }),
        new Dense({ units: 5, activation: 'relu' }),
        new Dense({ units: 3, activation: 'softmax' }),
      ];
      const rng = new Random(8);
      const images = (zeros: number) =>
        new Tensor(Float32Array.from({ length: 10 * 36 }, () => (rng.next() < zeros ? 0 : rng.next())), [10, 6, 6, 1]);
      const y = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
      const kernels = getBackend(backend).kernels;
      const sparse = vi.spyOn(kernels, 'sparseGemmBias');
      const sparseGrad = vi.spyOn(kernels, 'sparseGemm');
      const dense = vi.spyOn(kernels, 'gemmNNBias');
      try {
        for (const [zeros, expectSparse] of [[0.8, true], [0.5, false]] as const) {
          const x = images(zeros);
          const results = [false, true].map((twin) => {
            const model = new Sequential(layersOf(twin), { backend, seed: 3 });
            model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
            for (const spy of [sparse, sparseGrad, dense]) spy.mockClear();
            const predicted = model.predict(x).data.slice();
            model.trainOnBatch(x, y);
            const calls = { sparse: sparse.mock.calls.length, sparseGrad: sparseGrad.mock.calls.length, denseFirst: dense.mock.calls.filter((c) => c[5] === 36).length };
            return { predicted, calls, weights: model.getWeights().map((w) => w.data.slice()) };
          });
          const [model, twin] = results;
          // predict and the training step's forward; the step's dW = xᵀ·dz.
          expect(model.calls).toEqual(expectSparse ? { sparse: 2, sparseGrad: 1, denseFirst: 0 } : { sparse: 0, sparseGrad: 0, denseFirst: 2 });
          expect(twin.calls).toEqual({ sparse: 0, sparseGrad: 0, denseFirst: 2 });
          model.predicted.forEach((p, i) => expect(p).toBeCloseTo(twin.predicted[i], 6));
          model.weights.forEach((w, i) => {
            for (let j = 0; j < w.length; j++) expect(w[j]).toBeCloseTo(twin.weights[i][j], 6);
          });
        }
      } finally {
        for (const spy of [sparse, sparseGrad, dense]) spy.mockRestore();
      }
    },
  );

  it.each(['reference', 'wasm'] as const)(
    '%s: the first conv pools its own output for the max pool after it; same predictions and updates',
    (backend) => {
      // 11x11 → conv 3x3 → 9x9 → pool 2 → 4x4 (the pool leaves the last row and column unread).
      // Twin model: a ReLU between them keeps the two layers apart.
      const layersOf = (twin: boolean) => [
        new Conv2D({ filters: 5, kernelSize: 3, activation: 'relu', inputShape: [11, 11, 1] }),
        ...(twin ? [new ReLU()] : []),
        new MaxPooling2D({ poolSize: 2 }),
        new Flatten(),
        new Dense({ units: 3, activation: 'softmax' }),
      ];
      const rng = new Random(9);
      const x = new Tensor(Float32Array.from({ length: 6 * 121 }, () => (rng.next() < 0.6 ? 0 : rng.next())), [6, 11, 11, 1]);
      const y = [0, 1, 2, 0, 1, 2];
      const kernels = getBackend(backend).kernels;
      const spies = (['conv2dC1PoolForward', 'conv2dC1PoolKernelGrad', 'maxPoolForward'] as const).map((name) => vi.spyOn(kernels, name));
      try {
        const results = [false, true].map((twin) => {
          const model = new Sequential(layersOf(twin), { backend, seed: 4 });
          model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
          for (const spy of spies) spy.mockClear();
          const predicted = model.predict(x).data.slice();
          model.trainOnBatch(x, y);
          return { predicted, calls: spies.map((spy) => spy.mock.calls.length), weights: model.getWeights().map((w) => w.data.slice()) };
        });
        const [fused, twin] = results;
        expect(fused.calls).toEqual([2, 1, 0]); // predict's and the step's forward; the step's backward
        expect(twin.calls).toEqual([0, 0, 2]);
        expect(fused.predicted).toEqual(twin.predicted);
        fused.weights.forEach((w, i) => {
          for (let j = 0; j < w.length; j++) expect(w[j]).toBeCloseTo(twin.weights[i][j], 6);
        });
        // The public shapes stay Keras's.
        expect(new Sequential(layersOf(false)).build().layers.map((l) => l.outputShape)).toEqual([[9, 9, 5], [4, 4, 5], [80], [3]]);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    },
  );

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

  it('compile refuses a model that does not end in softmax, and fit before compile', async () => {
    const model = new Sequential([new Dense({ units: 3, inputShape: [2] })]);
    expect(() => model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' })).toThrow(/expects the model to end in a softmax.*dense \(Dense\)/);
    await expect(mlp(1).fit(Tensor.zeros([1, 2]), [0])).rejects.toThrow(/call model.compile/);
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
