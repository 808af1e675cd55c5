// Element-wise, row-wise and optimizer kernels: every WASM build against the reference twin on
// seeded random data at SIMD-edge sizes, hand-worked examples, the aliasing the contract allows,
// and guard cells around every buffer (no kernel writes outside its range).
import { describe, expect, test } from 'vitest';
import type { Kernels } from '../src/backend/index.ts';
import { backends, Buffers, expectClose, expectExact, rng, SIZES, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const U = 2 ** -24; // float32 unit roundoff

/** Puts NaN, ±0 and ±Infinity at a few places (for kernels whose result must match exactly). */
function withSpecials(x: Float32Array): Float32Array {
  const specials = [NaN, -0, 0, Infinity, -Infinity];
  for (let k = 0; k < specials.length && k * 7 < x.length; k++) x[k * 7] = specials[k];
  return x;
}

/** Every (rows, cols) pair from SIZES. */
const PAIRS = SIZES.flatMap((rows) => SIZES.map((cols) => [rows, cols] as const));

describe.each(wasm)('$name WASM build vs reference', ({ kernels }) => {
  test('relu (exact, NaN propagates, y may equal x)', () => {
    const rand = rng(2);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const x = withSpecials(uniform(rand, n));
      const px = bufs.f32(n, x), yr = bufs.f32(n), yw = bufs.f32(n), inPlace = bufs.f32(n, x);
      reference.relu(px, yr, n);
      kernels.relu(px, yw, n);
      kernels.relu(inPlace, inPlace, n);
      const expected = bufs.read(yr, n);
      expectExact(bufs.read(yw, n), expected, `relu ${n}`);
      expectExact(bufs.read(inPlace, n), expected, `relu in place ${n}`);
      if (n > 7) expect(Object.is(expected[7], 0)).toBe(true); // relu(−0) = +0
      bufs.done();
    }
  });

  test('reluBackward (exact, dx may equal dy)', () => {
    const rand = rng(3);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const y = withSpecials(uniform(rand, n)), dy = uniform(rand, n);
      const py = bufs.f32(n, y), pdy = bufs.f32(n, dy), dxr = bufs.f32(n), dxw = bufs.f32(n), inPlace = bufs.f32(n, dy);
      reference.reluBackward(pdy, py, dxr, n);
      kernels.reluBackward(pdy, py, dxw, n);
      kernels.reluBackward(inPlace, py, inPlace, n);
      const expected = bufs.read(dxr, n);
      for (let i = 0; i < n; i++) expect(expected[i]).toBe(y[i] > 0 ? dy[i] : 0);
      expectExact(bufs.read(dxw, n), expected, `reluBackward ${n}`);
      expectExact(bufs.read(inPlace, n), expected, `reluBackward in place ${n}`);
      bufs.done();
    }
  });

  test('colSum (accumulate 0 and 1; tolerance grows with the number of rows)', () => {
    const rand = rng(4);
    for (const [rows, cols] of PAIRS) {
      const bufs = new Buffers(arena);
      const x = uniform(rand, rows * cols), prior = uniform(rand, cols);
      const px = bufs.f32(rows * cols, x);
      // Rigorous bound for a float32 running sum: rows·u·Σ|x| (+ u·|result|).
      const absSum = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) absSum[c] += Math.abs(x[r * cols + c]);
      for (const accumulate of [0, 1]) {
        const outR = bufs.f32(cols, prior), outW = bufs.f32(cols, prior);
        reference.colSum(px, outR, rows, cols, accumulate);
        kernels.colSum(px, outW, rows, cols, accumulate);
        const expected = bufs.read(outR, cols);
        expectClose(bufs.read(outW, cols), expected, {
          tol: (c) => (rows + 1) * U * (absSum[c] + Math.abs(prior[c])) + 2 * U * Math.abs(expected[c]),
          what: `colSum ${rows}x${cols} acc=${accumulate}`,
        });
      }
      bufs.done();
    }
  });

  test('colSum hand example', () => {
    const bufs = new Buffers(arena);
    const px = bufs.f32(6, [1, 2, 3, 4, 5, 6]), out = bufs.f32(3, [10, 20, 30]);
    kernels.colSum(px, out, 2, 3, 0);
    expectExact(bufs.read(out, 3), [5, 7, 9]);
    kernels.colSum(px, out, 2, 3, 1);
    expectExact(bufs.read(out, 3), [10, 14, 18]);
    bufs.done();
  });

  test('softmax (y may equal x; large logits do not overflow)', () => {
    const rand = rng(5);
    for (const [rows, cols] of PAIRS) {
      const bufs = new Buffers(arena);
      const x = uniform(rand, rows * cols, -10, 10);
      if (rows * cols > 2) x[1] = 1000; // exp(1000) would overflow without the max shift
      const px = bufs.f32(rows * cols, x), yr = bufs.f32(rows * cols), yw = bufs.f32(rows * cols), inPlace = bufs.f32(rows * cols, x);
      reference.softmax(px, yr, rows, cols);
      kernels.softmax(px, yw, rows, cols);
      kernels.softmax(inPlace, inPlace, rows, cols);
      const expected = bufs.read(yr, rows * cols);
      expectClose(bufs.read(yw, rows * cols), expected, { rtol: 1e-6, atol: 1e-30, what: `softmax ${rows}x${cols}` });
      expectExact(bufs.read(inPlace, rows * cols), bufs.read(yw, rows * cols), `softmax in place ${rows}x${cols}`);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += expected[r * cols + c];
        expect(Math.abs(s - 1)).toBeLessThan(1e-5);
      }
      bufs.done();
    }
  });

  test('softmax hand example', () => {
    const bufs = new Buffers(arena);
    const px = bufs.f32(6, [1, 2, 3, 0, 0, 0]);
    kernels.softmax(px, px, 2, 3);
    expectClose(bufs.read(px, 6), [0.09003057, 0.24472847, 0.66524096, 1 / 3, 1 / 3, 1 / 3], { rtol: 2e-7 });
    bufs.done();
  });

  test('softmaxBackward (dx may equal dy in both implementations)', () => {
    const rand = rng(6);
    for (const [rows, cols] of PAIRS) {
      const bufs = new Buffers(arena);
      const py = bufs.f32(rows * cols);
      reference.softmax(bufs.f32(rows * cols, uniform(rand, rows * cols, -5, 5)), py, rows, cols);
      const y = bufs.read(py, rows * cols), dy = uniform(rand, rows * cols);
      const pdy = bufs.f32(rows * cols, dy), dxr = bufs.f32(rows * cols), dxw = bufs.f32(rows * cols), inPlace = bufs.f32(rows * cols, dy);
      reference.softmaxBackward(py, pdy, dxr, rows, cols);
      kernels.softmaxBackward(py, pdy, dxw, rows, cols);
      kernels.softmaxBackward(py, inPlace, inPlace, rows, cols);
      // Error bound: the dot product's (cols·u·Σ|dy·y|) and the rounding of y·(dy − dot).
      const bound = new Float64Array(rows);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) bound[r] += Math.abs(dy[r * cols + c] * y[r * cols + c]);
      const expected = bufs.read(dxr, rows * cols);
      const tol = (i: number) => {
        const r = Math.floor(i / cols);
        return y[i] * (cols + 2) * U * bound[r] + 4 * U * (Math.abs(expected[i]) + y[i] * Math.abs(dy[i]));
      };
      expectClose(bufs.read(dxw, rows * cols), expected, { tol, what: `softmaxBackward ${rows}x${cols}` });
      expectExact(bufs.read(inPlace, rows * cols), bufs.read(dxw, rows * cols), `softmaxBackward in place ${rows}x${cols}`);
      bufs.done();
    }
  });

  test('softmaxCrossEntropy vs reference (dLogits may equal logits)', () => {
    const rand = rng(7);
    for (const [rows, cols] of PAIRS) {
      const bufs = new Buffers(arena);
      const n = rows * cols;
      const logits = uniform(rand, n, -8, 8);
      const labels = Array.from({ length: rows }, () => Math.floor(rand() * cols));
      const scale = 1 / rows;
      const pl = bufs.f32(n, logits), plab = bufs.i32(labels);
      const probsR = bufs.f32(n), dR = bufs.f32(n), probsW = bufs.f32(n), dW = bufs.f32(n);
      const lossR = reference.softmaxCrossEntropy(pl, plab, probsR, dR, rows, cols, scale);
      const lossW = kernels.softmaxCrossEntropy(pl, plab, probsW, dW, rows, cols, scale);
      expect(Math.abs(lossW - lossR)).toBeLessThanOrEqual(1e-6 * Math.abs(lossR) + 1e-7 * rows);
      const probs = bufs.read(probsR, n);
      expectClose(bufs.read(probsW, n), probs, { rtol: 1e-6, atol: 1e-30, what: `probs ${rows}x${cols}` });
      expectClose(bufs.read(dW, n), bufs.read(dR, n), { tol: () => 2e-6 * scale, what: `dLogits ${rows}x${cols}` });
      // In place: dLogits written over the logits.
      const inPlace = bufs.f32(n, logits), probs2 = bufs.f32(n);
      const loss2 = kernels.softmaxCrossEntropy(inPlace, plab, probs2, inPlace, rows, cols, scale);
      expect(loss2).toBe(lossW);
      expectExact(bufs.read(inPlace, n), bufs.read(dW, n), `dLogits in place ${rows}x${cols}`);
      expectExact(bufs.read(probs2, n), bufs.read(probsW, n), `probs in place ${rows}x${cols}`);
      bufs.done();
    }
  });

  test('softmaxCrossEntropy hand example: loss, probs, dLogits = scale·(p − onehot), clamping', () => {
    for (const k of [reference, kernels]) {
      const bufs = new Buffers(arena);
      const logits = bufs.f32(9, [1, 2, 3, 0, 0, 0, 0, -100, 0]);
      const labels = bufs.i32([2, 1, 1]);
      const probs = bufs.f32(9), d = bufs.f32(9);
      const loss = k.softmaxCrossEntropy(logits, labels, probs, d, 3, 3, 0.5);
      const p0 = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
      const p2 = [0.5, Math.exp(-100) / (2 + Math.exp(-100)), 0.5]; // p[label] ≈ 1.9e-44: clamped to 1e-7
      expectClose(bufs.read(probs, 9), [...p0, 1 / 3, 1 / 3, 1 / 3, ...p2], { rtol: 2e-7, atol: 1.5e-45 });
      expectClose(
        bufs.read(d, 9),
        [0.5 * p0[0], 0.5 * p0[1], 0.5 * (p0[2] - 1), 0.5 / 3, 0.5 * (1 / 3 - 1), 0.5 / 3, 0.25, 0.5 * (p2[1] - 1), 0.25],
        { rtol: 2e-7 },
      );
      // −log(0.66524096) − log(1/3) − log(1e-7)
      expect(loss).toBeCloseTo(0.40760596444437 + 1.09861228866811 + 16.11809565095832, 5);
      bufs.done();
    }
  });

  test('softmaxCrossEntropy with an out-of-range label gives a NaN loss and writes nothing outside the row', () => {
    for (const k of [reference, kernels]) {
      const bufs = new Buffers(arena);
      const logits = bufs.f32(4, [1, 2, 3, 4]), labels = bufs.i32([2, 7]);
      const probs = bufs.f32(4), d = bufs.f32(4);
      expect(k.softmaxCrossEntropy(logits, labels, probs, d, 2, 2, 1)).toBeNaN();
      bufs.done();
    }
  });

  test('argmaxRows (exact; first maximum on ties)', () => {
    const rand = rng(8);
    for (const [rows, cols] of PAIRS) {
      const bufs = new Buffers(arena);
      const x = new Float32Array(rows * cols).map(() => Math.floor(rand() * 5)); // many ties
      const px = bufs.f32(rows * cols, x), outR = bufs.f32(rows), outW = bufs.f32(rows);
      reference.argmaxRows(px, outR, rows, cols);
      kernels.argmaxRows(px, outW, rows, cols);
      const expected = bufs.readI32(outR, rows);
      expectExact(bufs.readI32(outW, rows), expected, `argmaxRows ${rows}x${cols}`);
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
        expect(expected[r]).toBe(row.indexOf(Math.max(...row)));
      }
      bufs.done();
    }
  });

  test('mul (exact; out may equal a or b)', () => {
    const rand = rng(9);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const a = withSpecials(uniform(rand, n)), b = uniform(rand, n);
      const pa = bufs.f32(n, a), pb = bufs.f32(n, b), outR = bufs.f32(n), outW = bufs.f32(n);
      reference.mul(pa, pb, outR, n);
      kernels.mul(pa, pb, outW, n);
      const expected = bufs.read(outR, n);
      expectExact(bufs.read(outW, n), expected, `mul ${n}`);
      const a2 = bufs.f32(n, a), b2 = bufs.f32(n, b);
      kernels.mul(a2, pb, a2, n);
      kernels.mul(pa, b2, b2, n);
      expectExact(bufs.read(a2, n), expected, `mul out=a ${n}`);
      expectExact(bufs.read(b2, n), expected, `mul out=b ${n}`);
      bufs.done();
    }
  });

  test('dropoutMask (exact; a range filled alone equals the same range of the whole mask)', () => {
    for (const n of SIZES) {
      for (const [rate, seed] of [[0.5, 12345], [0.25, -7], [0, 1], [0.9, 2 ** 31 - 1]] as const) {
        const bufs = new Buffers(arena);
        const outR = bufs.f32(n), outW = bufs.f32(n);
        reference.dropoutMask(outR, n, rate, 1 / (1 - rate), seed, 11);
        kernels.dropoutMask(outW, n, rate, 1 / (1 - rate), seed, 11);
        const expected = bufs.read(outR, n);
        expectExact(bufs.read(outW, n), expected, `dropoutMask ${n} rate ${rate}`);
        const tail = Math.floor(n / 3);
        const part = bufs.f32(n - tail);
        kernels.dropoutMask(part, n - tail, rate, 1 / (1 - rate), seed, 11 + tail);
        expectExact(bufs.read(part, n - tail), expected.subarray(tail), `dropoutMask range ${n}`);
        bufs.done();
      }
    }
  });

  test('axpy', () => {
    const rand = rng(10);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const x = uniform(rand, n), y = uniform(rand, n), alpha = -0.37;
      const px = bufs.f32(n, x), yr = bufs.f32(n, y), yw = bufs.f32(n, y);
      reference.axpy(px, yr, n, alpha);
      kernels.axpy(px, yw, n, alpha);
      // y + α·x rounds twice in float32 (the product, then the sum).
      expectClose(bufs.read(yw, n), bufs.read(yr, n), { tol: (i) => 2 * U * (Math.abs(y[i]) + Math.abs(alpha * x[i])), what: `axpy ${n}` });
      bufs.done();
    }
  });

  test('gatherRows (exact, repeated and reversed indices)', () => {
    const rand = rng(11);
    for (const rowLen of SIZES) {
      for (const count of [1, 3, 4, 17, 64]) {
        const bufs = new Buffers(arena);
        const srcRows = 20;
        const src = uniform(rand, srcRows * rowLen);
        const indices = Array.from({ length: count }, (_, i) => (i === 1 ? srcRows - 1 : Math.floor(rand() * srcRows)));
        const ps = bufs.f32(srcRows * rowLen, src), pi = bufs.i32(indices);
        const dR = bufs.f32(count * rowLen), dW = bufs.f32(count * rowLen);
        reference.gatherRows(ps, pi, dR, count, rowLen);
        kernels.gatherRows(ps, pi, dW, count, rowLen);
        const expected = bufs.read(dR, count * rowLen);
        for (let i = 0; i < count; i++) {
          expectExact(expected.subarray(i * rowLen, (i + 1) * rowLen), src.subarray(indices[i] * rowLen, (indices[i] + 1) * rowLen));
        }
        expectExact(bufs.read(dW, count * rowLen), expected, `gatherRows ${count}x${rowLen}`);
        bufs.done();
      }
    }
  });

  test('sgdUpdate vs reference (momentum 0, 0.9, nesterov)', () => {
    const rand = rng(12);
    for (const n of SIZES) {
      for (const [momentum, nesterov] of [[0, 0], [0.9, 0], [0.9, 1]]) {
        const bufs = new Buffers(arena);
        const w = uniform(rand, n), v = uniform(rand, n, -0.1, 0.1);
        const wr = bufs.f32(n, w), vr = bufs.f32(n, v), ww = bufs.f32(n, w), vw = bufs.f32(n, v);
        for (let step = 0; step < 3; step++) {
          const pg = bufs.f32(n, uniform(rand, n));
          reference.sgdUpdate(wr, pg, vr, n, 0.05, momentum, nesterov);
          kernels.sgdUpdate(ww, pg, vw, n, 0.05, momentum, nesterov);
        }
        const what = `sgd n=${n} momentum=${momentum} nesterov=${nesterov}`;
        expectClose(bufs.read(ww, n), bufs.read(wr, n), { rtol: 1e-6, atol: 1e-6, what: `${what} w` });
        expectClose(bufs.read(vw, n), bufs.read(vr, n), { rtol: 1e-6, atol: 1e-6, what: `${what} v` });
        bufs.done();
      }
    }
  });

  test('adamUpdate vs reference', () => {
    const rand = rng(13);
    for (const n of SIZES) {
      const bufs = new Buffers(arena);
      const w = uniform(rand, n);
      const wr = bufs.f32(n, w), mr = bufs.f32(n, new Float32Array(n)), vr = bufs.f32(n, new Float32Array(n));
      const ww = bufs.f32(n, w), mw = bufs.f32(n, new Float32Array(n)), vw = bufs.f32(n, new Float32Array(n));
      const [lr, b1, b2, eps] = [1e-3, 0.9, 0.999, 1e-7];
      for (let t = 1; t <= 3; t++) {
        const pg = bufs.f32(n, uniform(rand, n));
        const c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2 ** t);
        reference.adamUpdate(wr, pg, mr, vr, n, lr, b1, b2, eps, c1, c2);
        kernels.adamUpdate(ww, pg, mw, vw, n, lr, b1, b2, eps, c1, c2);
      }
      // m = β1·m + (1−β1)·g can cancel: allow a few float32 ulps of its terms (|g| ≤ 1).
      expectClose(bufs.read(mw, n), bufs.read(mr, n), { rtol: 1e-6, atol: 5e-8, what: `adam m ${n}` });
      expectClose(bufs.read(vw, n), bufs.read(vr, n), { rtol: 1e-6, atol: 1e-12, what: `adam v ${n}` });
      expectClose(bufs.read(ww, n), bufs.read(wr, n), { rtol: 1e-6, atol: 1e-9, what: `adam w ${n}` });
      bufs.done();
    }
  });
});

/** The update formulas of kernels.ts, written out in float64, over 3 iterations. */
describe('dropoutMask statistics (reference)', () => {
  test('drops about `rate` of the values, keeps the rest at 1/(1 − rate), and a new seed gives a new mask', () => {
    const bufs = new Buffers(arena);
    const n = 100_000;
    const a = bufs.f32(n), b = bufs.f32(n);
    reference.dropoutMask(a, n, 0.3, 1 / 0.7, 1, 0);
    reference.dropoutMask(b, n, 0.3, 1 / 0.7, 2, 0);
    const ma = bufs.read(a, n), mb = bufs.read(b, n);
    const dropped = ma.filter((v) => v === 0).length;
    expect(dropped / n).toBeGreaterThan(0.29);
    expect(dropped / n).toBeLessThan(0.31);
    expect(ma.every((v) => v === 0 || v === Math.fround(1 / 0.7))).toBe(true);
    let same = 0;
    for (let i = 0; i < n; i++) if ((ma[i] === 0) === (mb[i] === 0)) same++;
    expect(same / n).toBeLessThan(0.62); // independent masks agree on 0.3² + 0.7² = 58%
    bufs.done();
  });
});

describe.each([{ name: 'reference', kernels: reference }, ...wasm])('$name optimizers vs explicit formula steps', ({ kernels }) => {
  const n = 5;
  const w0 = [0.5, -0.25, 1, 0, -2];
  const grads = [
    [0.1, -0.2, 0.3, -0.4, 0.5],
    [-0.3, 0.1, 0.2, 0.05, -1],
    [0.2, 0.2, -0.6, 0.3, 0.01],
  ];

  test.each([
    { momentum: 0, nesterov: 0 },
    { momentum: 0.9, nesterov: 0 },
    { momentum: 0.9, nesterov: 1 },
  ])('sgdUpdate momentum=$momentum nesterov=$nesterov', ({ momentum, nesterov }) => {
    const lr = 0.1;
    const bufs = new Buffers(arena);
    const pw = bufs.f32(n, w0), pv = bufs.f32(n, new Float32Array(n));
    const w = [...w0], v = new Array(n).fill(0);
    for (const g of grads) {
      kernels.sgdUpdate(pw, bufs.f32(n, g), pv, n, lr, momentum, nesterov);
      for (let i = 0; i < n; i++) {
        if (momentum === 0) {
          w[i] -= lr * g[i];
        } else {
          v[i] = momentum * v[i] - lr * g[i];
          w[i] += nesterov ? momentum * v[i] - lr * g[i] : v[i];
        }
      }
    }
    expectClose(bufs.read(pw, n), w, { rtol: 1e-6, atol: 1e-7 });
    if (momentum !== 0) expectClose(bufs.read(pv, n), v, { rtol: 1e-6, atol: 1e-7 });
    bufs.done();
  });

  test('adamUpdate', () => {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-7];
    const bufs = new Buffers(arena);
    const pw = bufs.f32(n, w0), pm = bufs.f32(n, new Float32Array(n)), pv = bufs.f32(n, new Float32Array(n));
    const w = [...w0], m = new Array(n).fill(0), v = new Array(n).fill(0);
    grads.forEach((g, step) => {
      const t = step + 1;
      const c1 = 1 / (1 - b1 ** t), c2 = 1 / (1 - b2 ** t);
      kernels.adamUpdate(pw, bufs.f32(n, g), pm, pv, n, lr, b1, b2, eps, c1, c2);
      for (let i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
        w[i] -= (lr * m[i] * c1) / (Math.sqrt(v[i] * c2) + eps);
      }
    });
    expectClose(bufs.read(pm, n), m, { rtol: 1e-6, atol: 1e-8 });
    expectClose(bufs.read(pv, n), v, { rtol: 1e-6, atol: 1e-10 });
    expectClose(bufs.read(pw, n), w, { rtol: 1e-6, atol: 1e-7 });
    bufs.done();
  });
});

describe.each([{ name: 'reference', kernels: reference }, ...wasm])('$name optimizer state never goes subnormal', ({ kernels }) => {
  // Zero gradients decay the state geometrically; it must land on 0, never in the slow subnormal
  // range. Sizes cover the SIMD body and the scalar tail; values straddle 2⁻¹²⁶.
  const FLT_MIN = 1.17549435e-38;
  const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < FLT_MIN;

  test.each([1, 3, 17, 785])('n=%i: adamUpdate m, v and sgdUpdate v flush to 0; normal values survive', (n) => {
    const bufs = new Buffers(arena);
    const start = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i % 3 === 0 ? 1.2e-38 : 1e-30));
    const pw = bufs.f32(n, new Float32Array(n).fill(0.5)), zero = bufs.f32(n, new Float32Array(n));
    const pm = bufs.f32(n, start), pv = bufs.f32(n, start.map(Math.abs)), pVel = bufs.f32(n, start);
    for (let t = 1; t <= 40; t++) {
      kernels.adamUpdate(pw, zero, pm, pv, n, 1e-3, 0.9, 0.999, 1e-7, 1, 1);
      kernels.sgdUpdate(pw, zero, pVel, n, 0.1, 0.9, 0);
      for (const [name, p] of [['adam m', pm], ['adam v', pv], ['sgd v', pVel]] as const) {
        const values = bufs.read(p, n);
        const bad = values.findIndex(isSubnormal);
        if (bad >= 0) throw new Error(`${name}[${bad}] = ${values[bad]} is subnormal after step ${t}`);
      }
      if (t === 1) {
        // 1e-30 · 0.9 is still normal: only the values that fell below 2⁻¹²⁶ were flushed.
        const m = bufs.read(pm, n);
        for (let i = 0; i < n; i++) expect(m[i] === 0).toBe(i % 3 === 0);
      }
    }
    // 0.9⁴⁰ · 1e-30 ≈ 1.5e-32 is normal; what decays past 2⁻¹²⁶ is exactly 0.
    expect(bufs.read(pm, n).every((x, i) => (i % 3 === 0 ? x === 0 : Math.abs(x) > FLT_MIN))).toBe(true);
    bufs.done();
  });
});

test('the relaxed build gives bit-identical results to the plain build (no relaxed ops in these kernels)', () => {
  if (wasm.length < 2) return;
  const [plain, relaxed] = wasm.map((f) => f.kernels) as [Kernels, Kernels];
  const rand = rng(14);
  const rows = 17, cols = 785, n = rows * cols;
  const bufs = new Buffers(arena);
  const x = uniform(rand, n, -6, 6), labels = bufs.i32(Array.from({ length: rows }, () => Math.floor(rand() * cols)));
  const outs = [plain, relaxed].map((k) => {
    const px = bufs.f32(n, x), probs = bufs.f32(n), cs = bufs.f32(cols), w = bufs.f32(n, x), m = bufs.f32(n, x), v = bufs.f32(n, x);
    const loss = k.softmaxCrossEntropy(px, labels, probs, px, rows, cols, 0.1);
    k.colSum(px, cs, rows, cols, 0);
    k.adamUpdate(w, probs, m, v, n, 1e-3, 0.9, 0.999, 1e-7, 10, 1000);
    return [loss, ...bufs.read(px, n), ...bufs.read(probs, n), ...bufs.read(cs, cols), ...bufs.read(w, n)];
  });
  expectExact(outs[1], outs[0], 'relaxed vs plain');
  bufs.done();
});
