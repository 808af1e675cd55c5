// The threaded kernels (src/backend/split-kernels.ts over thread-pool.ts) against the single-thread WASM kernels: every split
// kernel on awkward sizes, bit-identical where the split does not change the order of operations
// (row/image/range bands), close where it adds partial results (gemmTN's K bands, colSum's row
// bands) and then identical from run to run; a model trains to the same loss on 1 and 2 threads;
// a worker's error is thrown by the caller; idle workers never keep the process alive.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { availableParallelism, tmpdir } from 'node:os';
import { defaultThreads, getBackend, MAX_THREADS, setDefaultThreads, type Backend, type Kernels } from '../src/backend/index.ts';
import { PARTIAL_FLOATS, splitKernels } from '../src/backend/split-kernels.ts';
import { bands } from '../src/backend/thread-pool.ts';
import { Adam, Sequential, Tensor } from '../src/index.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { Random } from '../src/random.ts';
import { Buffers, convGeometry, expectClose, expectExact, rng, uniform } from './kernel-utils.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const one = getBackend('wasm');
const arena = one.arena;
const single = one.kernels;
const threaded = [2, 3].map((threads) => getBackend('wasm', { threads }));

/** Kernels over the backend's pool with the thresholds at their minimum, so that even 1-row calls are split. */
function splitEverything(backend: Backend): Kernels {
  return splitKernels(backend.pool!, { minFlopsPerThread: 1, minStreamPerThread: 1 });
}

/**
 * Runs the same call on the single-thread and the threaded kernels, on separate output buffers that
 * start equal, and returns both outputs.
 */
function both(
  bufs: Buffers,
  outputs: { n: number; init?: ArrayLike<number> }[],
  call: (k: Kernels, out: number[]) => void,
  kernels: Kernels,
): { single: Float32Array[]; threaded: Float32Array[] } {
  const run = (k: Kernels) => {
    const out = outputs.map(({ n, init }) => bufs.f32(n, init));
    call(k, out);
    return out.map((ptr, i) => bufs.read(ptr, outputs[i].n));
  };
  return { single: run(single), threaded: run(kernels) };
}

const rand = rng(7);

test('bands: aligned, ordered, covering', () => {
  expect(bands(785, 2, 8)).toEqual([0, 392, 785]);
  expect(bands(17, 3, 8)).toEqual([0, 8, 16, 17]);
  for (const [total, parts, align] of [[1, 2, 1], [7, 3, 1], [100003, 3, 16], [15488, 2, 8]]) {
    const b = bands(total, parts, align);
    expect(b[0]).toBe(0);
    expect(b[b.length - 1]).toBe(total);
    for (let i = 1; i < b.length; i++) expect(b[i]).toBeGreaterThanOrEqual(b[i - 1]);
    for (let i = 1; i < b.length - 1; i++) expect(b[i] % align).toBe(0);
  }
});

describe.each(threaded)('$threads threads, every call split', (backend) => {
  const k = splitEverything(backend);

  describe('GEMM by row bands (long M) and column bands (M <= 256, N >= 24) is bit-identical', () => {
    const Ms = [1, 3, 7, 8, 17, 785];
    const Ks = [1, 3, 17, 288];
    const Ns = [1, 3, 7, 17, 25, 64];
    for (const m of Ms) {
      test(`M = ${m}, every K in ${Ks}, N in ${Ns}`, () => {
        for (const kk of Ks) {
          for (const n of Ns) {
            const bufs = new Buffers(arena);
            const a = bufs.f32(m * kk, uniform(rand, m * kk));
            const b = bufs.f32(kk * n, uniform(rand, kk * n));
            const bt = bufs.f32(n * kk, uniform(rand, n * kk));
            const bias = bufs.f32(n, uniform(rand, n));
            const c0 = uniform(rand, m * n);
            for (const accumulate of [0, 1]) {
              let r = both(bufs, [{ n: m * n, init: c0 }], (kn, [c]) => kn.gemmNN(a, b, c, m, kk, n, accumulate), k);
              expectExact(r.threaded[0], r.single[0], `gemmNN ${m}x${kk}x${n} acc ${accumulate}`);
              r = both(bufs, [{ n: m * n, init: c0 }], (kn, [c]) => kn.gemmNT(a, bt, c, m, kk, n, accumulate), k);
              expectExact(r.threaded[0], r.single[0], `gemmNT ${m}x${kk}x${n} acc ${accumulate}`);
            }
            for (const relu of [0, 1]) {
              const r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.gemmNNBias(a, b, bias, c, m, kk, n, relu), k);
              expectExact(r.threaded[0], r.single[0], `gemmNNBias ${m}x${kk}x${n} relu ${relu}`);
            }
            bufs.done();
          }
        }
      });
    }
  });

  describe('gemmTN by K bands: close to one thread, identical run to run; by M bands (M >= K): bit-identical', () => {
    const Ms = [1, 3, 8, 17, 64];
    const Ns = [1, 7, 17, 64];
    const Ks = [1, 3, 7, 8, 17, 785, 5000];
    for (const kk of Ks) {
      test(`K = ${kk}, every M in ${Ms}, N in ${Ns}`, () => {
        for (const m of Ms) {
          for (const n of Ns) {
            const bufs = new Buffers(arena);
            const av = uniform(rand, kk * m), bv = uniform(rand, kk * n), c0 = uniform(rand, m * n);
            const a = bufs.f32(kk * m, av), b = bufs.f32(kk * n, bv);
            // The scale of each result: Σ_p |A[p,i]|·|B[p,j]| (+ |C| when accumulating).
            const absA = bufs.f32(kk * m, av.map(Math.abs)), absB = bufs.f32(kk * n, bv.map(Math.abs));
            const mag = bufs.f32(m * n);
            single.gemmTN(absA, absB, mag, m, kk, n, 0);
            const scale = bufs.read(mag, m * n);
            for (const accumulate of [0, 1]) {
              const r = both(bufs, [{ n: m * n, init: c0 }], (kn, [c]) => kn.gemmTN(a, b, c, m, kk, n, accumulate), k);
              const what = `gemmTN ${m}x${kk}x${n} acc ${accumulate}`;
              if (m >= 16 && m >= kk) expectExact(r.threaded[0], r.single[0], `${what} (by M bands)`);
              else expectClose(r.threaded[0], r.single[0], { tol: (i) => 1e-5 * (scale[i] + accumulate * Math.abs(c0[i])) + 1e-30, what });
              const again = bufs.f32(m * n, c0);
              k.gemmTN(a, b, again, m, kk, n, accumulate);
              expectExact(bufs.read(again, m * n), r.threaded[0], `${what}, second run`);
            }
            bufs.done();
          }
        }
      });
    }
  });

  test('gemmTN with m·n over the partial buffers: split by M bands even when K is longer, bit-identical', () => {
    const [m, kk, n] = [1100, 1200, 1000];
    expect(m * n).toBeGreaterThan(PARTIAL_FLOATS);
    const bufs = new Buffers(arena);
    const a = bufs.f32(kk * m, uniform(rand, kk * m)), b = bufs.f32(kk * n, uniform(rand, kk * n));
    const before = backend.pool!.splitCalls;
    const r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.gemmTN(a, b, c, m, kk, n, 0), k);
    expect(backend.pool!.splitCalls).toBe(before + 1);
    expectExact(r.threaded[0], r.single[0], 'gemmTN');
    bufs.done();
  });

  describe('convolution, pooling and batch kernels by image bands are bit-identical', () => {
    const geoms = [
      { h: 3, w: 3, kh: 2, kw: 2, sh: 1, sw: 1, padding: 'valid' as const },
      { h: 7, w: 5, kh: 3, kw: 3, sh: 2, sw: 2, padding: 'same' as const },
      { h: 28, w: 28, kh: 3, kw: 3, sh: 1, sw: 1, padding: 'valid' as const },
      { h: 11, w: 11, kh: 2, kw: 2, sh: 2, sw: 2, padding: 'valid' as const },
      { h: 5, w: 8, kh: 3, kw: 2, sh: 3, sw: 1, padding: 'same' as const },
    ];
    for (const batch of [1, 3, 7, 17]) {
      test(`batch ${batch}, channels 1, 3, 8, 17`, () => {
        for (const c of [1, 3, 8, 17]) {
          for (const g of geoms) {
            const { outH, outW, padTop, padLeft } = convGeometry(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.padding);
            const inSize = batch * g.h * g.w * c, outSize = batch * outH * outW * c;
            const colsSize = batch * outH * outW * g.kh * g.kw * c;
            const geo = [batch, g.h, g.w, c, g.kh, g.kw, g.sh, g.sw, padTop, padLeft, outH, outW] as const;
            const what = `${JSON.stringify(g)} batch ${batch} c ${c}`;
            const bufs = new Buffers(arena);
            const x = bufs.f32(inSize, uniform(rand, inSize));
            const colsIn = bufs.f32(colsSize, uniform(rand, colsSize));

            let r = both(bufs, [{ n: colsSize }], (kn, [cols]) => kn.im2col(x, cols, ...geo), k);
            expectExact(r.threaded[0], r.single[0], `im2col ${what}`);
            r = both(bufs, [{ n: inSize, init: uniform(rand, inSize) }], (kn, [dx]) => kn.col2im(colsIn, dx, ...geo), k);
            expectExact(r.threaded[0], r.single[0], `col2im ${what}`);

            // Pooling with the same window geometry (ties included: a coarse grid of values).
            const xq = bufs.f32(inSize, uniform(rand, inSize).map((v) => Math.round(v * 4)));
            for (const positiveOnly of [1, 0]) {
              r = both(bufs, [{ n: outSize }, { n: outSize }], (kn, [y, am]) => kn.maxPoolForward(xq, y, am, ...geo.slice(0, 4) as [number, number, number, number], g.kh, g.kw, g.sh, g.sw, padTop, padLeft, outH, outW, positiveOnly), k);
              expectExact(r.threaded[0], r.single[0], `maxPoolForward y ${what} positiveOnly ${positiveOnly}`);
              expectExact(r.threaded[1], r.single[1], `maxPoolForward argmax ${what} positiveOnly ${positiveOnly}`);
            }
            const argmax = bufs.f32(outSize, r.single[1]);
            const dy = bufs.f32(outSize, uniform(rand, outSize));
            r = both(bufs, [{ n: inSize, init: uniform(rand, inSize) }], (kn, [dx]) => kn.maxPoolBackward(dy, argmax, dx, outSize, inSize), k);
            expectExact(r.threaded[0], r.single[0], `maxPoolBackward ${what}`);
            if (g.padding === 'valid' && g.sh === g.kh && g.sw === g.kw) {
              const windows = both(bufs, [{ n: inSize, init: uniform(rand, inSize) }], (kn, [dx]) => kn.maxPoolBackwardWindows(dy, argmax, dx, batch, g.h, g.w, c, g.kh, g.kw, outH, outW), k);
              expectExact(windows.threaded[0], windows.single[0], `maxPoolBackwardWindows ${what}`);
              expectExact(windows.single[0], r.single[0], `maxPoolBackwardWindows = maxPoolBackward ${what}`);
            }
            // The argmax our maxPoolForward wrote: split by images (each thread its own outputs)...
            const ownArgmax = bufs.f32(outSize), ownY = bufs.f32(outSize);
            k.maxPoolForward(xq, ownY, ownArgmax, batch, g.h, g.w, c, g.kh, g.kw, g.sh, g.sw, padTop, padLeft, outH, outW, 0);
            const pool = backend.pool!;
            let calls = pool.splitCalls;
            r = both(bufs, [{ n: inSize, init: uniform(rand, inSize) }], (kn, [dx]) => kn.maxPoolBackward(dy, ownArgmax, dx, outSize, inSize), k);
            expectExact(r.threaded[0], r.single[0], `maxPoolBackward by images ${what}`);
            if (batch > 1) expect(pool.splitCalls - calls, 'one split call, no redo').toBe(1);
            // ...unless it was overwritten since: reversed, image b's outputs point into other images.
            arena.i32.set(bufs.readI32(ownArgmax, outSize).reverse(), ownArgmax >> 2);
            calls = pool.splitCalls;
            r = both(bufs, [{ n: inSize, init: uniform(rand, inSize) }], (kn, [dx]) => kn.maxPoolBackward(dy, ownArgmax, dx, outSize, inSize), k);
            expectExact(r.threaded[0], r.single[0], `maxPoolBackward after argmax was overwritten ${what}`);
            if (batch > 1) expect(pool.splitCalls - calls, 'redone by dx ranges').toBe(2);
            bufs.done();
          }
        }
      });
    }

    test('translateImages and gatherRows', () => {
      for (const batch of [1, 3, 7, 17, 128]) {
        for (const [h, w, c] of [[1, 1, 1], [5, 3, 2], [28, 28, 1]]) {
          const size = batch * h * w * c;
          const bufs = new Buffers(arena);
          const src = bufs.f32(size, uniform(rand, size));
          const shifts = bufs.i32(Array.from({ length: 2 * batch }, () => Math.floor(rand() * 9) - 4));
          let r = both(bufs, [{ n: size }], (kn, [dst]) => kn.translateImages(src, dst, shifts, batch, h, w, c), k);
          expectExact(r.threaded[0], r.single[0], `translateImages ${batch}x${h}x${w}x${c}`);
          const rowLen = h * w * c;
          const indices = bufs.i32(Array.from({ length: batch }, () => Math.floor(rand() * batch)));
          r = both(bufs, [{ n: size }], (kn, [dst]) => kn.gatherRows(src, indices, dst, batch, rowLen), k);
          expectExact(r.threaded[0], r.single[0], `gatherRows ${batch}x${rowLen}`);
          bufs.done();
        }
      }
    });
  });

  test('sparseRows by row bands: the same CSR, column sums close; sparse products by row bands of equal entries: bit-identical, bias and ReLU or not; sparseGemmTN close, identical run to run; sparseCol2im by images, bit-identical', () => {
    const splitBefore = backend.pool!.splitCalls;
    let col2imChecked = 0;
    for (const [m, kk, n] of [[1, 5, 3], [3, 17, 7], [17, 785, 33], [128, 784, 128], [785, 7, 64], [9, 4, 18], [63, 5, 18]]) {
      for (const density of [0, 0.05, 0.2, 1]) {
        const bufs = new Buffers(arena);
        // Dense rows at the top, empty ones below: equal entries are not equal rows.
        const x = uniform(rand, m * kk).map((v, i) => (rand() < density * (i < (m * kk) / 3 ? 2.5 : 0.25) ? v : 0));
        const px = bufs.f32(m * kk, x), start = bufs.f32(m + 1), index = bufs.f32(m * kk), values = bufs.f32(m * kk);
        const what = `${m}x${kk}x${n} density ${density}`;
        // sparseRows by row bands: the same CSR; column sums close, and the same twice.
        const count = single.sparseRows(px, m, kk, start, index, values, 0);
        const start2 = bufs.f32(m + 1), index2 = bufs.f32(m * kk), values2 = bufs.f32(m * kk);
        const sums = both(bufs, [{ n: kk }], (kn, [out]) => kn === single
          ? kn.sparseRows(px, m, kk, start, index, values, out)
          : expect(kn.sparseRows(px, m, kk, start2, index2, values2, out), `sparseRows count ${what}`).toBe(count), k);
        expect([...bufs.readI32(start2, m + 1)], `sparseRows start ${what}`).toEqual([...bufs.readI32(start, m + 1)]);
        expect([...bufs.readI32(index2, count)], `sparseRows index ${what}`).toEqual([...bufs.readI32(index, count)]);
        expectExact(bufs.read(values2, count), bufs.read(values, count), `sparseRows values ${what}`);
        expectClose(sums.threaded[0], sums.single[0], { rtol: 1e-5, atol: 1e-5, what: `sparseRows column sums ${what}` });
        const sumsAgain = bufs.f32(kk);
        k.sparseRows(px, m, kk, start2, index2, values2, sumsAgain);
        expectExact(bufs.read(sumsAgain, kk), sums.threaded[0], `sparseRows column sums second run ${what}`);
        const b = bufs.f32(kk * n, uniform(rand, kk * n)), bias = bufs.f32(n, uniform(rand, n));
        let r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.sparseGemm(start, index, values, b, c, m, n), k);
        expectExact(r.threaded[0], r.single[0], `sparseGemm ${what}`);
        for (const relu of [0, 1]) {
          r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.sparseGemmBias(start, index, values, b, bias, c, m, n, relu), k);
          expectExact(r.threaded[0], r.single[0], `sparseGemmBias relu=${relu} ${what}`);
        }
        // Aᵀ·B with B [m, n]: partial sums per thread, added in thread order; the same twice.
        const bm = bufs.f32(m * n, uniform(rand, m * n));
        const t = both(bufs, [{ n: kk * n }], (kn, [c]) => kn.sparseGemmTN(start, index, values, bm, c, m, kk, n), k);
        expectClose(t.threaded[0], t.single[0], { rtol: 1e-5, atol: 1e-5, what: `sparseGemmTN ${what}` });
        const again = bufs.f32(kk * n);
        k.sparseGemmTN(start, index, values, bm, again, m, kk, n);
        expectExact(bufs.read(again, kk * n), t.threaded[0], `sparseGemmTN second run ${what}`);
        // As a conv's dz: m = batch·3·3 positions of a 'valid' 3x3 conv on 5x5 images, kk filters, n = 9·2 (2 channels).
        if (m % 9 === 0 && n === 18) {
          const batch = m / 9, size = batch * 25 * 2;
          const c = both(bufs, [{ n: size }], (kn, [dx]) => kn.sparseCol2im(start, index, values, bm, dx, batch, 5, 5, 2, 3, 3, 1, 1, 0, 0, 3, 3), k);
          expectExact(c.threaded[0], c.single[0], `sparseCol2im ${what}`);
          col2imChecked++;
        }
        bufs.done();
      }
    }
    expect(backend.pool!.splitCalls).toBeGreaterThan(splitBefore);
    expect(col2imChecked).toBe(8); // [9, 4, 18] and [63, 5, 18] at four densities
  });

  describe('one-channel direct convolution by image bands: forward bit-identical, dK close and identical run to run', () => {
    for (const batch of [1, 3, 7, 17]) {
      test(`batch ${batch}`, () => {
        for (const [h, w, kh, kw, filters] of [[3, 3, 2, 2, 5], [28, 28, 3, 3, 32], [9, 30, 2, 3, 17], [6, 7, 5, 5, 39]]) {
          const outH = h - kh + 1, outW = w - kw + 1;
          const xLen = batch * h * w, kLen = kh * kw * filters, yLen = batch * outH * outW * filters;
          const what = `${batch}x${h}x${w} kernel ${kh}x${kw} filters ${filters}`;
          const bufs = new Buffers(arena);
          const xv = uniform(rand, xLen), dzv = uniform(rand, yLen);
          const x = bufs.f32(xLen, xv), kernel = bufs.f32(kLen, uniform(rand, kLen)), bias = bufs.f32(filters, uniform(rand, filters));
          const dz = bufs.f32(yLen, dzv);
          const geo = [batch, h, w, kh, kw, outH, outW, filters] as const;
          let r = both(bufs, [{ n: yLen }], (kn, [y]) => kn.conv2dC1Forward(x, kernel, bias, y, ...geo, 1), k);
          expectExact(r.threaded[0], r.single[0], `conv2dC1Forward ${what}`);
          // Σ|x·dz| of each dK entry, for the tolerance.
          const mag = new Float64Array(kLen);
          for (let b = 0; b < batch; b++) {
            for (let oy = 0; oy < outH; oy++) {
              for (let ox = 0; ox < outW; ox++) {
                for (let t = 0; t < kh * kw; t++) {
                  const xa = Math.abs(xv[(b * h + oy + Math.floor(t / kw)) * w + ox + (t % kw)]);
                  for (let f = 0; f < filters; f++) mag[t * filters + f] += xa * Math.abs(dzv[((b * outH + oy) * outW + ox) * filters + f]);
                }
              }
            }
          }
          const biasMag = new Float64Array(filters);
          for (let i = 0; i < yLen; i++) biasMag[i % filters] += Math.abs(dzv[i]);
          const calls = backend.pool!.splitCalls;
          r = both(bufs, [{ n: kLen }, { n: filters }], (kn, [dK, dbias]) => kn.conv2dC1KernelGrad(x, dz, dK, dbias, ...geo), k);
          if (batch > 1) expect(backend.pool!.splitCalls - calls, 'split').toBe(1);
          expectClose(r.threaded[0], r.single[0], { tol: (i) => 1e-6 * mag[i], what: `conv2dC1KernelGrad dK ${what}` });
          expectClose(r.threaded[1], r.single[1], { tol: (i) => 1e-6 * biasMag[i], what: `conv2dC1KernelGrad dbias ${what}` });
          const again = bufs.f32(kLen), againBias = bufs.f32(filters);
          k.conv2dC1KernelGrad(x, dz, again, againBias, ...geo);
          expectExact(bufs.read(again, kLen), r.threaded[0], `conv2dC1KernelGrad dK second run ${what}`);
          expectExact(bufs.read(againBias, filters), r.threaded[1], `conv2dC1KernelGrad dbias second run ${what}`);
          bufs.done();
        }
      });
    }
  });

  test('the first conv fused with its pool, by image bands: forward bit-identical, dK close and identical run to run', () => {
    for (const batch of [1, 3, 17]) {
      for (const [h, w, kh, kw, filters, pH, pW] of [[3, 3, 2, 2, 5, 1, 1], [28, 28, 3, 3, 32, 2, 2], [9, 30, 2, 3, 17, 3, 2], [8, 7, 3, 3, 39, 2, 2]]) {
        const outH = Math.floor((h - kh + 1) / pH), outW = Math.floor((w - kw + 1) / pW);
        const xLen = batch * h * w, kLen = kh * kw * filters, yLen = batch * outH * outW * filters;
        const what = `${batch}x${h}x${w} kernel ${kh}x${kw} filters ${filters} pool ${pH}x${pW}`;
        const bufs = new Buffers(arena);
        const x = bufs.f32(xLen, uniform(rand, xLen)), kernel = bufs.f32(kLen, uniform(rand, kLen)), bias = bufs.f32(filters, uniform(rand, filters));
        const scratch = bufs.f32(pH * outW * pW * filters);
        const geo = [batch, h, w, kh, kw, filters, pH, pW, outH, outW] as const;
        const calls = backend.pool!.splitCalls;
        const r = both(bufs, [{ n: yLen }, { n: yLen }], (kn, [y, argmax]) => kn.conv2dC1PoolForward(x, kernel, bias, y, argmax, scratch, ...geo), k);
        expectExact(r.threaded[0], r.single[0], `conv2dC1PoolForward y ${what}`);
        expectExact(r.threaded[1], r.single[1], `conv2dC1PoolForward argmax ${what}`);
        const argmax = bufs.f32(yLen, r.single[1]); // the i32 bits, copied as they are
        const dyv = uniform(rand, yLen), dy = bufs.f32(yLen, dyv);
        const g = both(bufs, [{ n: kLen }, { n: filters }], (kn, [dK, dbias]) => kn.conv2dC1PoolKernelGrad(x, dy, argmax, dK, dbias, scratch, ...geo), k);
        if (batch > 1) expect(backend.pool!.splitCalls - calls, 'split').toBe(2);
        // Every term of a dK or dbias sum is at most one |dy| (|x| < 1): Σ|dy| bounds them all.
        const tol = 1e-6 * dyv.reduce((sum, v) => sum + Math.abs(v), 0);
        expectClose(g.threaded[0], g.single[0], { atol: tol, what: `conv2dC1PoolKernelGrad dK ${what}` });
        expectClose(g.threaded[1], g.single[1], { atol: tol, what: `conv2dC1PoolKernelGrad dbias ${what}` });
        const again = bufs.f32(kLen), againBias = bufs.f32(filters);
        k.conv2dC1PoolKernelGrad(x, dy, argmax, again, againBias, scratch, ...geo);
        expectExact(bufs.read(again, kLen), g.threaded[0], `conv2dC1PoolKernelGrad dK second run ${what}`);
        expectExact(bufs.read(againBias, filters), g.threaded[1], `conv2dC1PoolKernelGrad dbias second run ${what}`);
        bufs.done();
      }
    }
  });

  describe('element-wise kernels by ranges are bit-identical', () => {
    for (const n of [1, 3, 7, 8, 17, 785, 100003]) {
      test(`n = ${n}`, () => {
        const bufs = new Buffers(arena);
        const xv = uniform(rand, n), yv = uniform(rand, n);
        const x = bufs.f32(n, xv), y = bufs.f32(n, yv), g = bufs.f32(n, uniform(rand, n));
        const check = (name: string, outputs: { n: number; init?: ArrayLike<number> }[], call: (kn: Kernels, out: number[]) => void) => {
          const r = both(bufs, outputs, call, k);
          r.single.forEach((s, i) => expectExact(r.threaded[i], s, `${name} n ${n} output ${i}`));
        };
        check('relu', [{ n }], (kn, [o]) => kn.relu(x, o, n));
        check('relu in place', [{ n, init: xv }], (kn, [o]) => kn.relu(o, o, n));
        check('reluBackward', [{ n }], (kn, [o]) => kn.reluBackward(x, y, o, n));
        check('mul', [{ n }], (kn, [o]) => kn.mul(x, y, o, n));
        check('dropoutMask', [{ n }], (kn, [o]) => kn.dropoutMask(o, n, 0.5, 2, 987654, 3));
        check('axpy', [{ n, init: yv }], (kn, [o]) => kn.axpy(x, o, n, -1.5));
        for (const [momentum, nesterov] of [[0, 0], [0.9, 0], [0.9, 1]]) {
          check(`sgdUpdate ${momentum} ${nesterov}`, [{ n, init: xv }, { n, init: yv }], (kn, [w, v]) => kn.sgdUpdate(w, g, v, n, 0.01, momentum, nesterov));
        }
        check('adamUpdate', [{ n, init: xv }, { n, init: yv }, { n, init: yv.map(Math.abs) }], (kn, [w, m, v]) =>
          kn.adamUpdate(w, g, m, v, n, 0.001, 0.9, 0.999, 1e-7, 1 / (1 - 0.9 ** 3), 1 / (1 - 0.999 ** 3)));
        bufs.done();
      });
    }

    for (const [rows, cols] of [[1, 1], [3, 7], [17, 785], [1000, 64], [15488, 64]]) {
      test(`rows ${rows} x cols ${cols}: colSum close, identical run to run`, () => {
        const bufs = new Buffers(arena);
        const xv = uniform(rand, rows * cols);
        const x = bufs.f32(rows * cols, xv);
        // Column magnitudes Σ_r |x[r,c]|, for the tolerance.
        const mag = new Float64Array(cols);
        for (let i = 0; i < rows * cols; i++) mag[i % cols] += Math.abs(xv[i]);
        const out0 = uniform(rand, cols);
        for (const accumulate of [0, 1]) {
          const r = both(bufs, [{ n: cols, init: out0 }], (kn, [o]) => kn.colSum(x, o, rows, cols, accumulate), k);
          expectClose(r.threaded[0], r.single[0], { tol: (i) => 1e-5 * (mag[i] + accumulate * Math.abs(out0[i])), what: `colSum acc ${accumulate}` });
          const again = bufs.f32(cols, out0);
          k.colSum(x, again, rows, cols, accumulate);
          expectExact(bufs.read(again, cols), r.threaded[0], 'colSum second run');
        }
        bufs.done();
      });
    }
  });
});

describe('default thresholds', () => {
  const backend = threaded[0];
  const k = backend.kernels;

  test('a big product (4000x288x64) is split, bit-identical; a small one (64x64x64) is not', () => {
    const bufs = new Buffers(arena);
    const [m, kk, n] = [4000, 288, 64];
    const a = bufs.f32(m * kk, uniform(rand, m * kk)), b = bufs.f32(kk * n, uniform(rand, kk * n));
    const bias = bufs.f32(n, uniform(rand, n));
    const bt = bufs.f32(n * kk, uniform(rand, n * kk));
    const pool = backend.pool!;
    let before = pool.splitCalls;
    let r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.gemmNNBias(a, b, bias, c, m, kk, n, 1), k);
    expectExact(r.threaded[0], r.single[0], 'gemmNNBias');
    const dz = bufs.f32(m * n, uniform(rand, m * n));
    r = both(bufs, [{ n: m * kk }], (kn, [c]) => kn.gemmNT(dz, bt, c, m, n, kk, 0), k);
    expectExact(r.threaded[0], r.single[0], 'gemmNT');
    expect(pool.splitCalls).toBe(before + 2);
    before = pool.splitCalls;
    r = both(bufs, [{ n: 64 * 64 }], (kn, [c]) => kn.gemmNN(a, b, c, 64, 64, 64, 0), k);
    expectExact(r.threaded[0], r.single[0], 'gemmNN small');
    expect(pool.splitCalls).toBe(before);
    bufs.done();
  });
});

describe('thread counts', () => {
  test(`counts above MAX_THREADS (${MAX_THREADS}) are refused by name, from every entry point; 'all' stays within it`, () => {
    expect(MAX_THREADS).toBe(64);
    expect(() => getBackend('wasm', { threads: 65 })).toThrow("threads must be at most 64 (the engine's thread limit), got 65");
    expect(() => setDefaultThreads(1000)).toThrow("setDefaultThreads must be at most 64 (the engine's thread limit), got 1000");
    const saved = process.env.ENGINE_THREADS;
    try {
      process.env.ENGINE_THREADS = '100';
      expect(() => defaultThreads()).toThrow("ENGINE_THREADS must be at most 64 (the engine's thread limit), got 100");
      expect(() => getBackend('wasm')).toThrow('ENGINE_THREADS must be at most 64');
      process.env.ENGINE_THREADS = '0';
      expect(() => defaultThreads()).toThrow('ENGINE_THREADS must be a whole number >= 1 or "all", got "0"');
    } finally {
      if (saved === undefined) delete process.env.ENGINE_THREADS;
      else process.env.ENGINE_THREADS = saved;
    }
    expect(() => getBackend('wasm', { threads: 2.5 })).toThrow('threads must be a whole number >= 1 or "all", got 2.5');
    try {
      setDefaultThreads('all');
      expect(defaultThreads()).toBe(Math.min(availableParallelism(), MAX_THREADS));
      setDefaultThreads(MAX_THREADS);
      expect(defaultThreads()).toBe(MAX_THREADS);
    } finally {
      setDefaultThreads(1);
    }
  });
});

describe('many threads', () => {
  test('17 threads split a long GEMM into 68 chunks (more than a pool of 16 could take), bit-identical', () => {
    const backend = getBackend('wasm', { threads: 17 });
    try {
      const bufs = new Buffers(arena);
      const [m, kk, n] = [4000, 288, 64];
      const a = bufs.f32(m * kk, uniform(rand, m * kk)), b = bufs.f32(kk * n, uniform(rand, kk * n));
      const before = backend.pool!.splitCalls;
      const r = both(bufs, [{ n: m * n }], (kn, [c]) => kn.gemmNN(a, b, c, m, kk, n, 0), backend.kernels);
      expect(backend.pool!.splitCalls).toBe(before + 1);
      expectExact(r.threaded[0], r.single[0], 'gemmNN on 17 threads');
      bufs.done();
    } finally {
      backend.pool!.close();
    }
  });
});

describe('training', () => {
  /** The Keras MNIST convnet (the cnn preset), trained on random 28x28 images below. */
  const cnn = (threads: number): Sequential => PRESETS.cnn.build(3, { threads });
  const data = (() => {
    const r = new Random(5);
    const n = 384;
    return {
      x: new Tensor(Float32Array.from({ length: n * 784 }, () => r.next()), [n, 28, 28, 1]),
      y: Int32Array.from({ length: n }, () => r.int(10)),
    };
  })();

  async function train(threads: number) {
    const model = cnn(threads);
    expect(model.backend.threads).toBe(threads);
    model.compile({ optimizer: new Adam({ learningRate: 0.003 }), loss: 'sparseCategoricalCrossentropy' });
    const history = await model.fit(data.x, data.y, { epochs: 2, batchSize: 128, randomShift: 1 });
    return { loss: history.history.loss, weights: model.getWeights().map((w) => w.data) };
  }

  test('the cnn trains to the same loss on 1 and 2 threads (1e-4), and identically twice on 2', async () => {
    const pool = threaded[0].pool!;
    const before = pool.splitCalls;
    const t1 = await train(1);
    const t2 = await train(2);
    expect(pool.splitCalls).toBeGreaterThan(before); // the big calls did go to the pool
    const t2again = await train(2);
    t1.loss.forEach((l, i) => expect(Math.abs(t2.loss[i] - l)).toBeLessThan(1e-4));
    t2.weights.forEach((w, i) => expectExact(t2again.weights[i], w, `weight ${i}`));
  });
});

describe('errors and shutdown', () => {
  const backend = threaded[0];
  const k = backend.kernels;
  const [count, rowLen] = [64, 1024]; // 64K floats: split in two rows bands with the default thresholds

  function gather(badFrom: number, badTo: number) {
    const bufs = new Buffers(arena);
    const src = bufs.f32(count * rowLen, uniform(rand, count * rowLen));
    // A bad row reads from ~3.5 GB: past the 2 GiB memory, so memory.copy traps.
    const far = Math.floor((3.5e9 - src) / (rowLen * 4));
    const idx = Array.from({ length: count }, (_, i) => (i >= badFrom && i < badTo ? far : count - 1 - i));
    const indices = bufs.i32(idx);
    const dst = bufs.f32(count * rowLen);
    return { bufs, call: () => k.gatherRows(src, indices, dst, count, rowLen), dst, src, indices };
  }

  test("a trap in a worker's band is thrown by the caller; the pool keeps working", () => {
    const bad = gather(40, 41);
    const before = backend.pool!.splitCalls;
    expect(bad.call).toThrow(/kernel thread 1: RuntimeError: memory access out of bounds/);
    expect(backend.pool!.splitCalls).toBe(before + 1);
    bad.bufs.done();
    const good = gather(-1, -1);
    good.call();
    const out = good.bufs.read(good.dst, count * rowLen);
    const { src, indices } = good;
    const expected = good.bufs.f32(count * rowLen);
    single.gatherRows(src, indices, expected, count, rowLen);
    expectExact(out, good.bufs.read(expected, count * rowLen), 'gatherRows after the error');
    good.bufs.done();
  });

  test("a trap in the caller's band is thrown after the workers finished", () => {
    const bad = gather(3, 4);
    expect(bad.call).toThrow(/memory access out of bounds/);
    bad.bufs.done();
  });

  test('a trap in one chunk of a GEMM shared out by chunks stops the call with that error; the pool keeps working', () => {
    const [m, kk, n] = [4000, 288, 64];
    const bufs = new Buffers(arena);
    const b = bufs.f32(kk * n, uniform(rand, kk * n));
    const c = bufs.f32(m * n);
    // A's first 2000 rows end exactly at the end of the memory: the chunks of the others trap.
    const a = arena.f32.buffer.byteLength - 2000 * kk * 4;
    const before = backend.pool!.splitCalls;
    expect(() => k.gemmNN(a, b, c, m, kk, n, 0)).toThrow(/memory access out of bounds/);
    expect(backend.pool!.splitCalls).toBe(before + 1);
    const good = bufs.f32(m * kk, uniform(rand, m * kk));
    const r = both(bufs, [{ n: m * n }], (kn, [out]) => kn.gemmNN(good, b, out, m, kk, n, 0), k);
    expectExact(r.threaded[0], r.single[0], 'gemmNN after the error');
    bufs.done();
  });

  test('a process with a threaded backend exits by itself, and after closeThreads the kernels still work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-threads-'));
    try {
      const script = join(dir, 'exit.mts');
      const backendUrl = new URL('../src/backend/index.ts', import.meta.url).href;
      writeFileSync(script, `
        import { getBackend, closeThreads } from ${JSON.stringify(backendUrl)};
        const b = getBackend('wasm', { threads: 2 });
        const [m, k, n] = [4000, 288, 64];
        const a = b.arena.allocF32(m * k), w = b.arena.allocF32(k * n), c = b.arena.allocF32(m * n);
        b.kernels.gemmNN(a, w, c, m, k, n, 0);
        if (process.argv[2] === 'close') {
          closeThreads();
          b.kernels.gemmNN(a, w, c, m, k, n, 0); // single-threaded now
          console.log('closed', b.pool.isClosed, getBackend('wasm', { threads: 2 }).pool.isClosed);
        } else {
          console.log('split', b.pool.splitCalls);
        }
      `);
      const run = (arg: string) => {
        const started = Date.now();
        const out = execFileSync(process.execPath, ['--import', 'tsx', script, arg], { cwd: ROOT, timeout: 60_000, encoding: 'utf8' });
        return { out: out.trim(), seconds: (Date.now() - started) / 1000 };
      };
      const open = run('open');
      expect(open.out).toBe('split 1');
      expect(open.seconds).toBeLessThan(30);
      expect(run('close').out).toBe('closed true false');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
