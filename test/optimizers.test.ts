// Optimizers: RMSprop's kernel against its reference twin at SIMD-edge sizes, RMSprop and SGD
// (Nesterov) against their published update rules worked step by step, Keras's defaults and names
// in compile, and the learning rate that callbacks set.
import { afterEach, describe, expect, it, test } from 'vitest';
import { getBackend, type BackendName } from '../src/backend/index.ts';
import { Adam, Dense, Optimizer, RMSprop, SGD, Sequential, Tensor } from '../src/index.ts';
import { backends, Buffers, expectClose, rng, SIZES, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();

describe.each(wasm)('rmspropUpdate: $name WASM build vs reference', ({ kernels }) => {
  test.each([
    { momentum: 0, centered: 0 },
    { momentum: 0.9, centered: 0 },
    { momentum: 0, centered: 1 },
    { momentum: 0.5, centered: 1 },
  ])('momentum=$momentum centered=$centered, 3 steps', ({ momentum, centered }) => {
    const rand = rng(21);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const w = uniform(rand, n);
      const zeros = new Float32Array(n);
      // Unused state gets pointer 0, as RMSprop passes it: the kernel must not touch it.
      const state = () => [bufs.f32(n, zeros), momentum ? bufs.f32(n, zeros) : 0, centered ? bufs.f32(n, zeros) : 0];
      const wr = bufs.f32(n, w), [sr, pr, ar] = state();
      const ww = bufs.f32(n, w), [sw, pw, aw] = state();
      for (let step = 0; step < 3; step++) {
        const g = bufs.f32(n, uniform(rand, n));
        reference.rmspropUpdate(wr, g, sr, pr, ar, n, 0.01, 0.9, momentum, 1e-7, centered);
        kernels.rmspropUpdate(ww, g, sw, pw, aw, n, 0.01, 0.9, momentum, 1e-7, centered);
      }
      const what = `rmsprop n=${n} momentum=${momentum} centered=${centered}`;
      expectClose(bufs.read(sw, n), bufs.read(sr, n), { rtol: 1e-6, atol: 1e-12, what: `${what} ms` });
      // mom = μ·mom + step can cancel: allow a few float32 ulps of its terms (|step| < 0.04).
      if (momentum) expectClose(bufs.read(pw, n), bufs.read(pr, n), { rtol: 1e-6, atol: 2e-8, what: `${what} mom` });
      if (centered) expectClose(bufs.read(aw, n), bufs.read(ar, n), { rtol: 1e-6, atol: 5e-8, what: `${what} mg` });
      expectClose(bufs.read(ww, n), bufs.read(wr, n), { rtol: 1e-5, atol: 1e-7, what: `${what} w` });
      bufs.done();
    }
  });
});

/** An optimizer attached to `n` parameters of its own, with a helper to step it on given gradients. */
function rig(backendName: BackendName, optimizer: Optimizer, initial: number[]) {
  const backend = getBackend(backendName);
  const n = initial.length;
  const mark = backend.arena.mark();
  const values = backend.arena.allocF32(n);
  const grads = backend.arena.allocF32(n);
  backend.arena.f32At(values, n).set(initial);
  optimizer.attach({ backend, values, grads, size: n });
  return {
    step(g: number[]): number[] {
      backend.arena.f32At(grads, n).set(g);
      optimizer.step();
      return Array.from(backend.arena.f32At(values, n));
    },
    release: () => backend.arena.release(mark),
  };
}

const GRADS = [[0.5, -1, 2e-4, 0], [0.25, -1, -3e-4, 0], [-0.1, 2, 1e-4, 0], [0.3, 0, 0, 0]];

describe.each(['wasm', 'reference'] as BackendName[])('optimizer updates (%s backend)', (backendName) => {
  let release = () => {};
  afterEach(() => release());

  it('RMSprop, first step by hand: ms = 0.1·g², w −= lr·g / sqrt(ms + 1e-7)', () => {
    const r = rig(backendName, new RMSprop({ learningRate: 0.01 }), [1]);
    release = r.release;
    // ms = 0.1·0.25 = 0.025; 0.01·0.5 / sqrt(0.0250001) = 0.0316227134…
    expect(r.step([0.5])[0]).toBeCloseTo(1 - 0.0316227134, 7);
  });

  it.each([
    { rho: 0.9, momentum: 0, centered: false },
    { rho: 0.8, momentum: 0.9, centered: false },
    { rho: 0.9, momentum: 0.5, centered: true },
  ])('RMSprop rho=$rho momentum=$momentum centered=$centered follows the TF.js/Keras rule over 4 steps', ({ rho, momentum, centered }) => {
    const lr = 0.01, eps = 1e-7;
    const r = rig(backendName, new RMSprop({ learningRate: lr, rho, momentum, centered }), [1, -2, 0.5, 3]);
    release = r.release;
    // TF.js's update, in float64: ms = ρ·ms + (1 − ρ)·g²; mom = μ·mom + lr·g / sqrt(ms [− mg²] + ε); w −= mom.
    const w = [1, -2, 0.5, 3], ms = [0, 0, 0, 0], mg = [0, 0, 0, 0], mom = [0, 0, 0, 0];
    for (const g of GRADS) {
      const got = r.step(g);
      for (let i = 0; i < 4; i++) {
        ms[i] = rho * ms[i] + (1 - rho) * g[i] ** 2;
        mg[i] = rho * mg[i] + (1 - rho) * g[i];
        mom[i] = momentum * mom[i] + (lr * g[i]) / Math.sqrt(ms[i] - (centered ? mg[i] ** 2 : 0) + eps);
        w[i] -= mom[i];
      }
      expectClose(got, w, { rtol: 2e-6, atol: 1e-7, what: 'w' });
    }
  });

  it('SGD with Nesterov momentum follows Keras: v = μ·v − lr·g; w += μ·v − lr·g', () => {
    const lr = 0.1, mu = 0.9;
    const r = rig(backendName, new SGD({ learningRate: lr, momentum: mu, nesterov: true }), [1, -2, 0.5, 3]);
    release = r.release;
    const w = [1, -2, 0.5, 3], v = [0, 0, 0, 0];
    for (const g of GRADS) {
      const got = r.step(g);
      for (let i = 0; i < 4; i++) {
        v[i] = mu * v[i] - lr * g[i];
        w[i] += mu * v[i] - lr * g[i];
      }
      expectClose(got, w, { rtol: 1e-6, atol: 1e-7, what: 'w' });
    }
  });

  it('a new learning rate takes effect at the next step', () => {
    const sgd = new SGD({ learningRate: 0.1 });
    const r = rig(backendName, sgd, [1]);
    release = r.release;
    expect(r.step([1])[0]).toBeCloseTo(0.9, 6);
    sgd.learningRate = 0.5;
    expect(r.step([1])[0]).toBeCloseTo(0.4, 6);
    sgd.learningRate = 0;
    expect(r.step([1])[0]).toBeCloseTo(0.4, 6);
  });
});

describe('defaults, names and refusals', () => {
  it("Keras's defaults", () => {
    expect(new RMSprop().getConfig()).toEqual({ learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false });
    expect(new SGD().getConfig()).toEqual({ learningRate: 0.01, momentum: 0, nesterov: false });
    expect(new Adam().getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  });

  it("compile takes 'adam', 'sgd' and 'rmsprop' (any case) with those defaults, and refuses other names", () => {
    const model = new Sequential([new Dense({ units: 2, inputShape: [3] })], { seed: 1 });
    model.compile({ optimizer: 'rmsprop', loss: 'sparseCategoricalCrossentropy' });
    expect(model.optimizer).toBeInstanceOf(RMSprop);
    expect(model.optimizer!.learningRate).toBe(0.001);
    model.compile({ optimizer: 'SGD', loss: 'sparseCategoricalCrossentropy' });
    expect(model.optimizer).toBeInstanceOf(SGD);
    expect(model.optimizer!.learningRate).toBe(0.01);
    model.compile({ optimizer: 'Adam', loss: 'sparseCategoricalCrossentropy' });
    expect(model.optimizer).toBeInstanceOf(Adam);
    expect(() => model.compile({ optimizer: 'adagrad' as never, loss: 'sparseCategoricalCrossentropy' })).toThrow(
      /compile: unknown optimizer "adagrad"; give one of adam, sgd, rmsprop or an optimizer object/,
    );
    expect(() => model.compile({ optimizer: 'constructor' as never, loss: 'sparseCategoricalCrossentropy' })).toThrow(/unknown optimizer "constructor"/);
    expect(() => model.compile({ optimizer: undefined as never, loss: 'sparseCategoricalCrossentropy' })).toThrow(/unknown optimizer undefined/);
  });

  it('an optimizer named in compile trains the model', async () => {
    const model = new Sequential([new Dense({ units: 2, activation: 'softmax', inputShape: [1] })], { seed: 3 });
    model.compile({ optimizer: 'rmsprop', loss: 'sparseCategoricalCrossentropy' });
    const x = Tensor.from([-1, 1, -2, 2], [4, 1]);
    const before = model.evaluate(x, [0, 1, 0, 1]).loss;
    await model.fit(x, [0, 1, 0, 1], { epochs: 20, batchSize: 4, verbose: 0 });
    expect(model.evaluate(x, [0, 1, 0, 1]).loss).toBeLessThan(before);
  });

  it('bad options and learning rates are refused, naming the optimizer, the option and the value', () => {
    expect(() => new RMSprop({ decay: 0.9 } as never)).toThrow(/RMSprop: unknown option "decay"; the options are learningRate, rho, momentum, epsilon, centered/);
    expect(() => new RMSprop({ rho: 1 })).toThrow(/RMSprop: rho must be in \[0, 1\), got 1/);
    expect(() => new RMSprop({ epsilon: 0 })).toThrow(/RMSprop: epsilon must be a positive number, got 0/);
    expect(() => new RMSprop({ centered: 1 as never })).toThrow(/RMSprop: centered must be true or false, got 1/);
    expect(() => new SGD({ nesterov: 'yes' as never })).toThrow(/SGD: nesterov must be true or false, got "yes"/);
    expect(() => new Adam({ learningRate: -1 })).toThrow(/Adam: learningRate must be a finite number >= 0, got -1/);
    const rms = new RMSprop();
    expect(() => (rms.learningRate = NaN)).toThrow(/RMSprop: learningRate must be a finite number >= 0, got NaN/);
    expect(() => (rms.learningRate = '0.1' as never)).toThrow(/learningRate must be a finite number >= 0, got 0.1/);
    expect(rms.learningRate).toBe(0.001);
  });
});
