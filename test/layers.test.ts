// Every layer's forward and backward pass against TensorFlow.js's values for the same inputs
// (test/fixtures/layer-gradients.json), on both backends.
import { describe, expect, it } from 'vitest';
import { Dense, Conv2D, MaxPooling2D, ReLU, Softmax, SparseCategoricalCrossentropy } from '../src/index.ts';
import type { Layer } from '../src/layers/layer.ts';
import { getBackend, type BackendName } from '../src/backend/index.ts';
import { LayerRig, maxRelError, readFixture, type FixtureArray } from './layer-utils.ts';

interface Case {
  layer: string;
  config?: { units?: number; filters?: number; kernelSize?: [number, number]; strides?: [number, number]; padding?: 'valid' | 'same'; poolSize?: [number, number] };
  [field: string]: unknown;
}

const { cases } = readFixture<{ cases: Case[] }>('layer-gradients.json');
const BACKENDS: BackendName[] = ['reference', 'wasm'];
/** Worst relative error seen per layer type and backend, printed at the end for the record. */
const worst = new Map<string, number>();

function record(key: string, err: number): void {
  worst.set(key, Math.max(worst.get(key) ?? 0, err));
}

function expectClose(key: string, actual: ArrayLike<number>, expected: FixtureArray, tolerance: number): void {
  const err = maxRelError(actual, expected.data);
  record(key, err);
  expect(err).toBeLessThan(tolerance);
}

function makeLayer(c: Case, inputShape: number[]): Layer {
  const cfg = c.config ?? {};
  switch (c.layer) {
    case 'Dense':
      return new Dense({ units: cfg.units!, inputShape });
    case 'Conv2D':
      return new Conv2D({ filters: cfg.filters!, kernelSize: cfg.kernelSize!, strides: cfg.strides, padding: cfg.padding, inputShape });
    case 'MaxPooling2D':
      return new MaxPooling2D({ poolSize: cfg.poolSize, strides: cfg.strides, padding: cfg.padding, inputShape });
    case 'ReLU':
      return new ReLU({ inputShape });
    case 'Softmax':
      return new Softmax({ inputShape });
    default:
      throw new Error(`no layer for fixture ${c.layer}`);
  }
}

const PATHS = BACKENDS.flatMap((backend) => [true, false].map((optimize) => [backend, optimize] as const));

describe.each(PATHS)('layers vs TensorFlow.js (%s backend, optimize: %s)', (backendName, optimize) => {
  const layerCases = cases.map((c, i) => ({ c, i })).filter(({ c }) => c.layer !== 'SoftmaxCrossEntropy');

  it.each(layerCases.map(({ c, i }) => [`${c.layer} #${i} ${JSON.stringify(c.config ?? {})}`, c]))('%s', (_label, c) => {
    const input = c.input as FixtureArray;
    const [batch, ...inputShape] = input.shape;
    const rig = new LayerRig(makeLayer(c, inputShape), batch, backendName, optimize);
    if (c.kernel) rig.setParam('kernel', (c.kernel as FixtureArray).data);
    if (c.bias) rig.setParam('bias', (c.bias as FixtureArray).data);
    const key = `${c.layer} (${backendName}${optimize ? ', fast pass' : ''})`;
    // Convolutions reduce over kh·kw·C terms; allow a little more for them.
    const tol = c.layer === 'Conv2D' ? 1e-4 : 1e-5;

    expect([batch, ...rig.layer.outputShape]).toEqual((c.output as FixtureArray).shape);
    expectClose(key, rig.forward(input.data), c.output as FixtureArray, tol);
    expectClose(key, rig.backward((c.dy as FixtureArray).data), c.dx as FixtureArray, tol);
    if (c.dKernel) expectClose(key, rig.grad('kernel'), c.dKernel as FixtureArray, tol);
    if (c.dBias) expectClose(key, rig.grad('bias'), c.dBias as FixtureArray, tol);
  });

  it.each(cases.filter((c) => c.layer === 'SoftmaxCrossEntropy').map((c, i) => [i, c]))(
    'a Softmax layer, then the cross-entropy of its probabilities #%i: mean loss and dL/dlogits',
    (_i, c) => {
      const logits = c.logits as FixtureArray;
      const [rows, cols] = logits.shape;
      const rig = new LayerRig(new Softmax({ inputShape: [cols] }), rows, backendName, optimize);
      const key = `SoftmaxCrossEntropy (${backendName}${optimize ? ', fast pass' : ''})`;
      expectClose(key, rig.forward(logits.data), c.probabilities as FixtureArray, 1e-5);
      const probs = rig.put(rig.forward(logits.data));
      const labels = rig.arena.allocI32(rows);
      rig.arena.i32At(labels, rows).set(c.labels as number[]);
      const dProbs = rig.arena.allocF32(rows * cols);
      const loss = new SparseCategoricalCrossentropy().compute(rig.model.backend, probs, labels, dProbs, 0, rows, cols, 1 / rows) / rows;
      expect(loss).toBeCloseTo(c.loss as number, 5);
      expectClose(key, rig.backward(rig.read(dProbs, rows * cols)), c.dLogits as FixtureArray, 1e-5);
    },
  );

  it.each(cases.filter((c) => c.layer === 'SoftmaxCrossEntropy').map((c, i) => [i, c]))(
    'softmax + cross-entropy from logits in one kernel #%i: probabilities, mean loss and dL/dlogits',
    (_i, c) => {
      const { arena, kernels } = getBackend(backendName);
      const logits = c.logits as FixtureArray;
      const labels = c.labels as number[];
      const [rows, cols] = logits.shape;
      const mark = arena.mark();
      const x = arena.allocF32(rows * cols);
      const lab = arena.allocI32(rows);
      const probs = arena.allocF32(rows * cols);
      const dLogits = arena.allocF32(rows * cols);
      arena.f32At(x, rows * cols).set(logits.data);
      arena.i32At(lab, rows).set(labels);
      const loss = kernels.softmaxCrossEntropy(x, lab, probs, dLogits, rows, cols, 1 / rows) / rows;
      const key = `SoftmaxCrossEntropy (${backendName})`;
      expectClose(key, arena.f32At(probs, rows * cols), c.probabilities as FixtureArray, 1e-5);
      expectClose(key, arena.f32At(dLogits, rows * cols), c.dLogits as FixtureArray, 1e-5);
      record(key, Math.abs(loss - (c.loss as number)) / Math.abs(c.loss as number));
      expect(loss).toBeCloseTo(c.loss as number, 5);
      arena.release(mark);
    },
  );
});

describe('fixture agreement', () => {
  it('prints the worst relative error per layer type and backend', () => {
    expect(worst.size).toBeGreaterThan(0);
    const lines = [...worst.entries()].sort().map(([k, v]) => `  ${k.padEnd(36)} ${v.toExponential(2)}`);
    console.log(`worst relative error vs TensorFlow.js:\n${lines.join('\n')}`);
  });
});
