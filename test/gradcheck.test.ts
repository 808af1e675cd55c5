// Numerical gradient checks: for L = Σ y ⊙ r (r random), every layer's backward pass must agree
// with the central difference (L(θ + ε) − L(θ − ε)) / 2ε, for inputs and parameters alike.
// Runs on the reference backend, whose kernels are the plainest statement of the math.
import { describe, expect, it } from 'vitest';
import { Dense, Conv2D, MaxPooling2D, Flatten, Dropout, ReLU, Softmax, Sequential, SGD, Tensor } from '../src/index.ts';
import type { Layer } from '../src/layers/layer.ts';
import { Random } from '../src/random.ts';
import { LayerRig } from './layer-utils.ts';

const EPS = 1e-3;

function randomArray(n: number, rng: Random, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

/** L = Σ y·r in float64, for the layer's current parameters and input x. */
function lossAt(rig: LayerRig, x: Float32Array, r: Float32Array): number {
  const y = rig.forward(x);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
  return sum;
}

function checkGradients(name: string, layer: Layer, batch: number, seed: number, optimize = false): void {
  const rng = new Random(seed);
  const rig = new LayerRig(layer, batch, 'reference', optimize);
  for (const p of layer.params) rig.setParam(p.name, randomArray(p.size, rng, 0.5));
  const x = randomArray(rig.inSize, rng);
  const r = randomArray(rig.outSize, rng);

  rig.forward(x);
  const dx = rig.backward(r);
  const probes: { what: string; analytic: number; perturb: (delta: number) => void }[] = [];
  for (let n = 0; n < 12; n++) {
    const i = rng.int(x.length);
    probes.push({ what: `x[${i}]`, analytic: dx[i], perturb: (d) => (x[i] += d) });
  }
  for (const p of layer.params) {
    const grad = rig.grad(p.name);
    const values = rig.arena.f32At(p.value, p.size).slice();
    for (let n = 0; n < 8; n++) {
      const i = rng.int(p.size);
      probes.push({
        what: `${p.name}[${i}]`,
        analytic: grad[i],
        perturb: (d) => {
          values[i] += d;
          rig.setParam(p.name, values);
        },
      });
    }
  }
  for (const probe of probes) {
    probe.perturb(EPS);
    const plus = lossAt(rig, x, r);
    probe.perturb(-2 * EPS);
    const minus = lossAt(rig, x, r);
    probe.perturb(EPS);
    const numeric = (plus - minus) / (2 * EPS);
    expect(Math.abs(numeric - probe.analytic), `${name} dL/d${probe.what}: numeric ${numeric}, analytic ${probe.analytic}`).toBeLessThan(
      2e-3 + 1e-2 * Math.abs(numeric),
    );
  }
}

describe.each([false, true])('numerical gradient check (reference backend, optimize: %s)', (optimize) => {
  it('Dense, linear / relu / softmax', () => {
    checkGradients('Dense linear', new Dense({ units: 5, inputShape: [7] }), 3, 1, optimize);
    checkGradients('Dense relu', new Dense({ units: 6, activation: 'relu', inputShape: [4] }), 2, 2, optimize);
    checkGradients('Dense softmax', new Dense({ units: 4, activation: 'softmax', inputShape: [5] }), 3, 3, optimize);
    checkGradients('Dense no bias', new Dense({ units: 3, useBias: false, inputShape: [5] }), 2, 4, optimize);
  });

  it('Conv2D, valid / same / strided / relu', () => {
    checkGradients('Conv2D valid', new Conv2D({ filters: 3, kernelSize: 3, inputShape: [5, 6, 2] }), 2, 5, optimize);
    checkGradients('Conv2D same stride 2', new Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', inputShape: [7, 5, 3] }), 2, 6, optimize);
    checkGradients('Conv2D relu 2x1', new Conv2D({ filters: 4, kernelSize: [2, 1], activation: 'relu', inputShape: [4, 4, 1] }), 1, 7, optimize);
  });

  it('MaxPooling2D, valid / same / overlapping windows', () => {
    checkGradients('MaxPool valid', new MaxPooling2D({ poolSize: 2, inputShape: [6, 6, 2] }), 2, 8, optimize);
    checkGradients('MaxPool same 3/2', new MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same', inputShape: [7, 5, 1] }), 2, 9, optimize);
  });

  it('ReLU, Softmax and Flatten', () => {
    checkGradients('ReLU', new ReLU({ inputShape: [9] }), 3, 10, optimize);
    checkGradients('Softmax', new Softmax({ inputShape: [6] }), 4, 11, optimize);
    checkGradients('Flatten', new Flatten({ inputShape: [2, 3, 2] }), 2, 12, optimize);
  });

  it('Dropout passes the gradient through its mask, and is the identity outside training', () => {
    const rig = new LayerRig(new Dropout({ rate: 0.4, inputShape: [50], seed: 1 }), 4, 'reference');
    const x = Float32Array.from({ length: 200 }, (_, i) => 1 + i);
    const y = rig.forward(x, true);
    const dy = Float32Array.from({ length: 200 }, (_, i) => 0.5 - i);
    const dx = rig.backward(dy);
    let dropped = 0;
    for (let i = 0; i < 200; i++) {
      const mask = y[i] / x[i];
      if (mask === 0) dropped++;
      else expect(mask).toBeCloseTo(1 / 0.6, 5);
      expect(dx[i]).toBeCloseTo(dy[i] * mask, 4);
    }
    expect(dropped).toBeGreaterThan(50);
    expect(dropped).toBeLessThan(110);
    expect(rig.forward(x, false)).toEqual(x);
  });
});

// The fast pass replaces layers of a model with ones that take shortcuts no single layer shows: a
// first conv that pools its own output, a pool that does its conv's ReLU backward, a conv computing
// only what its pool reads and skipping the zeros of its dL/dz, a Dense multiplying only nonzero
// pixels. So whole models are checked too, on both paths: dL/dθ from one step of SGD with learning
// rate 1 (θ − θ' = the gradient) against central differences of the loss (evaluate), on images
// three quarters 0.
describe.each([true, false])('numerical gradient check of whole models (reference backend, optimize: %s)', (optimize) => {
  function checkModel(name: string, layers: () => Sequential, shape: number[], seed: number): void {
    const rng = new Random(seed);
    const batch = 4;
    const x = new Tensor(Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, () => (rng.next() < 0.75 ? 0 : rng.next())), [batch, ...shape]);
    const y = Int32Array.from({ length: batch }, (_, i) => i % 3);
    const model = layers();
    model.compile({ optimizer: new SGD({ learningRate: 1 }), loss: 'sparseCategoricalCrossentropy' });
    // Positive biases: with the initial 0, every window of 0 pixels would sit on its ReLU's kink.
    model.setWeights(model.getWeights().map((w) => (w.shape.length === 1 ? new Tensor(w.data.map(() => rng.uniform(0.05, 0.2)), w.shape) : w)));
    const before = model.getWeights();
    model.trainOnBatch(x, y);
    const gradients = model.getWeights().map((w, i) => before[i].data.map((v, j) => v - w.data[j]));
    model.setWeights(before);
    const loss = () => model.evaluate(x, y).loss;
    const tolerance = (numeric: number) => 2e-3 + 1e-2 * Math.abs(numeric);
    before.forEach((w, i) => {
      // Every entry. A ReLU or a pool's winner can switch within ±EPS of a weight (the loss has
      // kinks): there the one-sided differences disagree and the central one means nothing, so
      // such entries are passed over; three quarters of each weight's entries must be checked.
      let checked = 0;
      for (let j = 0; j < w.data.length; j++) {
        const values = w.data.slice();
        const at = (delta: number) => {
          values[j] = w.data[j] + delta;
          model.setWeights(before.map((v, k) => (k === i ? new Tensor(values, v.shape) : v)));
          return loss();
        };
        const [plus, centre, minus] = [at(EPS), at(0), at(-EPS)];
        model.setWeights(before);
        const numeric = (plus - minus) / (2 * EPS);
        if (Math.abs((plus - centre) / EPS - (centre - minus) / EPS) > tolerance(numeric)) continue;
        expect(Math.abs(numeric - gradients[i][j]), `${name} weight ${i}[${j}]: numeric ${numeric}, analytic ${gradients[i][j]}`).toBeLessThan(
          tolerance(numeric),
        );
        checked++;
      }
      expect(checked, `${name} weight ${i}: entries away from kinks, of ${w.data.length}`).toBeGreaterThanOrEqual(0.75 * w.data.length);
    });
  }

  it('a convnet: conv → pool (fused), conv (cropped, sparse backward) → pool, Dense', () => {
    checkModel('convnet', () => new Sequential([
      new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 5, kernelSize: 3, activation: 'relu' }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dense({ units: 3, activation: 'softmax' }),
    ], { backend: 'reference', seed: 2, optimize }), [12, 12, 1], 13);
  });

  it('an MLP whose first Dense multiplies only the nonzero pixels', () => {
    checkModel('mlp', () => new Sequential([
      new Flatten({ inputShape: [6, 6, 1] }),
      new Dense({ units: 8, activation: 'relu' }),
      new Dense({ units: 3, activation: 'softmax' }),
    ], { backend: 'reference', seed: 2, optimize }), [6, 6, 1], 14);
  });
});
