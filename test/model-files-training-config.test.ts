// save writes the compile settings as TF.js's trainingConfig; loadModel restores them, so a loaded
// model evaluates and trains on at once; a file without them loads uncompiled, as before.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sequential, Dense, Flatten, SGD, Adam, RMSprop, Tensor, loadModel, SparseCategoricalCrossentropy } from '../src/index.ts';
import type { Optimizer } from '../src/optimizers/optimizer.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'engine-model-'));
  dirs.push(d);
  return d;
};
const model = () => new Sequential([new Flatten({ inputShape: [2, 2, 1] }), new Dense({ units: 3, activation: 'softmax' })], { seed: 2 });
const x = Tensor.from(Array.from({ length: 16 }, (_, i) => (i % 5) / 5), [4, 2, 2, 1]);
const y = [0, 1, 2, 1];

describe('trainingConfig', () => {
  it.each([
    ['Adam', new Adam({ learningRate: 0.01 }), { class_name: 'Adam', config: { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }],
    ['SGD', new SGD({ learningRate: 0.1 }), { class_name: 'SGD', config: { learningRate: 0.1 } }],
    ['SGD with momentum', new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }), { class_name: 'Momentum', config: { learningRate: 0.1, momentum: 0.9, useNesterov: true } }],
    ['RMSprop', new RMSprop({ learningRate: 0.001 }), { class_name: 'RMSProp', config: { learningRate: 0.001, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false } }],
  ] as [string, Optimizer, unknown][])('%s: saved in TF.js form, restored by loadModel: evaluate and fit work at once and train as the original', async (_name, optimizer, expected) => {
    const dir = tempDir();
    const original = model();
    original.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await original.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.trainingConfig).toEqual({ loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'], optimizer_config: expected });
    const loaded = await loadModel(dir);
    expect(loaded.evaluate(x, y).loss).toBeCloseTo(original.evaluate(x, y).loss, 6);
    await original.fit(x, y, { epochs: 2, batchSize: 2, shuffle: false, verbose: 0 });
    await loaded.fit(x, y, { epochs: 2, batchSize: 2, shuffle: false, verbose: 0 });
    loaded.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(original.getWeights()[i].data)));
  });

  it('fromLogits is kept (in Keras form); a file without trainingConfig loads uncompiled; a bad one is refused naming the file', async () => {
    const dir = tempDir();
    const m = new Sequential([new Flatten({ inputShape: [2, 2, 1] }), new Dense({ units: 3 })], { seed: 2 });
    m.compile({ optimizer: 'adam', loss: new SparseCategoricalCrossentropy({ fromLogits: true }) });
    await m.save(dir);
    const loaded = await loadModel(dir);
    expect(loaded.loss?.fromLogits).toBe(true);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    delete json.trainingConfig;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadModel(dir).then((l) => l.evaluate(x, y))).rejects.toThrow(/call model.compile/);
    json.trainingConfig = { loss: 'hinge', metrics: [], optimizer_config: { class_name: 'Adagrad', config: {} } };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(/model\.json: trainingConfig: unsupported optimizer "Adagrad"/);
  });
});
