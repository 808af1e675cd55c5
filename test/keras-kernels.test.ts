// The kernels of the Keras core layers (activations, batch normalization, average pooling): every
// WASM build against the reference twin on seeded random data at awkward sizes, hand-worked values,
// the aliasing the contract allows, and guard cells around every buffer.
import { describe, expect, test } from 'vitest';
import { ACTIVATION_IDS } from '../src/backend/kernels.ts';
import { backends, Buffers, CONV_GEOMETRIES, convGeometry, expectClose, expectExact, rng, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const U = 2 ** -24; // float32 unit roundoff
const SIZES = [1, 3, 4, 5, 17, 785];
const ACTIVATIONS = Object.entries(ACTIVATION_IDS);
/** Exact in both twins: one rounding of an f32 comparison, min/max or product. */
const EXACT = new Set(['relu6', 'leakyRelu']);
const ALPHA = 0.3;

/** Values over [−8, 8] (past relu6's 6 and hardSigmoid's ±2.5), with 0 and the kinks at the front. */
function activationInputs(seed: number, n: number): Float32Array {
  const x = uniform(rng(seed), n, -8, 8);
  [0, 6, -2.5, 2.5, -0].forEach((v, i) => i < n && (x[i * 3] = v));
  return x;
}

describe.each(wasm)('$name WASM build vs reference', ({ kernels }) => {
  describe.each(ACTIVATIONS)('activation %s', (name, id) => {
    // hardSigmoid rounds 0.2x and then 0.2x + 0.5 in f32: absolute errors of ulp(0.5) near 0.
    const tol = EXACT.has(name) ? { rtol: 0 } : { rtol: 4 * U, atol: name === 'hardSigmoid' ? U : 1e-30 };

    test('forward and backward at every size; y may equal x, dx may equal dy', () => {
      for (const n of SIZES) {
        const bufs = new Buffers(arena);
        const x = activationInputs(n, n), dy = uniform(rng(n + 1), n);
        const px = bufs.f32(n, x), pdy = bufs.f32(n, dy);
        const yr = bufs.f32(n), yw = bufs.f32(n), inPlace = bufs.f32(n, x);
        reference.activationForward(px, yr, n, id, ALPHA);
        kernels.activationForward(px, yw, n, id, ALPHA);
        kernels.activationForward(inPlace, inPlace, n, id, ALPHA);
        const y = bufs.read(yr, n);
        expectClose(bufs.read(yw, n), y, { ...tol, what: `${name} forward ${n}` });
        expectExact(bufs.read(inPlace, n), bufs.read(yw, n), `${name} forward in place ${n}`);

        // Both backward passes read the same y (the reference's), so they differ only in rounding.
        const dxr = bufs.f32(n), dxw = bufs.f32(n), dxInPlace = bufs.f32(n, dy);
        reference.activationBackward(px, yr, pdy, dxr, n, id, ALPHA);
        kernels.activationBackward(px, yr, pdy, dxw, n, id, ALPHA);
        kernels.activationBackward(px, yr, dxInPlace, dxInPlace, n, id, ALPHA);
        const dx = bufs.read(dxr, n);
        expectClose(bufs.read(dxw, n), dx, { ...tol, atol: 1e-30 + (EXACT.has(name) ? 0 : 4 * U * Math.max(...dy.map(Math.abs))), what: `${name} backward ${n}` });
        expectExact(bufs.read(dxInPlace, n), bufs.read(dxw, n), `${name} backward in place ${n}`);
        bufs.done();
      }
    });
  });

  test('activations: hand-worked values and derivatives', () => {
    // [activation, x, act(x), act'(x)] from the definitions (gelu: Φ(1) = 0.841344746, φ(1) = 0.241970725).
    const cases: [keyof typeof ACTIVATION_IDS, number, number, number][] = [
      ['sigmoid', 0, 0.5, 0.25], ['sigmoid', -80, 1.8048513878454153e-35, 1.8048513878454153e-35],
      ['tanh', 0.5, 0.46211715726000974, 0.7864477329659274],
      ['elu', -1, Math.exp(-1) - 1, Math.exp(-1)], ['elu', 2, 2, 1],
      ['selu', 1, 1.0507009873554805, 1.0507009873554805], ['selu', -1, 1.7580993408473768 * (Math.exp(-1) - 1), 1.7580993408473768 * Math.exp(-1)],
      ['softplus', 0, Math.LN2, 0.5], ['softplus', 100, 100, 1], ['softplus', -80, 1.8048513878454153e-35, 1.8048513878454153e-35],
      ['softsign', 1, 0.5, 0.25], ['softsign', -3, -0.75, 1 / 16],
      ['relu6', 7, 6, 0], ['relu6', 6, 6, 1], ['relu6', 0, 0, 0], ['relu6', 3, 3, 1],
      ['swish', 1, 0.7310585786300049, 0.7310585786300049 * (1 + (1 - 0.7310585786300049))],
      ['gelu', 1, 0.8413447460685429, 0.8413447460685429 + 0.24197072451914337], ['gelu', -10, -7.619853024160593e-23, -7.618400096464813e-22],
      ['hardSigmoid', 1, 0.7, 0.2], ['hardSigmoid', 3, 1, 0], ['hardSigmoid', -2.5, 0, 0.2],
      ['leakyRelu', -2, -0.6, 0.3], ['leakyRelu', 2, 2, 1],
    ];
    const bufs = new Buffers(arena);
    const px = bufs.f32(1), py = bufs.f32(1), pdy = bufs.f32(1, [1]), pdx = bufs.f32(1);
    for (const [name, x, y, dydx] of cases) {
      bufs.write(px, [x]);
      kernels.activationForward(px, py, 1, ACTIVATION_IDS[name], ALPHA);
      kernels.activationBackward(px, py, pdy, pdx, 1, ACTIVATION_IDS[name], ALPHA);
      // gelu's erfc fit is good to 1.2e-7 relative; the rest round once or twice.
      expectClose(bufs.read(py, 1), [y], { rtol: 4 * U, what: `${name}(${x})` });
      expectClose(bufs.read(pdx, 1), [dydx], { rtol: 4 * U, what: `${name}'(${x})` });
    }
    bufs.done();
  });

  test('activations: an unknown id is refused', () => {
    const bufs = new Buffers(arena);
    const p = bufs.f32(4, [1, 2, 3, 4]);
    expect(() => reference.activationForward(p, p, 4, 11, 0)).toThrow('unknown activation id 11');
    expect(() => reference.activationBackward(p, p, p, p, 4, -1, 0)).toThrow('unknown activation id -1');
    expect(() => kernels.activationForward(p, p, 4, 11, 0)).toThrow(WebAssembly.RuntimeError);
    expect(() => kernels.activationBackward(p, p, p, p, 4, -1, 0)).toThrow(WebAssembly.RuntimeError);
    bufs.done();
  });

  test('batch normalization: statistics, forward, gradients and moving average at every size', () => {
    for (const rows of SIZES) {
      for (const cols of [1, 3, 4, 5, 17]) {
        const bufs = new Buffers(arena);
        const n = rows * cols;
        const rand = rng(rows * 100 + cols);
        // Far from zero mean: a one-pass variance (Σx² − n·mean²) would lose digits here.
        const x = uniform(rand, n, 99, 101), dy = uniform(rand, n);
        const gamma = uniform(rand, cols, 0.5, 1.5), beta = uniform(rand, cols);
        const px = bufs.f32(n, x), pdy = bufs.f32(n, dy), pg = bufs.f32(cols, gamma), pb = bufs.f32(cols, beta);
        const what = `${rows}x${cols}`;
        const [meanR, varR, meanW, varW] = [0, 1, 2, 3].map(() => bufs.f32(cols));
        reference.batchNormStats(px, meanR, varR, rows, cols);
        kernels.batchNormStats(px, meanW, varW, rows, cols);
        const mean = bufs.read(meanR, cols), variance = bufs.read(varR, cols);
        expectClose(bufs.read(meanW, cols), mean, { rtol: U, what: `mean ${what}` });
        expectClose(bufs.read(varW, cols), variance, { rtol: 2 * U, atol: 1e-12, what: `variance ${what}` });
        if (rows === 1) expectExact(variance, new Float32Array(cols), `variance of one row ${what}`);

        for (const epsilon of [1e-3, 1e-5]) {
          const yr = bufs.f32(n), yw = bufs.f32(n), inPlace = bufs.f32(n, x);
          reference.batchNormForward(px, yr, meanR, varR, pg, pb, rows, cols, epsilon);
          kernels.batchNormForward(px, yw, meanR, varR, pg, pb, rows, cols, epsilon);
          kernels.batchNormForward(inPlace, inPlace, meanR, varR, pg, pb, rows, cols, epsilon);
          // Both compute every element in f64 by the same steps, rounding once to f32 at the end.
          expectExact(bufs.read(yw, n), bufs.read(yr, n), `batchNormForward ${what}`);
          expectExact(bufs.read(inPlace, n), bufs.read(yw, n), `batchNormForward in place ${what}`);

          const [dgR, dbR, dgW, dbW] = [0, 1, 2, 3].map(() => bufs.f32(cols));
          reference.batchNormParamGrads(px, pdy, meanR, varR, dgR, dbR, rows, cols, epsilon);
          kernels.batchNormParamGrads(px, pdy, meanR, varR, dgW, dbW, rows, cols, epsilon);
          // f64 sums in both: the results agree to the f32 rounding of |Σ| against Σ|terms|.
          const dGamma = bufs.read(dgR, cols), dBeta = bufs.read(dbR, cols);
          expectClose(bufs.read(dbW, cols), dBeta, { rtol: U, atol: 1e-6, what: `dBeta ${what}` });
          expectClose(bufs.read(dgW, cols), dGamma, { rtol: 2 * U, atol: 1e-6 * rows, what: `dGamma ${what}` });

          for (const training of [0, 1]) {
            const dxr = bufs.f32(n), dxw = bufs.f32(n), dxInPlace = bufs.f32(n, dy);
            reference.batchNormInputGrad(px, pdy, dxr, meanR, varR, pg, dgR, dbR, rows, cols, epsilon, training);
            kernels.batchNormInputGrad(px, pdy, dxw, meanR, varR, pg, dgR, dbR, rows, cols, epsilon, training);
            kernels.batchNormInputGrad(px, dxInPlace, dxInPlace, meanR, varR, pg, dgR, dbR, rows, cols, epsilon, training);
            expectExact(bufs.read(dxw, n), bufs.read(dxr, n), `batchNormInputGrad ${what} training=${training}`);
            expectExact(bufs.read(dxInPlace, n), bufs.read(dxw, n), `batchNormInputGrad in place ${what}`);
          }
        }

        for (const momentum of [0.99, 0.9, 0]) {
          const moving = uniform(rand, cols);
          const mr = bufs.f32(cols, moving), mw = bufs.f32(cols, moving);
          reference.movingAverage(mr, meanR, cols, momentum);
          kernels.movingAverage(mw, meanR, cols, momentum);
          const expected = bufs.read(mr, cols);
          expectClose(bufs.read(mw, cols), expected, { tol: (i) => 4 * U * (Math.abs(moving[i]) + Math.abs(mean[i])), what: `movingAverage ${what} ${momentum}` });
          if (momentum === 0) expectExact(expected, mean, 'movingAverage, momentum 0: the batch value');
        }
        bufs.done();
      }
    }
  });

  test('batch normalization: hand-worked example', () => {
    const bufs = new Buffers(arena);
    // Two channels over two rows: [1, 10], [3, 30]. mean [2, 20], biased variance [1, 100].
    const x = bufs.f32(4, [1, 10, 3, 30]), mean = bufs.f32(2), variance = bufs.f32(2);
    kernels.batchNormStats(x, mean, variance, 2, 2);
    expectExact(bufs.read(mean, 2), [2, 20]);
    expectExact(bufs.read(variance, 2), [1, 100]);
    const gamma = bufs.f32(2, [2, 1]), beta = bufs.f32(2, [0.5, 0]), y = bufs.f32(4);
    kernels.batchNormForward(x, y, mean, variance, gamma, beta, 2, 2, 0);
    expectClose(bufs.read(y, 4), [-1.5, -1, 2.5, 1], { rtol: 2 * U });
    const moving = bufs.f32(2, [0, 1]);
    kernels.movingAverage(moving, mean, 2, 0.9);
    expectClose(bufs.read(moving, 2), [0.2, 2.9], { rtol: 4 * U });
    bufs.done();
  });

  test('average pooling: forward and backward over every test geometry and channel count', () => {
    const rand = rng(31);
    for (const geometry of CONV_GEOMETRIES) {
      for (const c of [1, 3, 4, 5, 17]) {
        const { h, w, kh, kw, sh, sw, padding } = geometry;
        const { outH, outW, padTop, padLeft } = convGeometry(h, w, kh, kw, sh, sw, padding);
        if (outH <= 0 || outW <= 0) continue;
        const batch = 2;
        const inSize = batch * h * w * c, outSize = batch * outH * outW * c;
        const args = [batch, h, w, c, kh, kw, sh, sw, padTop, padLeft, outH, outW] as const;
        const what = `${JSON.stringify(geometry)} c=${c}`;
        const bufs = new Buffers(arena);
        const px = bufs.f32(inSize, uniform(rand, inSize)), pdy = bufs.f32(outSize, uniform(rand, outSize));
        const yr = bufs.f32(outSize), yw = bufs.f32(outSize), dxr = bufs.f32(inSize), dxw = bufs.f32(inSize, uniform(rand, inSize));
        reference.avgPoolForward(px, yr, ...args);
        kernels.avgPoolForward(px, yw, ...args);
        // A sum of at most kh·kw values in [−1, 1], then a division.
        expectClose(bufs.read(yw, outSize), bufs.read(yr, outSize), { atol: (kh * kw + 1) * U, what: `avgPoolForward ${what}` });
        reference.avgPoolBackward(pdy, dxr, ...args);
        kernels.avgPoolBackward(pdy, dxw, ...args); // overwrites the random values already there
        const overlap = Math.ceil(kh / sh) * Math.ceil(kw / sw);
        expectClose(bufs.read(dxw, inSize), bufs.read(dxr, inSize), { atol: (overlap + 1) * U, what: `avgPoolBackward ${what}` });
        bufs.done();
      }
    }
  });

  test("average pooling: 'same' counts only the cells inside the image", () => {
    const bufs = new Buffers(arena);
    // A 3x3 image 1..9, 3x3 windows with stride 2, 'same': output 2x2 and one cell of padding on
    // every side, so each window holds 4 of the image's cells (divided by 9, the means would be 4/9 of these).
    const { outH, outW, padTop, padLeft } = convGeometry(3, 3, 3, 3, 2, 2, 'same');
    expect([outH, outW, padTop, padLeft]).toEqual([2, 2, 1, 1]);
    const x = bufs.f32(9, [1, 2, 3, 4, 5, 6, 7, 8, 9]), y = bufs.f32(4), dy = bufs.f32(4, [4, 2, 2, 1]), dx = bufs.f32(9);
    const args = [1, 3, 3, 1, 3, 3, 2, 2, padTop, padLeft, outH, outW] as const;
    kernels.avgPoolForward(x, y, ...args);
    expectExact(bufs.read(y, 4), [3, 4, 6, 7]);
    kernels.avgPoolBackward(dy, dx, ...args);
    // Each window shares dy/4 among its cells; the centre cell is in all four windows.
    expectExact(bufs.read(dx, 9), [1, 1.5, 0.5, 1.5, 2.25, 0.75, 0.5, 0.75, 0.25]);
    bufs.done();
  });
});
