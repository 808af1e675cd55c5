// Model files in the TF.js Layers format: files written by TensorFlow.js load and predict what
// TF.js predicted; one epoch of SGD and of Adam reproduces TF.js's weights; save → load round-trips;
// damaged files give errors that name the file and the problem.
import { mkdtempSync, readFileSync, writeFileSync, cpSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModel, Tensor, SGD, Adam, Sequential, Conv2D, MaxPooling2D, Flatten, Dense, Dropout } from '../src/index.ts';
import type { BackendName } from '../src/backend/index.ts';
import { FIXTURES, maxRelError, readFixture } from './layer-utils.ts';

interface IO {
  inputShape: number[];
  input: number[];
  outputShape: number[];
  output: number[];
}

interface TrainSteps {
  input: number[];
  inputShape: number[];
  labels: number[];
  batchSize: number;
  runs: { optimizer: 'sgd' | 'adam'; config: Record<string, number>; loss: number; weights: { name: string; shape: number[]; data: number[] }[] }[];
}

const BACKENDS: BackendName[] = ['reference', 'wasm'];

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'engine-model-'));
  tempDirs.push(dir);
  return dir;
}

describe.each(BACKENDS)('TF.js model files (%s backend)', (backend) => {
  it('loads tfjs-model/ and reproduces the predictions TF.js made', async () => {
    const io = readFixture<IO>('tfjs-model/io.json');
    const model = await loadModel(FIXTURES + 'tfjs-model', { backend });
    expect(model.layers.map((l) => l.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'ReLU', 'Dropout', 'Dense', 'Softmax']);
    const out = model.predict(Tensor.from(io.input, io.inputShape));
    expect(out.shape).toEqual(io.outputShape);
    expect(maxRelError(out.data, io.output)).toBeLessThan(1e-5);
  });

  it('loads tfjs-train-cnn/ and reproduces its predictions', async () => {
    const io = readFixture<IO>('tfjs-train-cnn/io.json');
    const model = await loadModel(FIXTURES + 'tfjs-train-cnn', { backend });
    expect(maxRelError(model.predict(Tensor.from(io.input, io.inputShape)).data, io.output)).toBeLessThan(1e-5);
  });

  const steps = readFixture<TrainSteps>('tfjs-train-cnn/train-steps.json');
  it.each(steps.runs.map((r) => [r.optimizer, r]))('one epoch of %s reproduces every weight TF.js trained', async (_name, run) => {
    const model = await loadModel(FIXTURES + 'tfjs-train-cnn', { backend });
    const optimizer = run.optimizer === 'sgd' ? new SGD({ learningRate: run.config.learningRate }) : new Adam(run.config);
    const n = steps.inputShape[0];
    const oneHot = new Float32Array(n * 4);
    steps.labels.forEach((label, i) => (oneHot[i * 4 + label] = 1));
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const history = await model.fit(Tensor.from(steps.input, steps.inputShape), new Tensor(oneHot, [n, 4]), {
      epochs: 1,
      batchSize: steps.batchSize,
      shuffle: false,
    });
    expect(history.history.loss[0]).toBeCloseTo(run.loss, 5);
    const weights = model.getWeights();
    expect(weights.length).toBe(run.weights.length);
    run.weights.forEach((expected, i) => {
      expect(weights[i].shape).toEqual(expected.shape);
      expect(maxRelError(weights[i].data, expected.data), expected.name).toBeLessThan(1e-5);
    });
  });
});

function smallCnn(seed: number): Sequential {
  return new Sequential(
    [
      new Conv2D({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dropout({ rate: 0.25 }),
      new Dense({ units: 4, activation: 'softmax' }),
    ],
    { seed },
  );
}

describe('save and load', () => {
  const x = Tensor.from(Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i)), [5, 8, 8, 1]);

  it('save → load → predict gives identical outputs, in the TF.js layout', async () => {
    const model = smallCnn(3);
    const dir = tempDir();
    await model.save(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.config.layers[0].config.batch_input_shape).toEqual([null, 8, 8, 1]);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual([
      'conv2d/kernel', 'conv2d/bias', 'dense/kernel', 'dense/bias',
    ]);
    const again = await loadModel(dir);
    expect(again.predict(x).data).toEqual(model.predict(x).data);
    expect(again.summary(null)).toBe(model.summary(null));
  });

  it('a truncated weights.bin is an error naming the file and both sizes', async () => {
    const dir = tempDir();
    await smallCnn(3).save(dir);
    const bytes = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'weights.bin'), bytes.subarray(0, bytes.length - 10));
    await expect(loadModel(dir)).rejects.toThrow(/weights\.bin: \d+ bytes, but the manifest needs \d+/);
  });

  it('a missing weights.bin or model.json is an error naming the file', async () => {
    const dir = tempDir();
    cpSync(FIXTURES + 'tfjs-model/model.json', join(dir, 'model.json'));
    await expect(loadModel(dir)).rejects.toThrow(/weights\.bin: no such file/);
    await expect(loadModel(join(dir, 'nowhere'))).rejects.toThrow(`cannot read model: ${join(dir, 'nowhere', 'model.json')}: no such file`);
  });

  it('a corrupted model.json is an error naming the file', async () => {
    const dir = tempDir();
    await smallCnn(3).save(dir);
    const text = readFileSync(join(dir, 'model.json'), 'utf8');
    writeFileSync(join(dir, 'model.json'), text.slice(0, text.length / 2));
    await expect(loadModel(dir)).rejects.toThrow(/model\.json is not valid JSON/);
  });

  it('names an unknown layer class, an unsupported option and a manifest that does not fit', async () => {
    const edit = async (change: (json: any) => void) => {
      const dir = tempDir();
      await smallCnn(3).save(dir);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      change(json);
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return loadModel(dir);
    };
    await expect(edit((j) => (j.modelTopology.config.layers[1].class_name = 'Conv3D'))).rejects.toThrow(
      /layer 1 \(Conv3D "max_pooling2d"\): unknown layer class "Conv3D"/,
    );
    await expect(edit((j) => (j.modelTopology.config.layers[0].config.dilation_rate = [2, 2]))).rejects.toThrow(/unsupported option dilation_rate \[2,2\]/);
    await expect(edit((j) => (j.modelTopology.config.layers[4].config.activation = 'mish'))).rejects.toThrow(/unsupported activation "mish"/);
    await expect(edit((j) => (j.modelTopology.config.layers[4].config.units = 5))).rejects.toThrow(
      /weight "dense\/kernel" has shape \[27, 4\] but dense\/kernel needs \[27, 5\]/,
    );
    await expect(edit((j) => j.weightsManifest[0].weights.pop())).rejects.toThrow(/lists 3 weights but the topology has 4/);
  });

  it('a save that fails leaves the previous model.json as it was and no temporary files', async () => {
    const dir = tempDir();
    await smallCnn(3).save(dir);
    const before = readFileSync(join(dir, 'model.json'), 'utf8');
    // weights.bin replaced by a folder: renaming the new weights over it fails.
    rmSync(join(dir, 'weights.bin'));
    mkdirSync(join(dir, 'weights.bin'));
    await expect(smallCnn(4).save(dir)).rejects.toThrow();
    expect(readFileSync(join(dir, 'model.json'), 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
