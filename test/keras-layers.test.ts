// The Keras core layers (BatchNormalization, AveragePooling2D, GlobalAveragePooling2D, Activation,
// LeakyReLU, Reshape) and the activations of Dense and Conv2D:
// - forward and backward against TensorFlow.js's values (test/fixtures/keras-core-gradients.json:
//   gradients of sum(output · dy); for BatchNormalization the inference output from the moving
//   statistics, the training output from the batch's mean and biased variance, and the moving
//   statistics after one training call), on both backends and both paths;
// - numerical gradient checks (central differences of L = Σ y·r);
// - the configs TF.js writes (test/fixtures/tfjs-bn-cnn/model.json) and the errors for bad options;
// - the TF.js model of tfjs-bn-cnn/, built layer by layer: its predictions, and one epoch of SGD
//   (with and without momentum) and Adam reproducing TF.js's weights and moving statistics.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Activation, Adam, AveragePooling2D, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, LeakyReLU, Reshape,
  Sequential, SGD, Tensor, ACTIVATION_NAMES, type ActivationName,
} from '../src/index.ts';
import type { Layer } from '../src/layers/layer.ts';
import type { BackendName } from '../src/backend/index.ts';
import { Random } from '../src/random.ts';
import { windowGeometry } from '../src/layers/geometry.ts';
import { FIXTURES, LayerRig, maxRelError, readFixture, type FixtureArray } from './layer-utils.ts';

interface Case {
  layer: string;
  config?: Record<string, unknown>;
  [field: string]: unknown;
}

const { cases } = readFixture<{ cases: Case[] }>('keras-core-gradients.json');
const LAYERS = ['BatchNormalization', 'AveragePooling2D', 'GlobalAveragePooling2D', 'Activation', 'LeakyReLU'];
const PATHS = (['reference', 'wasm'] as BackendName[]).flatMap((backend) => [false, true].map((optimize) => [backend, optimize] as const));
const arr = (c: Case, field: string) => c[field] as FixtureArray;

function makeLayer(c: Case, inputShape: number[]): Layer {
  const cfg = c.config ?? {};
  switch (c.layer) {
    case 'BatchNormalization':
      return new BatchNormalization({ momentum: cfg.momentum as number, epsilon: cfg.epsilon as number, inputShape });
    case 'AveragePooling2D':
      return new AveragePooling2D({ poolSize: cfg.poolSize as [number, number], strides: cfg.strides as [number, number], padding: cfg.padding as 'valid' | 'same', inputShape });
    case 'GlobalAveragePooling2D':
      return new GlobalAveragePooling2D({ inputShape });
    case 'Activation':
      return new Activation({ activation: cfg.activation as ActivationName, inputShape });
    case 'LeakyReLU':
      return new LeakyReLU({ alpha: cfg.alpha as number, inputShape });
    default:
      throw new Error(`no layer for fixture ${c.layer}`);
  }
}

/** Flat indices of the input cells that only whole windows ('same' pooling) cover. */
function fullWindowCells([h, w, ch]: number[], { poolSize: [ph, pw], strides: [sh, sw] }: { poolSize: [number, number]; strides: [number, number] }, batch: number): number[] {
  const { outH, outW, padTop, padLeft } = windowGeometry(h, w, ph, pw, sh, sw, 'same');
  const whole = (o: number, p: number, k: number, s: number, n: number) => o * s - p >= 0 && o * s - p + k <= n;
  const coveredWhole = (i: number, p: number, k: number, s: number, n: number, outs: number) =>
    Array.from({ length: outs }, (_, o) => o).filter((o) => i >= o * s - p && i < o * s - p + k).every((o) => whole(o, p, k, s, n));
  const cells: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!coveredWhole(y, padTop, ph, sh, h, outH) || !coveredWhole(x, padLeft, pw, sw, w, outW)) continue;
        for (let c = 0; c < ch; c++) cells.push(((b * h + y) * w + x) * ch + c);
      }
    }
  }
  return cells;
}

function expectFixture(actual: ArrayLike<number>, expected: FixtureArray, what: string, tol = 1e-5): void {
  expect(maxRelError(actual, expected.data), what).toBeLessThan(tol);
}

describe.each(PATHS)('Keras core layers vs TensorFlow.js (%s backend, optimize: %s)', (backend, optimize) => {
  const layerCases = cases.map((c, i) => [`${c.layer} #${i} ${JSON.stringify(c.config ?? {})}`, c] as const).filter(([, c]) => LAYERS.includes(c.layer));

  it.each(layerCases)('%s', (_label, c) => {
    const input = arr(c, 'input');
    const [batch, ...inputShape] = input.shape;
    const rig = new LayerRig(makeLayer(c, inputShape), batch, backend, optimize);
    if (c.layer === 'BatchNormalization') {
      for (const [name, field] of [['gamma', 'gamma'], ['beta', 'beta'], ['moving_mean', 'movingMean'], ['moving_variance', 'movingVariance']] as const) {
        rig.setParam(name, arr(c, field).data);
      }
      const moving = (name: 'moving_mean' | 'moving_variance') => rig.read(rig.layer.params.find((p) => p.name === name)!.value, inputShape.at(-1)!);
      expectFixture(rig.forward(input.data, false), arr(c, 'outputInference'), 'inference output');
      expectFixture(moving('moving_mean'), arr(c, 'movingMean'), 'inference leaves the moving mean');
      expectFixture(rig.forward(input.data, true), arr(c, 'outputTraining'), 'training output');
      expectFixture(moving('moving_variance'), arr(c, 'movingVariance'), 'the statistics move only once the step goes on to backward');
      expectFixture(rig.backward(arr(c, 'dy').data), arr(c, 'dx'), 'dx');
      expectFixture(moving('moving_mean'), arr(c, 'movingMeanAfter'), 'moving mean after');
      expectFixture(moving('moving_variance'), arr(c, 'movingVarianceAfter'), 'moving variance after');
      expectFixture(rig.grad('gamma'), arr(c, 'dGamma'), 'dGamma');
      expectFixture(rig.grad('beta'), arr(c, 'dBeta'), 'dBeta');
      // The moving statistics have no gradient: their slots in the gradient block stay 0.
      expect(Array.from(rig.grad('moving_mean')).concat(Array.from(rig.grad('moving_variance'))).every((g) => g === 0)).toBe(true);
      return;
    }
    expect([batch, ...rig.layer.outputShape]).toEqual(arr(c, 'output').shape);
    expectFixture(rig.forward(input.data), arr(c, 'output'), 'output');
    const dx = rig.backward(arr(c, 'dy').data);
    if (c.config?.padding !== 'same') return expectFixture(dx, arr(c, 'dx'), 'dx');
    // TF.js's avgPool gradient divides every window by its full size, also the border windows its
    // forward pass averaged over fewer cells: not the gradient of its own output. Ours is (the
    // numerical checks below hold it), so the two agree only on the cells no border window covers.
    const inside = fullWindowCells(inputShape, c.config as { poolSize: [number, number]; strides: [number, number] }, batch);
    expect(inside.length).toBeGreaterThan(0);
    expectFixture(inside.map((i) => dx[i]), { shape: [], data: inside.map((i) => arr(c, 'dx').data[i]) }, 'dx away from the border');
  });

  // Dense and Conv2D with an identity kernel and no bias compute act(x): their own activation
  // paths must reproduce the Activation fixtures, forward and backward.
  const activationCases = cases.filter((c) => c.layer === 'Activation').map((c) => [c.config!.activation as string, c] as const);
  it.each(activationCases)('Dense and a 1x1 Conv2D with activation %s', (name, c) => {
    const input = arr(c, 'input');
    const [batch, units] = input.shape;
    const identity = Array.from({ length: units * units }, (_, i) => (i % (units + 1) === 0 ? 1 : 0));
    const layers = [
      new Dense({ units, activation: name as ActivationName, useBias: false, inputShape: [units] }),
      new Conv2D({ filters: units, kernelSize: 1, activation: name as ActivationName, useBias: false, inputShape: [1, 1, units] }),
    ];
    for (const layer of layers) {
      const rig = new LayerRig(layer, batch, backend, optimize);
      rig.setParam('kernel', identity);
      expectFixture(rig.forward(input.data), arr(c, 'output'), `${layer.className} output`);
      expectFixture(rig.backward(arr(c, 'dy').data), arr(c, 'dx'), `${layer.className} dx`);
    }
  });
});

// ---- numerical gradient checks ----

const EPS = 1e-3;

function randomArray(n: number, rng: Random, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

/**
 * Every input and trainable parameter probed: backward's gradient against (L(θ + ε) − L(θ − ε)) / 2ε,
 * L = Σ y·r, in training or inference mode.
 */
function checkGradients(name: string, layer: Layer, batch: number, seed: number, opts: { training?: boolean; scale?: number } = {}): void {
  const { training = true, scale = 1 } = opts;
  const rng = new Random(seed);
  const rig = new LayerRig(layer, batch, 'reference');
  const trainable = layer.params.filter((p) => p.trainable !== false);
  for (const p of layer.params) rig.setParam(p.name, Float32Array.from(randomArray(p.size, rng, 0.5), (v) => (p.name === 'moving_variance' ? 1 + v : v)));
  const x = randomArray(rig.inSize, rng, scale);
  const r = randomArray(rig.outSize, rng, 1);
  const loss = () => rig.forward(x, training).reduce((sum, y, i) => sum + y * r[i], 0);

  loss();
  const dx = rig.backward(r);
  const probes: { what: string; analytic: number; perturb: (delta: number) => void }[] = [];
  for (let n = 0; n < 12; n++) {
    const i = rng.int(x.length);
    probes.push({ what: `x[${i}]`, analytic: dx[i], perturb: (d) => (x[i] += d) });
  }
  for (const p of trainable) {
    const grad = rig.grad(p.name);
    const values = rig.read(p.value, p.size);
    for (let n = 0; n < 6; n++) {
      const i = rng.int(p.size);
      probes.push({ what: `${p.name}[${i}]`, analytic: grad[i], perturb: (d) => rig.setParam(p.name, values.map((v, j) => (j === i ? (values[i] += d) : v))) });
    }
  }
  for (const probe of probes) {
    probe.perturb(EPS);
    const plus = loss();
    probe.perturb(-2 * EPS);
    const minus = loss();
    probe.perturb(EPS);
    const numeric = (plus - minus) / (2 * EPS);
    expect(Math.abs(numeric - probe.analytic), `${name} dL/d${probe.what}: numeric ${numeric}, analytic ${probe.analytic}`).toBeLessThan(2e-3 + 1e-2 * Math.abs(numeric));
  }
}

describe('numerical gradient checks (reference backend)', () => {
  it.each(ACTIVATION_NAMES.filter((a) => a !== 'linear'))('Activation %s, Dense and Conv2D with it', (name) => {
    checkGradients(`Activation ${name}`, new Activation({ activation: name, inputShape: [4, 5] }), 3, 20, { scale: 3 });
    checkGradients(`Dense ${name}`, new Dense({ units: 4, activation: name, inputShape: [6] }), 3, 21);
    checkGradients(`Conv2D ${name}`, new Conv2D({ filters: 3, kernelSize: 2, activation: name, inputShape: [3, 4, 2] }), 2, 22);
  });

  it('LeakyReLU, default and other slopes', () => {
    checkGradients('LeakyReLU', new LeakyReLU({ inputShape: [9] }), 3, 23);
    checkGradients('LeakyReLU 0.05', new LeakyReLU({ alpha: 0.05, inputShape: [2, 2, 3] }), 2, 24);
  });

  it('BatchNormalization after a dense layer and after a conv, training and inference, with and without center and scale', () => {
    checkGradients('BN dense', new BatchNormalization({ inputShape: [5] }), 6, 25);
    checkGradients('BN conv', new BatchNormalization({ inputShape: [3, 4, 3] }), 2, 26);
    checkGradients('BN inference', new BatchNormalization({ inputShape: [3, 2, 4] }), 2, 27, { training: false });
    checkGradients('BN no center', new BatchNormalization({ center: false, inputShape: [4] }), 5, 28);
    checkGradients('BN no scale', new BatchNormalization({ scale: false, inputShape: [4] }), 5, 29);
    checkGradients('BN neither', new BatchNormalization({ center: false, scale: false, epsilon: 0.1, inputShape: [2, 2, 2] }), 3, 30);
  });

  it("AveragePooling2D 'valid', 'same' with strides; GlobalAveragePooling2D; Reshape", () => {
    checkGradients('AvgPool valid', new AveragePooling2D({ poolSize: 2, inputShape: [4, 6, 2] }), 2, 31);
    checkGradients('AvgPool same 3/2', new AveragePooling2D({ poolSize: 3, strides: 2, padding: 'same', inputShape: [7, 5, 3] }), 2, 32);
    checkGradients('AvgPool overlapping', new AveragePooling2D({ poolSize: [3, 2], strides: 1, inputShape: [5, 4, 1] }), 1, 33);
    checkGradients('GlobalAvgPool', new GlobalAveragePooling2D({ inputShape: [3, 5, 4] }), 3, 34);
    checkGradients('Reshape', new Reshape({ targetShape: [3, -1], inputShape: [2, 3, 2] }), 2, 35);
  });
});

// ---- configs, shapes, options ----

interface ModelJson {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
}
const BN_CNN = FIXTURES + 'tfjs-bn-cnn/';
const modelJson = JSON.parse(readFileSync(BN_CNN + 'model.json', 'utf8')) as ModelJson;

/** The layers of tfjs-bn-cnn/model.json built from their configs, as a loader would. */
function bnCnnLayers(): Layer[] {
  return modelJson.modelTopology.config.layers.map(({ class_name: cls, config: c }) => {
    const name = c.name as string;
    const inputShape = c.batch_input_shape ? (c.batch_input_shape as number[]).slice(1) : undefined;
    switch (cls) {
      case 'Conv2D':
        return new Conv2D({ name, inputShape, filters: c.filters as number, kernelSize: c.kernel_size as [number, number], strides: c.strides as [number, number],
          padding: c.padding as 'same', activation: c.activation as ActivationName, useBias: c.use_bias as boolean });
      case 'BatchNormalization':
        return new BatchNormalization({ name, axis: c.axis as number, momentum: c.momentum as number, epsilon: c.epsilon as number, center: c.center as boolean, scale: c.scale as boolean });
      case 'Activation':
        return new Activation({ name, activation: c.activation as ActivationName });
      case 'AveragePooling2D':
        return new AveragePooling2D({ name, poolSize: c.pool_size as [number, number], strides: c.strides as [number, number], padding: c.padding as 'valid' });
      case 'LeakyReLU':
        return new LeakyReLU({ name, alpha: c.alpha as number });
      case 'GlobalAveragePooling2D':
        return new GlobalAveragePooling2D({ name });
      case 'Dense':
        return new Dense({ name, units: c.units as number, activation: c.activation as ActivationName, useBias: c.use_bias as boolean });
      default:
        throw new Error(`unexpected layer ${cls}`);
    }
  });
}

describe('configs and options', () => {
  it('getConfig gives the configs TF.js wrote for tfjs-bn-cnn (initializers: Keras defaults, not the seeded ones there)', () => {
    const model = new Sequential(bnCnnLayers(), { backend: 'reference' });
    modelJson.modelTopology.config.layers.forEach(({ class_name: cls, config }, i) => {
      const layer = model.layers[i];
      expect(layer.className).toBe(cls);
      const { name: _name, trainable: _trainable, batch_input_shape: _shape, dtype: _dtype, ...expected } = config;
      const actual = layer.getConfig();
      expect(Object.keys(actual).sort(), cls).toEqual(Object.keys(expected).sort());
      for (const [key, value] of Object.entries(expected)) {
        if (!key.endsWith('_initializer')) expect(actual[key], `${cls}.${key}`).toEqual(value);
      }
    });
    expect(new BatchNormalization().getConfig()).toMatchObject({
      axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true,
      gamma_initializer: { class_name: 'Ones', config: {} }, moving_variance_initializer: { class_name: 'Ones', config: {} },
      beta_initializer: { class_name: 'Zeros', config: {} }, moving_mean_initializer: { class_name: 'Zeros', config: {} },
    });
    expect(new LeakyReLU().getConfig()).toEqual({ alpha: 0.3 });
    expect(new Reshape({ targetShape: [2, -1] }).getConfig()).toEqual({ target_shape: [2, -1] });
  });

  it('names the layers as Keras does and counts BatchNormalization weights as TF.js does', () => {
    const model = new Sequential([
      new BatchNormalization({ inputShape: [4, 4, 3] }), new LeakyReLU(), new AveragePooling2D(), new GlobalAveragePooling2D(), new Reshape({ targetShape: [3, 1] }),
    ], { backend: 'reference' }).build();
    expect(model.layers.map((l) => l.name)).toEqual(['batch_normalization', 'leaky_re_lu', 'average_pooling2d', 'global_average_pooling2d', 'reshape']);
    const bn = model.layers[0];
    expect(bn.params.map((p) => [p.name, p.shape, p.trainable ?? true])).toEqual([
      ['gamma', [3], true], ['beta', [3], true], ['moving_mean', [3], false], ['moving_variance', [3], false],
    ]);
    expect(model.getWeights().slice(0, 4).map((w) => Array.from(w.data))).toEqual([[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]);
    expect(model.outputShape).toEqual([3, 1]);
    const plain = new Sequential([new BatchNormalization({ center: false, scale: false, inputShape: [2] })], { backend: 'reference' }).build();
    expect(plain.layers[0].params.map((p) => p.name)).toEqual(['moving_mean', 'moving_variance']);
  });

  it('a training step stopped by a NaN loss leaves the moving statistics as they were', () => {
    const model = new Sequential([new BatchNormalization({ inputShape: [3] }), new Dense({ units: 2, activation: 'softmax' })], { backend: 'reference', seed: 1 });
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
    const before = model.getWeights();
    expect(() => model.trainOnBatch(Tensor.from([1, 2, 3, 4, NaN, 6], [2, 3]), [0, 1])).toThrow(/loss became NaN/);
    expect(model.getWeights()).toEqual(before);
    model.trainOnBatch(Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), [0, 1]);
    const stat = (name: string) => model.backend.arena.f32At(model.layers[0].params.find((p) => p.name === name)!.value, 3);
    const [movingMean, movingVariance] = [stat('moving_mean'), stat('moving_variance')];
    expectFixture(movingMean, { shape: [3], data: [0.025, 0.035, 0.045] }, 'moving mean: 0.99·0 + 0.01·[2.5, 3.5, 4.5]');
    expectFixture(movingVariance, { shape: [3], data: [0.99 + 0.0225, 0.99 + 0.0225, 0.99 + 0.0225] }, 'moving variance: 0.99·1 + 0.01·2.25');
  });

  it('shapes: Reshape with -1, GlobalAveragePooling2D to [C], average pooling like max pooling', () => {
    const outputShape = (layer: Layer) => new Sequential([layer], { backend: 'reference' }).outputShape;
    expect(outputShape(new Reshape({ targetShape: [-1, 4], inputShape: [2, 3, 4] }))).toEqual([6, 4]);
    expect(outputShape(new Reshape({ targetShape: [24], inputShape: [2, 3, 4] }))).toEqual([24]);
    expect(outputShape(new GlobalAveragePooling2D({ inputShape: [5, 4, 3] }))).toEqual([3]);
    expect(outputShape(new AveragePooling2D({ poolSize: 3, strides: 2, padding: 'same', inputShape: [7, 7, 2] }))).toEqual([4, 4, 2]);
    expect(outputShape(new AveragePooling2D({ inputShape: [5, 5, 1] }))).toEqual([2, 2, 1]);
  });

  it('bad options and shapes are refused, naming the layer, the option and the value', () => {
    const build = (layer: Layer) => () => new Sequential([layer], { backend: 'reference' }).build();
    expect(() => new Activation({ activation: 'sigmoidd' as ActivationName })).toThrow(/Activation: unsupported activation "sigmoidd" \(supported: linear, relu, softmax, sigmoid, .*hardSigmoid\)/);
    expect(() => new Activation({} as never)).toThrow('Activation: the activation option is required');
    expect(() => new Dense({ units: 2, activation: 'hard_sigmoid' as ActivationName })).toThrow('Dense: unsupported activation "hard_sigmoid"');
    expect(() => new Activation({ activation: 'tanh', alpha: 1 } as never)).toThrow('Activation: unknown option "alpha"');
    expect(() => new LeakyReLU({ alpha: -0.1 })).toThrow('LeakyReLU: alpha must be a finite number >= 0, got -0.1');
    expect(() => new LeakyReLU({ alhpa: 0.1 } as never)).toThrow('LeakyReLU: unknown option "alhpa" (did you mean "alpha"?)');
    expect(() => new BatchNormalization({ momentum: 1.5 })).toThrow('BatchNormalization: momentum must be in [0, 1], got 1.5');
    expect(() => new BatchNormalization({ epsilon: 0 })).toThrow('BatchNormalization: epsilon must be a positive number, got 0');
    expect(() => new BatchNormalization({ center: 'yes' as never })).toThrow('BatchNormalization: center must be true or false, got yes');
    expect(() => new BatchNormalization({ beta_initializer: 'ones' } as never)).toThrow('BatchNormalization: unknown option "beta_initializer"');
    expect(build(new BatchNormalization({ axis: 1, inputShape: [4, 4, 3] }))).toThrow('batch_normalization (BatchNormalization): unsupported axis 1; only the last axis (-1 or 3) is supported');
    expect(build(new BatchNormalization({ axis: 3, inputShape: [4, 4, 3] }))).not.toThrow();
    expect(() => new AveragePooling2D({ poolSize: 0 })).toThrow('AveragePooling2D: poolSize must be a positive integer or a pair of them, got 0');
    expect(() => new AveragePooling2D({ padding: 'full' as never })).toThrow('AveragePooling2D: padding must be "valid" or "same", got "full"');
    expect(build(new AveragePooling2D({ poolSize: 3, inputShape: [2, 5, 1] }))).toThrow("average_pooling2d (AveragePooling2D): expected input at least 3x3 pixels for a 3x3 'valid' pool, got [2, 5, 1]");
    expect(build(new AveragePooling2D({ inputShape: [8] }))).toThrow('average_pooling2d (AveragePooling2D): expected input [height, width, channels], got [8]');
    expect(build(new GlobalAveragePooling2D({ inputShape: [4, 4] }))).toThrow('global_average_pooling2d (GlobalAveragePooling2D): expected input [height, width, channels], got [4, 4]');
    expect(() => new Reshape({ targetShape: [-1, -1] })).toThrow('Reshape: targetShape must be a non-empty array of positive integers with at most one -1, got [-1,-1]');
    expect(() => new Reshape({ targetShape: [0, 2] })).toThrow('got [0,2]');
    expect(() => new Reshape({} as never)).toThrow('got undefined');
    expect(build(new Reshape({ targetShape: [5, -1], inputShape: [2, 3] }))).toThrow('reshape (Reshape): cannot reshape [2, 3] (6 values) into [5, -1]');
    expect(build(new Reshape({ targetShape: [4], inputShape: [2, 3] }))).toThrow('reshape (Reshape): cannot reshape [2, 3] (6 values) into [4]');
  });
});

// ---- a whole model TF.js trained: tfjs-bn-cnn/ ----

interface TrainSteps {
  input: number[];
  inputShape: number[];
  labels: number[];
  batchSize: number;
  runs: { optimizer: string; config: Record<string, number>; loss: number; weights: FixtureArray[] }[];
}

/** The tfjs-bn-cnn model with TF.js's saved weights; `tfjsOrder` lists its params as TF.js's getWeights() does. */
function bnCnn(backend: BackendName, optimize: boolean) {
  const model = new Sequential(bnCnnLayers(), { backend, optimize });
  const params = model.params();
  const tfjsOrder = [...params.filter((p) => p.trainable !== false), ...params.filter((p) => p.trainable === false)];
  const manifest = modelJson.weightsManifest[0];
  const bin = readFileSync(BN_CNN + manifest.paths[0]);
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let offset = 0;
  manifest.weights.forEach((w, i) => {
    expect(model.weightName(tfjsOrder[i])).toBe(w.name);
    expect(tfjsOrder[i].shape).toEqual(w.shape);
    model.backend.arena.f32At(tfjsOrder[i].value, tfjsOrder[i].size).set(values.subarray(offset, offset + tfjsOrder[i].size));
    offset += tfjsOrder[i].size;
  });
  expect(offset).toBe(values.length);
  return { model, tfjsOrder };
}

describe.each(PATHS)('the tfjs-bn-cnn model, built layer by layer (%s backend, optimize: %s)', (backend, optimize) => {
  it('predicts what TF.js predicted (inference: moving statistics)', () => {
    const io = readFixture<{ inputShape: number[]; input: number[]; output: number[] }>('tfjs-bn-cnn/io.json');
    const { model } = bnCnn(backend, optimize);
    expectFixture(model.predict(Tensor.from(io.input, io.inputShape)).data, { shape: [], data: io.output }, 'predictions');
  });

  const steps = readFixture<TrainSteps>('tfjs-bn-cnn/train-steps.json');
  const runs = steps.runs.filter((r) => r.optimizer !== 'rmsprop').map((r) => [r.optimizer, r] as const);
  it.each(runs)('one epoch of %s reproduces every weight TF.js trained, the moved statistics included', async (_name, run) => {
    const { model, tfjsOrder } = bnCnn(backend, optimize);
    const optimizer = run.optimizer === 'adam' ? new Adam(run.config) : new SGD(run.config);
    model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
    const history = await model.fit(Tensor.from(steps.input, steps.inputShape), steps.labels, { epochs: 1, batchSize: steps.batchSize, shuffle: false });
    expect(history.history.loss[0]).toBeCloseTo(run.loss, 5);
    run.weights.forEach((expected, i) => {
      const p = tfjsOrder[i];
      expectFixture(model.backend.arena.f32At(p.value, p.size), expected, model.weightName(p));
    });
  });
});
