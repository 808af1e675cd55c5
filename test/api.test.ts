// The public entry point exports every name of the contract in ../shared/DESIGN.md, and the
// example there runs as written (on a slice of MNIST, one epoch).
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.ts';
import { MNIST_DIR } from './paths.ts';

describe('src/index.ts', () => {
  it('exports the API of the design contract', () => {
    for (const name of ['Sequential', 'Dense', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'ReLU', 'Softmax', 'SGD', 'Adam', 'Tensor', 'loadMnist', 'loadModel']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it.skipIf(!MNIST_DIR)('runs the contract example: loadMnist, build, compile, fit, evaluate, predict', async () => {
    const { train, test } = await api.loadMnist({ dataDir: MNIST_DIR, limitTrain: 1000, limitTest: 200 });
    expect(train.images.shape).toEqual([1000, 28, 28, 1]);
    const model = new api.Sequential(
      [
        new api.Conv2D({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
        new api.MaxPooling2D({ poolSize: 2 }),
        new api.Flatten(),
        new api.Dropout({ rate: 0.5 }),
        new api.Dense({ units: 10, activation: 'softmax' }),
      ],
      { seed: 42 },
    );
    model.compile({ optimizer: new api.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const history = await model.fit(train.images, train.labels, { epochs: 2, batchSize: 128, validationSplit: 0.1, shuffle: true });
    expect(history.history.loss).toHaveLength(2);
    const { accuracy } = model.evaluate(test.images, test.labels);
    expect(accuracy).toBeGreaterThan(0.5);
    expect(model.predict(test.images).shape).toEqual([200, 10]);
  });
});
