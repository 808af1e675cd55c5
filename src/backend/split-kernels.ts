// The split policy of the threaded kernels: a `Kernels` object that runs the large calls across
// a ThreadPool (thread-pool.ts) and the small ones on the calling thread. The layers do not change:
// they call `kernels.gemmNN(...)` as before, on this object instead.
//
// Splits, all deterministic for a given thread count (same seed + same threads = same weights):
//   gemmNN, gemmNT, gemmNNBias  bands of M (rows of A and C), multiples of the 8-row micro-tile, each
//                               thread in its own GEMM scratch slot, handed out as 4 chunks per
//                               thread from a shared counter (runChunks) so that a faster core takes
//                               more; a fixed band of N each (columns, multiples of the 6-column
//                               micro-tile) when M is a batch of <= 256 rows. The K blocking depends
//                               on neither, so the result is bit-identical to one thread, whichever
//                               thread computes a chunk. Every GEMM band runs gemmStridedAt.
//   gemmTN                      bands of K when K is the long side (the weight gradients of
//                               convolutions, K = batch·positions): the caller writes C (honouring
//                               accumulate), thread t a partial [m, n] product in its own buffer,
//                               which the caller then adds to C in thread order: differs from one
//                               thread in rounding only. Bands of M (rows of C, bit-identical)
//                               when M >= K (dense layers' weight gradients, K = batch).
//   gemmBatched                 chunks of whole products from the shared counter (Winograd's 16),
//                               each in its thread's slot: bit-identical, and one split call
//                               where 16 would each wait for the slower core.
//   sparseRows                  bands of rows (the images of the pool backward that wrote them),
//                               each band's entries then moved down after the band before: the
//                               same CSR as one thread's; column sums added in thread order.
//   sparseGemm, sparseGemmBias  bands of rows holding equal numbers of entries: bit-identical.
//   sparseGemmTN                the same bands of A's rows, each thread's sums in its own C (the
//                               caller's the real one), added in thread order like gemmTN's.
//   colSum                      bands of rows, partial sums added the same way.
//   conv2dC1KernelGrad, conv2dC1PoolKernelGrad
//                               bands of images, partial dK and dbias added the same way.
//   im2col, sparseCol2im, conv2dC1PoolForward
//                               chunks of images from the shared counter (runChunks), the fused conv
//                               each worker's scratch in its partial buffer: bit-identical.
//   winogradInput, winogradInputGrad, winogradOutput, winogradOutputGrad
//                               chunks of images from the shared counter (runChunks): each image's
//                               tiles are its own rows of the 16 matrices, so bit-identical.
//   batchNormReluForward, batchNormReluInputGrad
//                               bands of rows: bit-identical.
//   channelSums                 bands of rows (multiples of its 32-row blocks), the caller's sums
//                               in place, each other thread's f64 sums in its partial buffer,
//                               added in thread order.
//   col2im, conv2dC1Forward, translateImages, gatherRows, maxPoolForward, maxPoolBackwardWindows
//                               bands of images (rows). maxPoolForward runs maxPoolForwardImages on
//                               the whole tensors, so argmax stays a flat index into the whole x
//                               (and maxPoolBackwardWindowsImages likewise).
//   maxPoolBackward             bands of images when argmax came from this object's maxPoolForward
//                               (checked by the kernel), else bands of dx, each thread scanning every
//                               output for the argmax in its band (maxPoolBackwardRange): bit-identical.
//   relu, reluBackward, mul, dropoutMask, axpy, sgdUpdate, adamUpdate
//                               ranges: bit-identical.
// Everything else (softmax, the loss, argmaxRows), and every call below the thresholds, runs on the
// calling thread: a dispatch costs more than a small call saves. docs/kernels.md has the
// measurements behind the thresholds and the split rules.
import type { Kernels } from './kernels.ts';
import { bands, ThreadPool, type ThreadPoolOptions } from './thread-pool.ts';
import { wasmKernels } from './wasm.ts';

/**
 * Long GEMMs and image loops are handed out as this many chunks per thread, from a shared counter
 * (runChunks): cores often run at different speeds, and a fixed share each would wait for the
 * slowest.
 */
export const CHUNKS_PER_THREAD = 4;
/**
 * Size of each worker's buffer for partial results (the splits that add per-thread sums, and the
 * fused first conv's scratch), in floats; a call that needs more stays on the calling thread.
 */
export const PARTIAL_FLOATS = 1 << 20;

/** The exports the split kernels run on the pool. */
export const SPLIT_OPS = [
  'gemmStridedAt', 'gemmBatchedAt', 'sparseRowsAt', 'sparseGemmRowsAt', 'sparseGemmTNRows',
  'im2col', 'col2im', 'sparseCol2imImages', 'conv2dC1Forward', 'conv2dC1KernelGrad', 'conv2dC1PoolForward', 'conv2dC1PoolKernelGrad', 'maxPoolForwardImages', 'maxPoolBackwardRange', 'maxPoolBackwardWindowsImages', 'translateImages', 'gatherRows',
  'relu', 'reluBackward', 'colSum', 'mul', 'dropoutMask', 'axpy', 'sgdUpdate', 'adamUpdate',
  'winogradInput', 'winogradInputGrad', 'winogradOutput', 'winogradOutputGrad',
  'channelSums', 'batchNormReluForward', 'batchNormReluInputGrad',
] as const;
/** gemmStridedAt's form codes: C = A·B, A·Bᵀ, Aᵀ·B. */
const FORM_NN = 0;
const FORM_NT = 1;
const FORM_TN = 2;

/** The work each thread must get before a call is split. */
export interface SplitThresholds {
  /** Flops (2·M·K·N, or 2·entries·N for a sparse product) per thread. */
  minFlopsPerThread: number;
  /** f32 elements per thread, for the element-wise, copy, pooling and convolution kernels. */
  minStreamPerThread: number;
}

export const DEFAULT_THRESHOLDS: Readonly<SplitThresholds> = { minFlopsPerThread: 1_000_000, minStreamPerThread: 32_768 };

/** Starts a pool of worker threads able to run every split kernel. */
export function startThreadPool(options: Omit<ThreadPoolOptions, 'ops' | 'partialFloats' | 'maxChunks'>): ThreadPool {
  return new ThreadPool({ ...options, ops: SPLIT_OPS, partialFloats: PARTIAL_FLOATS, maxChunks: options.threads * CHUNKS_PER_THREAD });
}

/**
 * The kernel contract over `pool` (started by startThreadPool): calls that give each thread at
 * least `thresholds` of work are split, the rest run on the calling thread. Once the pool is
 * closed, every call runs on the calling thread.
 */
export function splitKernels(pool: ThreadPool, thresholds: Readonly<SplitThresholds> = DEFAULT_THRESHOLDS): Kernels {
  const one = wasmKernels(pool.instance);
  const F = 4; // bytes per f32 / i32
  /** Geometry of each argmax buffer our maxPoolForward last wrote: images, inputs and outputs per image. */
  const pools = new Map<number, { batch: number; inPer: number; outPer: number }>();

  /**
   * A split product C (+)= A·B (NN) or A·Bᵀ (NT), optionally with bias and ReLU. Bands of M (rows
   * of A and C) when M is long; bands of N (columns of B and C, gemmStridedAt) when M is a batch of
   * a few hundred rows and N is wide enough, since every M band packs all of B, pre-splatted to 4x
   * its size, where an N band packs half of B and A once. Both are bit-identical to one thread.
   */
  const gemmSplit = (form: number, a: number, b: number, c: number, m: number, k: number, n: number, accumulate: boolean, bias: number | null, relu: boolean): boolean => {
    const byColumns = m <= 256 && n >= 24;
    const p = pool.share(2 * m * k * n, thresholds.minFlopsPerThread, byColumns ? Math.floor(n / 12) : Math.ceil(m / 8));
    if (p < 2) return false;
    const s = pool.slots;
    const flags = (accumulate ? 1 : 0) | (bias === null ? 0 : 2) | (relu ? 4 : 0);
    const ldb = form === FORM_NT ? k : n;
    if (byColumns) {
      // A fixed band each: every column chunk would pack all of A again.
      pool.run('gemmStridedAt', bands(n, p, 6), (lo, hi, t) =>
        [form, a, b + (form === FORM_NT ? lo * k : lo) * F, c + lo * F, m, k, hi - lo, k, ldb, n, flags, (bias ?? 0) + lo * F, s[t]]);
    } else {
      // Row chunks from a shared counter: each repacks only B, which is small when M is long.
      // gemmStridedAt(form, a + start·k, b, c + start·n, length, k, n, k, ldb, n, flags, bias, slot).
      const chunks = bands(m, Math.min(p * CHUNKS_PER_THREAD, Math.ceil(m / 8)), 8);
      pool.runChunks('gemmStridedAt', chunks, (t) => [form, a, b, c, 0, k, n, k, ldb, n, flags, bias ?? 0, s[t]], [0, k * F, 0, n * F], [0, 0, 0, 0, 1]);
    }
    return true;
  };

  /** Row-split colSum-like reduction: the caller's band into `out`, the others' into partials. */
  const partialSum = (rows: number, cols: number, out: number, accumulate: number, x: number): boolean => {
    if (cols > PARTIAL_FLOATS) return false;
    const p = pool.share(rows * cols, thresholds.minStreamPerThread, rows);
    if (p < 2) return false;
    const partials = pool.partials;
    pool.run('colSum', bands(rows, p, 1), (lo, hi, t) =>
      t === 0 ? [x, out, hi, cols, accumulate] : [x + lo * cols * F, partials[t], hi - lo, cols, 0],
    );
    for (let t = 1; t < p; t++) one.axpy(partials[t], out, cols, 1);
    return true;
  };

  /** Element ranges of n values, boundaries on 16-float (64-byte) lines. */
  const ranges = (n: number): number[] | null => {
    const p = pool.share(n, thresholds.minStreamPerThread, Math.ceil(n / 16));
    return p < 2 ? null : bands(n, p, 16);
  };

  /**
   * Chunks of images for runChunks (CHUNKS_PER_THREAD per thread) when `perImage` floats of
   * output each make enough work: for kernels whose images are independent, so that a faster core
   * takes more of them; the bits do not depend on who computes an image.
   */
  const imageChunks = (count: number, perImage: number): number[] | null => {
    const p = pool.share(count * perImage, thresholds.minStreamPerThread, count);
    return p < 2 ? null : bands(count, Math.min(p * CHUNKS_PER_THREAD, count), 1);
  };

  /** Image (or row) bands when `perImage` floats of output each make enough work. */
  const images = (count: number, perImage: number): number[] | null => {
    const p = pool.share(count * perImage, thresholds.minStreamPerThread, count);
    return p < 2 ? null : bands(count, p, 1);
  };

  /** Row bands of a sparse product, holding about equal numbers of entries (start: its CSR rows). */
  const sparseBands = (start: number, m: number, n: number): number[] | null => {
    const rowStart = pool.arena.i32.subarray(start >> 2, (start >> 2) + m + 1);
    const p = pool.share(2 * rowStart[m] * n, thresholds.minFlopsPerThread, m);
    if (p < 2) return null;
    const bounds = [0];
    for (let t = 1; t < p; t++) {
      // The first row at or after the t-th p-quantile of the entries (rows are sorted by start).
      const target = (rowStart[m] * t) / p;
      let lo = bounds[t - 1], hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rowStart[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      bounds.push(lo);
    }
    bounds.push(m);
    return bounds;
  };

  const kernels: Kernels = {
    ...one,

    gemmBatched: (form, a, b, c, m, k, n, count, strideA, strideB, strideC) => {
      const p = count >= 2 ? pool.share(2 * m * k * n * count, thresholds.minFlopsPerThread, count) : 1;
      if (p < 2) return one.gemmBatched(form, a, b, c, m, k, n, count, strideA, strideB, strideC);
      const s = pool.slots;
      const chunks = bands(count, Math.min(p * CHUNKS_PER_THREAD, count), 1);
      // gemmBatchedAt(form, a + start·strideA, b + start·strideB, c + start·strideC, m, k, n, length, ...)
      pool.runChunks('gemmBatchedAt', chunks, (t) => [form, a, b, c, m, k, n, 0, strideA, strideB, strideC, s[t]],
        [0, strideA * F, strideB * F, strideC * F], [0, 0, 0, 0, 0, 0, 0, 1]);
    },
    gemmNN: (a, b, c, m, k, n, accumulate) => {
      if (!gemmSplit(FORM_NN, a, b, c, m, k, n, accumulate !== 0, null, false)) one.gemmNN(a, b, c, m, k, n, accumulate);
    },
    gemmNT: (a, b, c, m, k, n, accumulate) => {
      if (!gemmSplit(FORM_NT, a, b, c, m, k, n, accumulate !== 0, null, false)) one.gemmNT(a, b, c, m, k, n, accumulate);
    },
    gemmNNBias: (a, b, bias, c, m, k, n, relu) => {
      if (!gemmSplit(FORM_NN, a, b, c, m, k, n, false, bias, relu !== 0)) one.gemmNNBias(a, b, bias, c, m, k, n, relu);
    },
    gemmTN: (a, b, c, m, k, n, accumulate) => {
      // Bands of M (columns of Aᵀ, rows of C: gemmStridedAt with lda = m) when M is the long side
      // or C is too big for the partial buffers: bit-identical, but each thread packs all of B. K
      // bands otherwise (the weight gradients of convolutions, K = batch·positions): no repeated
      // packing, but partial products to add.
      if (m >= 16 && (m >= k || m * n > PARTIAL_FLOATS)) {
        const p = pool.share(2 * m * k * n, thresholds.minFlopsPerThread, Math.floor(m / 8));
        if (p < 2) return one.gemmTN(a, b, c, m, k, n, accumulate);
        const s = pool.slots;
        pool.run('gemmStridedAt', bands(m, p, 8), (lo, hi, t) => [FORM_TN, a + lo * F, b, c + lo * n * F, hi - lo, k, n, m, n, n, accumulate ? 1 : 0, 0, s[t]]);
        return;
      }
      const p = m * n > PARTIAL_FLOATS ? 1 : pool.share(2 * m * k * n, thresholds.minFlopsPerThread, Math.floor(k / 8));
      if (p < 2) return one.gemmTN(a, b, c, m, k, n, accumulate);
      const s = pool.slots;
      const partials = pool.partials;
      pool.run('gemmStridedAt', bands(k, p, 8), (lo, hi, t) =>
        t === 0
          ? [FORM_TN, a, b, c, m, hi, n, m, n, n, accumulate ? 1 : 0, 0, s[0]]
          : [FORM_TN, a + lo * m * F, b + lo * n * F, partials[t], m, hi - lo, n, m, n, n, 0, 0, s[t]],
      );
      for (let t = 1; t < p; t++) one.axpy(partials[t], c, m * n, 1);
    },

    sparseRows: (x, rows, cols, start, index, values, sums) => {
      // Bands of rows, each compressed from position lo·cols on (sparseRowsAt), then moved down
      // to follow the band before: the same CSR as one thread's. For a conv's dz these are the
      // image bands of the pool backward that wrote it, so each thread reads the rows it wrote.
      // Column sums: the caller's band into sums, the others' into partials, added in order.
      // Only big matrices: a small one is no faster split.
      const p = cols > PARTIAL_FLOATS ? 1 : pool.share(rows * cols, 8 * thresholds.minStreamPerThread, rows);
      if (p < 2) return one.sparseRows(x, rows, cols, start, index, values, sums);
      const b = bands(rows, p, 1);
      const partials = pool.partials;
      pool.run('sparseRowsAt', b, (lo, hi, t) => [x, lo, hi, cols, start, index, values, sums === 0 || t === 0 ? sums : partials[t]]);
      const ints = pool.arena.i32, f32 = pool.arena.f32;
      const S = start >> 2, I = index >> 2, V = values >> 2;
      for (let t = 1; t < b.length - 1; t++) {
        const lo = b[t], hi = b[t + 1];
        const from = lo * cols, to = ints[S + lo], end = ints[S + hi];
        ints.copyWithin(I + to, I + from, I + end);
        f32.copyWithin(V + to, V + from, V + end);
        for (let i = lo + 1; i <= hi; i++) ints[S + i] -= from - to;
      }
      if (sums !== 0) for (let t = 1; t < b.length - 1; t++) one.axpy(partials[t], sums, cols, 1);
      return ints[S + rows];
    },
    sparseGemm: (start, index, values, b, c, m, n) => {
      const r = sparseBands(start, m, n);
      if (!r) return one.sparseGemm(start, index, values, b, c, m, n);
      pool.run('sparseGemmRowsAt', r, (lo, hi) => [start, index, values, b, 0, c, lo, hi, n, 0, 0]);
    },
    sparseGemmBias: (start, index, values, b, bias, c, m, n, relu) => {
      const r = sparseBands(start, m, n);
      if (!r) return one.sparseGemmBias(start, index, values, b, bias, c, m, n, relu);
      pool.run('sparseGemmRowsAt', r, (lo, hi) => [start, index, values, b, bias, c, lo, hi, n, 1, relu]);
    },

    sparseGemmTN: (start, index, values, b, c, m, k, n) => {
      const r = k * n > PARTIAL_FLOATS ? null : sparseBands(start, m, n);
      if (!r) return one.sparseGemmTN(start, index, values, b, c, m, k, n);
      const partials = pool.partials;
      const f32 = pool.arena.f32;
      for (let t = 0; t < r.length - 1; t++) f32.fill(0, (t === 0 ? c : partials[t]) >> 2, ((t === 0 ? c : partials[t]) >> 2) + k * n);
      pool.run('sparseGemmTNRows', r, (lo, hi, t) => [start, index, values, b, t === 0 ? c : partials[t], lo, hi, n]);
      for (let t = 1; t < r.length - 1; t++) one.axpy(partials[t], c, k * n, 1);
    },

    channelSums: (x, y, dy, mean, sums, rows, cols, mode) => {
      const width = mode === 2 ? 2 * cols : cols;
      // f64 sums: two floats of the partial buffer each.
      const p = 2 * width <= PARTIAL_FLOATS ? pool.share(rows * cols, thresholds.minStreamPerThread, Math.ceil(rows / 32)) : 1;
      if (p < 2) return one.channelSums(x, y, dy, mean, sums, rows, cols, mode);
      const b = bands(rows, p, 32);
      const partials = pool.partials;
      const rowBytes = cols * F;
      pool.run('channelSums', b, (lo, hi, t) => [x + lo * rowBytes, y && y + lo * rowBytes, dy && dy + lo * rowBytes, mean, t === 0 ? sums : partials[t], hi - lo, cols, mode]);
      const f64 = (ptr: number) => new Float64Array(pool.arena.memory.buffer, ptr, width);
      const total = f64(sums);
      for (let t = 1; t < b.length - 1; t++) {
        const part = f64(partials[t]);
        for (let i = 0; i < width; i++) total[i] += part[i];
      }
    },
    batchNormReluForward: (x, y, mean, scale, beta, rows, cols) => {
      const b = images(rows, cols);
      if (!b) return one.batchNormReluForward(x, y, mean, scale, beta, rows, cols);
      pool.run('batchNormReluForward', b, (lo, hi) => [x + lo * cols * F, y + lo * cols * F, mean, scale, beta, hi - lo, cols]);
    },
    batchNormReluInputGrad: (x, y, dy, dx, mean, scale, a, bb, rows, cols) => {
      const b = images(rows, cols);
      if (!b) return one.batchNormReluInputGrad(x, y, dy, dx, mean, scale, a, bb, rows, cols);
      const o = (ptr: number, lo: number) => ptr + lo * cols * F;
      pool.run('batchNormReluInputGrad', b, (lo, hi) => [o(x, lo), o(y, lo), o(dy, lo), o(dx, lo), mean, scale, a, bb, hi - lo, cols]);
    },
    colSum: (x, out, rows, cols, accumulate) => {
      if (!partialSum(rows, cols, out, accumulate, x)) one.colSum(x, out, rows, cols, accumulate);
    },

    relu: (x, y, n) => {
      const r = ranges(n);
      if (!r) return one.relu(x, y, n);
      pool.run('relu', r, (lo, hi) => [x + lo * F, y + lo * F, hi - lo]);
    },
    reluBackward: (dy, y, dx, n) => {
      const r = ranges(n);
      if (!r) return one.reluBackward(dy, y, dx, n);
      pool.run('reluBackward', r, (lo, hi) => [dy + lo * F, y + lo * F, dx + lo * F, hi - lo]);
    },
    mul: (a, b, out, n) => {
      const r = ranges(n);
      if (!r) return one.mul(a, b, out, n);
      pool.run('mul', r, (lo, hi) => [a + lo * F, b + lo * F, out + lo * F, hi - lo]);
    },
    dropoutMask: (mask, n, rate, scale, seed, start) => {
      const r = ranges(n);
      if (!r) return one.dropoutMask(mask, n, rate, scale, seed, start);
      pool.run('dropoutMask', r, (lo, hi) => [mask + lo * F, hi - lo, rate, scale, seed, start + lo]);
    },
    axpy: (x, y, n, alpha) => {
      const r = ranges(n);
      if (!r) return one.axpy(x, y, n, alpha);
      pool.run('axpy', r, (lo, hi) => [x + lo * F, y + lo * F, hi - lo, alpha]);
    },
    sgdUpdate: (w, g, v, n, lr, momentum, nesterov) => {
      const r = ranges(n);
      if (!r) return one.sgdUpdate(w, g, v, n, lr, momentum, nesterov);
      pool.run('sgdUpdate', r, (lo, hi) => [w + lo * F, g + lo * F, v + lo * F, hi - lo, lr, momentum, nesterov]);
    },
    adamUpdate: (w, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2) => {
      const r = ranges(n);
      if (!r) return one.adamUpdate(w, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2);
      pool.run('adamUpdate', r, (lo, hi) => [w + lo * F, g + lo * F, m + lo * F, v + lo * F, hi - lo, lr, beta1, beta2, epsilon, c1, c2]);
    },
    gatherRows: (src, indices, dst, count, rowLen) => {
      const b = images(count, rowLen);
      if (!b) return one.gatherRows(src, indices, dst, count, rowLen);
      pool.run('gatherRows', b, (lo, hi) => [src, indices + lo * F, dst + lo * rowLen * F, hi - lo, rowLen]);
    },

    im2col: (x, cols, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
      const row = kh * kw * c;
      const chunks = imageChunks(batch, outH * outW * row);
      if (!chunks) return one.im2col(x, cols, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
      // im2col(x + start·image, cols + start·(its rows), length, ...)
      pool.runChunks('im2col', chunks, () => [x, cols, 0, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW], [h * w * c * F, outH * outW * row * F], [0, 0, 1]);
    },
    winogradInput: (x, v, batch, h, w, c, tilesH, tilesW, stride) => {
      const tiles = tilesH * tilesW;
      const chunks = imageChunks(batch, 16 * tiles * c);
      if (!chunks) return one.winogradInput(x, v, batch, h, w, c, tilesH, tilesW, stride);
      pool.runChunks('winogradInput', chunks, () => [x, v, 0, h, w, c, tilesH, tilesW, stride], [h * w * c * F, tiles * c * F], [0, 0, 1]);
    },
    winogradInputGrad: (dv, dx, batch, h, w, c, tilesH, tilesW, stride) => {
      const tiles = tilesH * tilesW;
      const chunks = imageChunks(batch, 16 * tiles * c);
      if (!chunks) return one.winogradInputGrad(dv, dx, batch, h, w, c, tilesH, tilesW, stride);
      pool.runChunks('winogradInputGrad', chunks, () => [dv, dx, 0, h, w, c, tilesH, tilesW, stride], [tiles * c * F, h * w * c * F], [0, 0, 1]);
    },
    winogradOutput: (m, y, bias, batch, outH, outW, f, tilesH, tilesW, stride, hasBias) => {
      const tiles = tilesH * tilesW;
      const chunks = imageChunks(batch, 16 * tiles * f);
      if (!chunks) return one.winogradOutput(m, y, bias, batch, outH, outW, f, tilesH, tilesW, stride, hasBias);
      pool.runChunks('winogradOutput', chunks, () => [m, y, bias, 0, outH, outW, f, tilesH, tilesW, stride, hasBias], [tiles * f * F, outH * outW * f * F], [0, 0, 0, 1]);
    },
    winogradOutputGrad: (dy, m, batch, outH, outW, f, tilesH, tilesW, stride) => {
      const tiles = tilesH * tilesW;
      const chunks = imageChunks(batch, 16 * tiles * f);
      if (!chunks) return one.winogradOutputGrad(dy, m, batch, outH, outW, f, tilesH, tilesW, stride);
      pool.runChunks('winogradOutputGrad', chunks, () => [dy, m, 0, outH, outW, f, tilesH, tilesW, stride], [outH * outW * f * F, tiles * f * F], [0, 0, 1]);
    },
    col2im: (cols, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
      const row = kh * kw * c;
      const b = images(batch, outH * outW * row);
      if (!b) return one.col2im(cols, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
      pool.run('col2im', b, (lo, hi) => [cols + lo * outH * outW * row * F, x + lo * h * w * c * F, hi - lo, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW]);
    },
    sparseCol2im: (start, index, values, kt, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
      const chunks = imageChunks(batch, h * w * c);
      if (!chunks) return one.sparseCol2im(start, index, values, kt, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
      // sparseCol2imImages(..., first = start, end = start + length, ...)
      pool.runChunks('sparseCol2imImages', chunks, () => [start, index, values, kt, x, 0, 0, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW],
        [0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 1]);
    },
    conv2dC1Forward: (x, kernel, bias, y, batch, h, w, kh, kw, outH, outW, filters, relu) => {
      const out = outH * outW * filters;
      const b = images(batch, out);
      if (!b) return one.conv2dC1Forward(x, kernel, bias, y, batch, h, w, kh, kw, outH, outW, filters, relu);
      pool.run('conv2dC1Forward', b, (lo, hi) => [x + lo * h * w * F, kernel, bias, y + lo * out * F, hi - lo, h, w, kh, kw, outH, outW, filters, relu]);
    },
    conv2dC1KernelGrad: (x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters) => {
      // Bands of images: the caller's into dK and dbias, thread t's into its partial buffer (dK,
      // then dbias), then added in thread order (like gemmTN's K bands): differs from one thread
      // in rounding only.
      const size = kh * kw * filters, out = outH * outW * filters;
      const b = size + filters > PARTIAL_FLOATS ? null : images(batch, out);
      if (!b) return one.conv2dC1KernelGrad(x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters);
      const partials = pool.partials;
      pool.run('conv2dC1KernelGrad', b, (lo, hi, t) =>
        [x + lo * h * w * F, dz + lo * out * F, t === 0 ? dK : partials[t], t === 0 ? dbias : partials[t] + size * F, hi - lo, h, w, kh, kw, outH, outW, filters]);
      for (let t = 1; t < b.length - 1; t++) {
        one.axpy(partials[t], dK, size, 1);
        one.axpy(partials[t] + size * F, dbias, filters, 1);
      }
    },
    conv2dC1PoolForward: (x, kernel, bias, y, argmax, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW) => {
      const out = outH * outW * filters;
      const chunks = pH * outW * pW * filters > PARTIAL_FLOATS ? null : imageChunks(batch, out * pH * pW);
      if (!chunks) return one.conv2dC1PoolForward(x, kernel, bias, y, argmax, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW);
      const partials = pool.partials;
      // conv2dC1PoolForward(x + start·image, ..., y and argmax + start·(its outputs), this thread's scratch, length, ...)
      pool.runChunks('conv2dC1PoolForward', chunks, (t) => [x, kernel, bias, y, argmax, t === 0 ? scratch : partials[t], 0, h, w, kh, kw, filters, pH, pW, outH, outW],
        [h * w * F, 0, 0, out * F, out * F], [0, 0, 0, 0, 0, 0, 1]);
    },
    conv2dC1PoolKernelGrad: (x, dy, argmax, dK, dbias, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW) => {
      // As conv2dC1KernelGrad; a worker's partial buffer holds its dK, dbias, then its scratch.
      const size = kh * kw * filters, out = outH * outW * filters;
      const band = size + filters;
      const b = band + pH * outW * pW * filters > PARTIAL_FLOATS ? null : images(batch, out * pH * pW);
      if (!b) return one.conv2dC1PoolKernelGrad(x, dy, argmax, dK, dbias, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW);
      const partials = pool.partials;
      pool.run('conv2dC1PoolKernelGrad', b, (lo, hi, t) =>
        [x + lo * h * w * F, dy + lo * out * F, argmax + lo * out * F, t === 0 ? dK : partials[t], t === 0 ? dbias : partials[t] + size * F,
          t === 0 ? scratch : partials[t] + band * F, hi - lo, h, w, kh, kw, filters, pH, pW, outH, outW]);
      for (let t = 1; t < b.length - 1; t++) {
        one.axpy(partials[t], dK, size, 1);
        one.axpy(partials[t] + size * F, dbias, filters, 1);
      }
    },
    translateImages: (src, dst, shifts, batch, h, w, c) => {
      const b = images(batch, h * w * c);
      if (!b) return one.translateImages(src, dst, shifts, batch, h, w, c);
      const image = h * w * c * F;
      pool.run('translateImages', b, (lo, hi) => [src + lo * image, dst + lo * image, shifts + 2 * lo * F, hi - lo, h, w, c]);
    },
    maxPoolForward: (x, y, argmax, batch, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly) => {
      pools.set(argmax, { batch, inPer: h * w * c, outPer: outH * outW * c });
      const b = images(batch, h * w * c);
      if (!b) return one.maxPoolForward(x, y, argmax, batch, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly);
      pool.run('maxPoolForwardImages', b, (lo, hi) => [x, y, argmax, lo, hi, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly]);
    },
    maxPoolBackwardWindows: (dy, argmax, dx, batch, h, w, c, pH, pW, outH, outW) => {
      const b = images(batch, h * w * c);
      if (!b) return one.maxPoolBackwardWindows(dy, argmax, dx, batch, h, w, c, pH, pW, outH, outW);
      pool.run('maxPoolBackwardWindowsImages', b, (lo, hi) => [dy, argmax, dx, lo, hi, h, w, c, pH, pW, outH, outW]);
    },
    maxPoolBackward: (dy, argmax, dx, outSize, inSize) => {
      // When argmax came from our maxPoolForward with this geometry, every output of image b points
      // into image b: each thread takes a band of images, its outputs and its part of dx. The
      // kernel counts indices outside the band, so an argmax written by anyone else is caught and
      // the call redone the general way: each thread zeroes a range of dx and scans all outputs.
      const g = pools.get(argmax);
      if (g && g.batch * g.outPer === outSize && g.batch * g.inPer === inSize) {
        const b = images(g.batch, g.inPer);
        if (!b) return one.maxPoolBackward(dy, argmax, dx, outSize, inSize);
        const { outPer, inPer } = g;
        const outside = pool.run('maxPoolBackwardRange', b, (lo, hi) =>
          [dy + lo * outPer * F, argmax + lo * outPer * F, dx, (hi - lo) * outPer, lo * inPer, hi * inPer]);
        if (outside === 0) return;
        pools.delete(argmax);
      }
      const r = ranges(inSize);
      if (!r) return one.maxPoolBackward(dy, argmax, dx, outSize, inSize);
      pool.run('maxPoolBackwardRange', r, (lo, hi) => [dy, argmax, dx, outSize, lo, hi]);
    },
  };
  return kernels;
}
