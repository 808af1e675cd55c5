// The fused BatchNormalization → ReLU kernels (assembly/batch-norm-relu.ts): every WASM build against
// the reference twin on awkward sizes (channels off the SIMD width, rows off the 32-row blocks),
// and the kernels put together as src/fast/batch-norm-relu.ts does equal the textbook kernels
// (batchNormStats, batchNormForward, relu; reluBackward, batchNormParamGrads, batchNormInputGrad).
import { describe, expect, test } from 'vitest';
import type { Kernels } from '../src/backend/kernels.ts';
import { backends, Buffers, expectClose, rng, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const all = [{ name: 'reference', kernels: reference }, ...wasm];
const SHAPES = [[1, 1], [3, 5], [33, 4], [70, 7], [64, 32], [100, 17]];
const EPS = Math.fround(1e-3);

const f64 = (ptr: number, n: number) => Array.from(new Float64Array(arena.memory.buffer, ptr, n));

describe.each(wasm)('$name WASM channelSums / batchNormReluForward / batchNormReluInputGrad vs reference', ({ kernels }) => {
  test.each(SHAPES)('%i rows x %i channels', (rows, cols) => {
    const rand = rng(rows * 31 + cols);
    const bufs = new Buffers(arena);
    const n = rows * cols;
    const x = bufs.f32(n, uniform(rand, n, -1, 3)), y = bufs.f32(n, uniform(rand, n, -1, 1)), dy = bufs.f32(n, uniform(rand, n));
    const mean = bufs.f32(cols, uniform(rand, cols, 0, 1)), scale = bufs.f32(cols, uniform(rand, cols, 0.5, 2));
    const beta = bufs.f32(cols, uniform(rand, cols)), a = bufs.f32(cols, uniform(rand, cols)), b = bufs.f32(cols, uniform(rand, cols));
    const sums = bufs.f32(4 * cols + 2); // f64; Buffers' pointers are 4-byte aligned: align it
    const aligned = (sums + 7) & ~7;
    const run = (k: Kernels) => {
      const out: Record<string, number[]> = {};
      for (const mode of [0, 1, 2]) {
        k.channelSums(x, y, dy, mean, aligned, rows, cols, mode);
        out[`sums ${mode}`] = f64(aligned, mode === 2 ? 2 * cols : cols);
      }
      const yy = bufs.f32(n), dx = bufs.f32(n);
      k.batchNormReluForward(x, yy, mean, scale, beta, rows, cols);
      k.batchNormReluInputGrad(x, y, dy, dx, mean, scale, a, b, rows, cols);
      out.y = Array.from(bufs.read(yy, n));
      out.dx = Array.from(bufs.read(dx, n));
      return out;
    };
    const got = run(kernels), want = run(reference);
    for (const key of Object.keys(want)) {
      // The sums add up to 32 rows in f32 before the f64 total.
      expectClose(got[key], want[key], { rtol: 1e-5, atol: 1e-5 * Math.sqrt(rows), what: key });
    }
    bufs.done();
  });
});

describe.each(all)('$name the fused kernels equal the textbook BatchNormalization → ReLU', ({ kernels: k }) => {
  test.each(SHAPES.filter(([rows]) => rows > 1))('%i rows x %i channels, forward and backward', (rows, cols) => {
    const rand = rng(rows + cols * 7);
    const bufs = new Buffers(arena);
    const n = rows * cols;
    const x = bufs.f32(n, uniform(rand, n, -1, 3)), dy = bufs.f32(n, uniform(rand, n));
    const gamma = bufs.f32(cols, uniform(rand, cols, 0.5, 2)), beta = bufs.f32(cols, uniform(rand, cols));
    // Textbook.
    const mean = bufs.f32(cols), variance = bufs.f32(cols), z = bufs.f32(n), y = bufs.f32(n), g = bufs.f32(n);
    const dGamma = bufs.f32(cols), dBeta = bufs.f32(cols), dx = bufs.f32(n);
    reference.batchNormStats(x, mean, variance, rows, cols);
    reference.batchNormForward(x, z, mean, variance, gamma, beta, rows, cols, EPS);
    reference.relu(z, y, n);
    reference.reluBackward(dy, y, g, n);
    reference.batchNormParamGrads(x, g, mean, variance, dGamma, dBeta, rows, cols, EPS);
    reference.batchNormInputGrad(x, g, dx, mean, variance, gamma, dGamma, dBeta, rows, cols, EPS, 1);
    // Fused, with the per-channel arithmetic of src/fast/batch-norm-relu.ts.
    const sums = (bufs.f32(4 * cols + 2) + 7) & ~7;
    const m2 = bufs.f32(cols), v2 = bufs.f32(cols), s = bufs.f32(cols), a = bufs.f32(cols), b = bufs.f32(cols);
    const y2 = bufs.f32(n), dx2 = bufs.f32(n);
    const view = (ptr: number) => arena.f32At(ptr, cols);
    k.channelSums(x, 0, 0, 0, sums, rows, cols, 0);
    view(m2).set(f64(sums, cols).map((v) => v / rows));
    k.channelSums(x, 0, 0, m2, sums, rows, cols, 1);
    view(v2).set(f64(sums, cols).map((v) => v / rows));
    view(s).set(Array.from(view(v2), (v, i) => view(gamma)[i] / Math.sqrt(v + EPS)));
    k.batchNormReluForward(x, y2, m2, s, beta, rows, cols);
    k.channelSums(x, y2, dy, m2, sums, rows, cols, 2);
    const t = f64(sums, 2 * cols);
    const dG = t.slice(cols).map((v, i) => v / Math.sqrt(view(v2)[i] + EPS)), dB = t.slice(0, cols);
    view(a).set(dG.map((v, i) => (-view(s)[i] * v) / (rows * Math.sqrt(view(v2)[i] + EPS))));
    view(b).set(dB.map((v, i) => (-view(s)[i] * v) / rows));
    k.batchNormReluInputGrad(x, y2, dy, dx2, m2, s, a, b, rows, cols);
    expectClose(bufs.read(m2, cols), bufs.read(mean, cols), { rtol: 1e-5, atol: 1e-6, what: 'mean' });
    expectClose(bufs.read(v2, cols), bufs.read(variance, cols), { rtol: 1e-5, atol: 1e-6, what: 'variance' });
    expectClose(bufs.read(y2, n), bufs.read(y, n), { rtol: 1e-5, atol: 1e-5, what: 'y' });
    expectClose(dG, bufs.read(dGamma, cols), { rtol: 1e-5, atol: 1e-5, what: 'dGamma' });
    expectClose(dB, bufs.read(dBeta, cols), { rtol: 1e-5, atol: 1e-5, what: 'dBeta' });
    expectClose(bufs.read(dx2, n), bufs.read(dx, n), { rtol: 1e-4, atol: 1e-5, what: 'dx' });
    expect(bufs.read(y2, n).every((v) => v >= 0)).toBe(true);
    bufs.done();
  });
});
