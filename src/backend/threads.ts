// Multi-threaded kernels: a `Kernels` object that splits the large calls across worker threads that
// share the engine's one WebAssembly.Memory, the calling thread computing one share itself. The
// layers do not change: they call `kernels.gemmNN(...)` as before, on this object instead.
//
// Threads. Each worker (worker.mjs) instantiates the SAME compiled WebAssembly.Module on the SAME
// shared memory, so a pointer means the same bytes everywhere. Dispatch goes through a small
// SharedArrayBuffer: per thread a request number, an op (which export to call) and 16 float64
// arguments. The caller writes them, bumps the request number and Atomics.notify's; the worker
// (spinning briefly, then in Atomics.wait) calls the export and publishes the request number as
// done; the caller computes its own share meanwhile, then waits for the others. No postMessage per
// call: a round trip costs a few microseconds, where a message costs tens.
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
// calling thread: a dispatch costs ~5-30 us, so small calls are faster alone.
import { Worker } from 'node:worker_threads';
import type { Kernels } from './kernels.ts';
import type { Arena } from './memory.ts';
import { wasmKernels } from './wasm.ts';

// ---- Thresholds (measured on the 2-core reference machine; see the commit message) ----
/** Minimum flops (2·M·K·N) per thread for a matrix product to be split. */
export const GEMM_MIN_FLOPS_PER_THREAD = 1_000_000;
/**
 * GEMM bands are handed out as this many chunks per thread, from a shared counter (runChunks): the
 * two cores of this machine often run at different speeds (one measurement: 6.0 against 8.8 ms for
 * the same half of a product), and a fixed half each would wait for the slower one.
 */
export const CHUNKS_PER_THREAD = 4;
/** Minimum f32 elements per thread for an element-wise, copy or pooling kernel to be split. */
export const STREAM_MIN_PER_THREAD = 32_768;
/** Size of each worker's partial-result buffer (gemmTN, colSum), in floats; bigger m·n stays single-threaded. */
export const PARTIAL_FLOATS = 1 << 20;

/** The exports a worker can be asked to call, by index. */
export const SPLIT_OPS = [
  'gemmStridedAt', 'sparseRowsAt', 'sparseGemmRowsAt', 'sparseGemmTNRows',
  'im2col', 'col2im', 'sparseCol2imImages', 'conv2dC1Forward', 'conv2dC1KernelGrad', 'conv2dC1PoolForward', 'conv2dC1PoolKernelGrad', 'maxPoolForwardImages', 'maxPoolBackwardRange', 'maxPoolBackwardWindowsImages', 'translateImages', 'gatherRows',
  'relu', 'reluBackward', 'colSum', 'mul', 'dropoutMask', 'axpy', 'sgdUpdate', 'adamUpdate',
] as const;
type OpName = (typeof SPLIT_OPS)[number];
const OP = Object.fromEntries(SPLIT_OPS.map((name, i) => [name, i])) as Record<OpName, number>;
/** gemmStridedAt's form codes: C = A·B, A·Bᵀ, Aᵀ·B. */
const FORM_NN = 0;
const FORM_NT = 1;
const FORM_TN = 2;

/** Control block layout, shared with worker.mjs. Each thread's ints fill their own 128-byte lines. */
const INTS = 32; // Int32 per thread
const REQ = 0; // request number: the caller bumps it (−1 = quit)
const DONE = 1; // the worker copies the request number here when done
const STATUS = 2; // 0 ok, 1 the call threw (message in the error area)
const OPCODE = 3;
const READY = 4; // 1 instantiated, 2 failed (message in the error area)
const ERROR_LEN = 5;
const RESULT = 6; // the call's return value (an i32 count)
const MODE = 7; // 0: one call with this thread's arguments; 1: take chunks until none is left (runChunks)
const ARGS = 20; // float64 arguments per thread (worker.mjs passes this many)
/** In thread 0's ints (the caller never reads its own request fields): the shared chunk counter and count. */
const CHUNK_NEXT = 8;
const CHUNK_COUNT = 9;
/** Most chunks one runChunks call may hand out. */
const MAX_CHUNKS = 64;
const ERROR_BYTES = 4096;
/**
 * How long a worker polls for the next request before it sleeps in Atomics.wait. Waking a sleeping
 * thread costs 10-50 us on an idle machine (a halted vCPU up to ~300 us), while the split calls of
 * a training step mostly follow each other within 0.2 ms; but the MLP's gaps (its one-thread
 * kernels, the step's JavaScript) add up to more. Measured, alternating: 0.5 ms made the MLP's
 * 2-thread step 1.72-1.98 ms, 3 ms made it 1.42-1.76 ms (4 of 4 pairs faster). A worker spins at
 * most 3 ms after each call it ran, so an idle pool costs nothing.
 */
const WORKER_SPIN_MS = 3;
/** How long the caller polls for a worker to finish before it sleeps (it has nothing else to do). */
const CALLER_SPIN_MS = 0.2;
const START_TIMEOUT_MS = 30_000;
/** No kernel band in this engine takes near this long; past it the pool assumes a thread is lost. */
const CALL_TIMEOUT_MS = 120_000;

type ExportFn = (...args: number[]) => number | void;

export interface ThreadPoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The calling thread's instance (it computes one share itself, through these exports). */
  instance: WebAssembly.Instance;
  arena: Arena;
  /** Total threads, the calling one included (>= 2). */
  threads: number;
}

/** Splits [0, total) into `parts` bands whose inner boundaries are multiples of `align`. */
export function bands(total: number, parts: number, align = 1): number[] {
  const units = Math.ceil(total / align);
  const out = [0];
  for (let i = 1; i < parts; i++) out.push(Math.min(total, Math.floor((units * i) / parts) * align));
  out.push(total);
  return out;
}

export class ThreadPool {
  /** Threads a call may use, the calling one included. */
  readonly threads: number;
  /** The kernel contract, splitting large calls across the pool. */
  readonly kernels: Kernels;
  /** Splitting thresholds (tests lower them to split even tiny calls). */
  minFlopsPerThread = GEMM_MIN_FLOPS_PER_THREAD;
  minStreamPerThread = STREAM_MIN_PER_THREAD;
  /** Calls split so far (for tests and profiling). */
  splitCalls = 0;
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly args: Float64Array[] = [];
  private readonly perStart: Float64Array;
  private readonly perLength: Float64Array;
  private readonly chunkBounds: Int32Array;
  private readonly errorText: Uint8Array[] = [];
  private readonly fns: ExportFn[];
  private readonly single: Kernels;
  private readonly arena: Arena;
  private readonly slotBase: number;
  private readonly slotBytes: number;
  private readonly staticSlots: number;
  /** GEMM scratch slot of each thread (thread 0 = the caller, slot 0). */
  private slots: number[] = [0];
  /** Partial-result buffer of each worker thread (index 0 unused). */
  private partials: number[] = [0];
  private reservedEnd = 0;
  private seq = 0;
  private closed = false;
  private lost: string | null = null;

  constructor(options: ThreadPoolOptions) {
    const { module, memory, instance, arena } = options;
    const threads = options.threads;
    if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`ThreadPool: threads must be an integer >= 2, got ${threads}`);
    this.threads = threads;
    this.arena = arena;
    const exports = instance.exports as Record<string, unknown>;
    this.fns = SPLIT_OPS.map((name) => {
      const fn = exports[name];
      if (typeof fn !== 'function') throw new Error(`the WASM build does not export "${name}" (rebuild with \`npm run build\`)`);
      return fn as ExportFn;
    });
    this.single = wasmKernels(instance);
    this.slotBase = (exports.gemmScratch as () => number)();
    this.slotBytes = (exports.gemmSlotBytes as () => number)();
    this.staticSlots = (exports.gemmSlots as () => number)();
    this.reserve();

    const argsOffset = threads * INTS * 4;
    const errorOffset = argsOffset + threads * ARGS * 8;
    // runChunks: per argument, how it moves with a chunk's start and length; then the chunk bounds.
    const coefOffset = errorOffset + threads * ERROR_BYTES;
    const boundsOffset = coefOffset + 2 * ARGS * 8;
    const control = new SharedArrayBuffer(boundsOffset + (MAX_CHUNKS + 1) * 4);
    this.ctl = new Int32Array(control);
    this.perStart = new Float64Array(control, coefOffset, ARGS);
    this.perLength = new Float64Array(control, coefOffset + ARGS * 8, ARGS);
    this.chunkBounds = new Int32Array(control, boundsOffset, MAX_CHUNKS + 1);
    for (let t = 0; t < threads; t++) {
      this.args.push(new Float64Array(control, argsOffset + t * ARGS * 8, ARGS));
      this.errorText.push(new Uint8Array(control, errorOffset + t * ERROR_BYTES, ERROR_BYTES));
    }
    const layout = {
      INTS, REQ, DONE, STATUS, OP: OPCODE, READY, ERROR_LEN, RESULT, MODE, ARGS, ARGS_OFFSET: argsOffset,
      ERROR_OFFSET: errorOffset, ERROR_BYTES, SPIN_MS: WORKER_SPIN_MS,
      CHUNK_NEXT, CHUNK_COUNT, COEF_OFFSET: coefOffset, BOUNDS_OFFSET: boundsOffset, MAX_CHUNKS,
    };
    const url = new URL('./worker.mjs', import.meta.url);
    try {
      for (let t = 1; t < threads; t++) {
        // execArgv: [] keeps a tsx parent's loader out of the worker (worker.mjs needs none).
        const worker = new Worker(url, { workerData: { module, memory, control, ops: SPLIT_OPS, index: t, layout }, execArgv: [] });
        worker.unref(); // an idle pool never keeps the process alive
        worker.on('error', (error) => (this.lost ??= `kernel thread ${t} failed: ${error.message}`));
        worker.on('exit', (code) => {
          if (!this.closed) this.lost ??= `kernel thread ${t} exited (code ${code})`;
        });
        this.workers.push(worker);
      }
      // Every instantiation happens here, before this pool runs any kernel (instantiating re-writes
      // the module's static data, which a running GEMM must not see change under it).
      for (let t = 1; t < threads; t++) {
        const i = t * INTS + READY;
        const started = Date.now();
        while (Atomics.load(this.ctl, i) === 0) {
          if (Date.now() - started > START_TIMEOUT_MS) throw new Error(`kernel thread ${t} did not start within ${START_TIMEOUT_MS / 1000} s`);
          Atomics.wait(this.ctl, i, 0, 1000);
        }
        if (this.ctl[i] !== 1) throw new Error(`kernel thread ${t} could not start: ${this.error(t)}`);
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.kernels = this.makeKernels();
  }

  /** Stops the worker threads. The kernels keep working afterwards, on the calling thread alone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let t = 1; t <= this.workers.length; t++) {
      Atomics.store(this.ctl, t * INTS + REQ, -1);
      Atomics.notify(this.ctl, t * INTS + REQ);
    }
    for (const worker of this.workers) void worker.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- memory ----

  /**
   * Takes the pool's scratch from the arena: a partial-result buffer per worker, and a GEMM scratch
   * slot for each worker beyond the module's static ones (slot s lives at gemmScratch + s·slotBytes).
   * It is never given back. If an Arena.release has since dropped the arena below it, the pool takes
   * a fresh region before its next call (so create threaded backends before marks you release).
   */
  private reserve(): void {
    const arena = this.arena;
    const extraSlots = Math.max(0, this.threads - this.staticSlots);
    this.slots = [0];
    this.partials = [0];
    if (extraSlots > 0) {
      const region = arena.alloc((extraSlots + 1) * this.slotBytes);
      const first = Math.ceil((region - this.slotBase) / this.slotBytes);
      for (let t = 1; t < this.threads; t++) this.slots.push(t < this.staticSlots ? t : first + (t - this.staticSlots));
    } else {
      for (let t = 1; t < this.threads; t++) this.slots.push(t);
    }
    for (let t = 1; t < this.threads; t++) this.partials.push(arena.allocF32(PARTIAL_FLOATS));
    this.reservedEnd = arena.mark();
  }

  // ---- dispatch ----

  /** How many threads to use for `work` units when each thread should get at least `minPerThread`. */
  private parts(work: number, minPerThread: number, maxParts: number): number {
    if (this.closed) return 1;
    const p = Math.min(this.threads, Math.floor(work / minPerThread), maxParts);
    if (p >= 2 && this.arena.mark() < this.reservedEnd) this.reserve();
    return p;
  }

  /**
   * Runs `op` over the bands between consecutive `bounds`: band t on thread t, band 0 on the calling
   * thread, with the arguments argsFor(lo, hi, t). Returns when every band is done, with the sum of
   * the bands' i32 results; throws the first error (the caller's own, else the lowest-numbered
   * worker's).
   */
  private run(op: number, bounds: number[], argsFor: (lo: number, hi: number, t: number) => number[]): number {
    if (this.lost) throw new Error(`the kernel thread pool is broken: ${this.lost}`);
    const parts = bounds.length - 1;
    this.splitCalls++;
    const seq = (this.seq = (this.seq % 0x3fffffff) + 1);
    const ctl = this.ctl;
    for (let t = 1; t < parts; t++) {
      this.args[t].set(argsFor(bounds[t], bounds[t + 1], t)); // throws if more than ARGS
      ctl[t * INTS + OPCODE] = op;
      ctl[t * INTS + MODE] = 0;
      Atomics.store(ctl, t * INTS + REQ, seq);
      Atomics.notify(ctl, t * INTS + REQ);
    }
    let callerError: unknown = null;
    let result = 0;
    try {
      result = Number(this.fns[op](...argsFor(bounds[0], bounds[1], 0)) ?? 0);
    } catch (error) {
      callerError = error;
    }
    // Always wait for every worker, even after an error: none may still be writing when we return.
    let workerError: string | null = null;
    for (let t = 1; t < parts; t++) {
      this.waitFor(t, seq);
      if (ctl[t * INTS + STATUS] !== 0) workerError ??= `kernel thread ${t}: ${this.error(t)}`;
      result += ctl[t * INTS + RESULT];
    }
    if (callerError) throw callerError;
    if (workerError) throw new Error(workerError);
    return result;
  }

  /**
   * Runs `op` over the chunks between consecutive `bounds`, handed out one at a time from a shared
   * counter: every thread (the caller too) takes the next chunk until none is left, so a thread on
   * a faster or less busy core does more of them. Chunk i's arguments are base(t) + start·perStart +
   * length·perLength, argument by argument (base(t) differs by thread only in its scratch slot).
   * Only for kernels whose chunks write disjoint outputs and give the same bits whichever thread
   * runs them (bands of a GEMM), so the result does not depend on who took what.
   */
  private runChunks(op: number, bounds: number[], base: (t: number) => number[], perStart: number[], perLength: number[]): void {
    if (this.lost) throw new Error(`the kernel thread pool is broken: ${this.lost}`);
    const chunks = bounds.length - 1;
    if (chunks > MAX_CHUNKS) throw new RangeError(`runChunks: ${chunks} chunks, at most ${MAX_CHUNKS}`);
    this.splitCalls++;
    const seq = (this.seq = (this.seq % 0x3fffffff) + 1);
    const ctl = this.ctl;
    this.chunkBounds.set(bounds);
    this.perStart.fill(0).set(perStart);
    this.perLength.fill(0).set(perLength);
    ctl[CHUNK_COUNT] = chunks;
    Atomics.store(ctl, CHUNK_NEXT, 0);
    const threads = Math.min(this.threads, chunks);
    for (let t = 1; t < threads; t++) {
      this.args[t].fill(0).set(base(t));
      ctl[t * INTS + OPCODE] = op;
      ctl[t * INTS + MODE] = 1;
      Atomics.store(ctl, t * INTS + REQ, seq);
      Atomics.notify(ctl, t * INTS + REQ);
    }
    let callerError: unknown = null;
    try {
      const fn = this.fns[op];
      const args = base(0);
      const call = args.slice();
      for (let i = Atomics.add(ctl, CHUNK_NEXT, 1); i < chunks; i = Atomics.add(ctl, CHUNK_NEXT, 1)) {
        const start = bounds[i], length = bounds[i + 1] - bounds[i];
        for (let j = 0; j < args.length; j++) call[j] = args[j] + start * (perStart[j] ?? 0) + length * (perLength[j] ?? 0);
        fn(...call);
      }
    } catch (error) {
      callerError = error;
      Atomics.store(ctl, CHUNK_NEXT, chunks); // the others stop after their current chunk
    }
    let workerError: string | null = null;
    for (let t = 1; t < threads; t++) {
      this.waitFor(t, seq);
      if (ctl[t * INTS + STATUS] !== 0) workerError ??= `kernel thread ${t}: ${this.error(t)}`;
    }
    if (callerError) throw callerError;
    if (workerError) throw new Error(workerError);
  }

  private waitFor(t: number, seq: number): void {
    const ctl = this.ctl;
    const i = t * INTS + DONE;
    let done = Atomics.load(ctl, i);
    if (done === seq) return;
    const until = performance.now() + CALLER_SPIN_MS;
    for (let spin = 1; done !== seq; spin++) {
      if ((spin & 63) === 0 && performance.now() > until) break;
      done = Atomics.load(ctl, i);
    }
    if (done === seq) return;
    const started = Date.now();
    while (done !== seq) {
      if (Date.now() - started > CALL_TIMEOUT_MS) {
        this.lost = `kernel thread ${t} did not answer within ${CALL_TIMEOUT_MS / 1000} s`;
        throw new Error(`the kernel thread pool is broken: ${this.lost}`);
      }
      Atomics.wait(ctl, i, done, 1000);
      done = Atomics.load(ctl, i);
    }
  }

  private error(t: number): string {
    const len = this.ctl[t * INTS + ERROR_LEN];
    // TextDecoder refuses views of a SharedArrayBuffer: copy the bytes out first.
    return new TextDecoder().decode(this.errorText[t].slice(0, len));
  }

  // ---- the kernels ----

  private makeKernels(): Kernels {
    const one = this.single;
    const fns = this.fns;
    const slots = () => this.slots;
    const F = 4; // bytes per f32 / i32
    /** Geometry of each argmax buffer our maxPoolForward last wrote: images, inputs and outputs per image. */
    const pools = new Map<number, { batch: number; inPer: number; outPer: number }>();

    /**
     * A split product C (+)= A·B (NN) or A·Bᵀ (NT), optionally with bias and ReLU. Bands of M (rows
     * of A and C) when M is long; bands of N (columns of B and C, gemmStridedAt) when M is a batch of
     * a few hundred rows and N is wide enough, since every M band packs all of B, pre-splatted to 4x
     * its size: for a dense layer's 128x784x128 that packing is a fifth of each band's time, where an
     * N band packs half of B and A once. Both are bit-identical to one thread.
     */
    const gemmSplit = (form: number, a: number, b: number, c: number, m: number, k: number, n: number, accumulate: boolean, bias: number | null, relu: boolean): boolean => {
      const byColumns = m <= 256 && n >= 24;
      const p = this.parts(2 * m * k * n, this.minFlopsPerThread, byColumns ? Math.floor(n / 12) : Math.ceil(m / 8));
      if (p < 2) return false;
      const s = slots();
      const flags = (accumulate ? 1 : 0) | (bias === null ? 0 : 2) | (relu ? 4 : 0);
      const ldb = form === FORM_NT ? k : n;
      if (byColumns) {
        // A fixed band each: every column chunk would pack all of A again.
        this.run(OP.gemmStridedAt, bands(n, p, 6), (lo, hi, t) =>
          [form, a, b + (form === FORM_NT ? lo * k : lo) * F, c + lo * F, m, k, hi - lo, k, ldb, n, flags, (bias ?? 0) + lo * F, s[t]]);
      } else {
        // Row chunks from a shared counter: each repacks only B, which is small when M is long.
        // gemmStridedAt(form, a + start·k, b, c + start·n, length, k, n, k, ldb, n, flags, bias, slot).
        const chunks = bands(m, Math.min(p * CHUNKS_PER_THREAD, Math.ceil(m / 8)), 8);
        this.runChunks(OP.gemmStridedAt, chunks, (t) => [form, a, b, c, 0, k, n, k, ldb, n, flags, bias ?? 0, s[t]], [0, k * F, 0, n * F], [0, 0, 0, 0, 1]);
      }
      return true;
    };

    /** Row-split colSum-like reduction: the caller's band into `out`, the others' into partials. */
    const partialSum = (rows: number, cols: number, out: number, accumulate: number, x: number): boolean => {
      if (cols > PARTIAL_FLOATS) return false;
      const p = this.parts(rows * cols, this.minStreamPerThread, rows);
      if (p < 2) return false;
      const partials = this.partials;
      this.run(OP.colSum, bands(rows, p, 1), (lo, hi, t) =>
        t === 0 ? [x, out, hi, cols, accumulate] : [x + lo * cols * F, partials[t], hi - lo, cols, 0],
      );
      for (let t = 1; t < p; t++) fns[OP.axpy](partials[t], out, cols, 1);
      return true;
    };

    /** Element ranges of n values, boundaries on 16-float (64-byte) lines. */
    const ranges = (n: number): number[] | null => {
      const p = this.parts(n, this.minStreamPerThread, Math.ceil(n / 16));
      return p < 2 ? null : bands(n, p, 16);
    };

    /**
     * Chunks of images for runChunks (CHUNKS_PER_THREAD per thread) when `perImage` floats of
     * output each make enough work: for kernels whose images are independent, so that a faster core
     * takes more of them; the bits do not depend on who computes an image.
     */
    const imageChunks = (count: number, perImage: number): number[] | null => {
      const p = this.parts(count * perImage, this.minStreamPerThread, count);
      return p < 2 ? null : bands(count, Math.min(p * CHUNKS_PER_THREAD, count), 1);
    };

    /** Image (or row) bands when `perImage` floats of output each make enough work. */
    const images = (count: number, perImage: number): number[] | null => {
      const p = this.parts(count * perImage, this.minStreamPerThread, count);
      return p < 2 ? null : bands(count, p, 1);
    };

    /** Row bands of a sparse product, holding about equal numbers of entries (start: its CSR rows). */
    const sparseBands = (start: number, m: number, n: number): number[] | null => {
      const rowStart = this.arena.i32.subarray(start >> 2, (start >> 2) + m + 1);
      const p = this.parts(2 * rowStart[m] * n, this.minFlopsPerThread, m);
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
        // packing, but partial products to add. Measured: conv2's 288x15488x64 1.89x by K vs 1.79x
        // by M; a dense layer's 784x128x128 1.73x by M vs 1.23x by K.
        if (m >= 16 && (m >= k || m * n > PARTIAL_FLOATS)) {
          const p = this.parts(2 * m * k * n, this.minFlopsPerThread, Math.floor(m / 8));
          if (p < 2) return one.gemmTN(a, b, c, m, k, n, accumulate);
          const s = this.slots;
          this.run(OP.gemmStridedAt, bands(m, p, 8), (lo, hi, t) => [FORM_TN, a + lo * F, b, c + lo * n * F, hi - lo, k, n, m, n, n, accumulate ? 1 : 0, 0, s[t]]);
          return;
        }
        const p = m * n > PARTIAL_FLOATS ? 1 : this.parts(2 * m * k * n, this.minFlopsPerThread, Math.floor(k / 8));
        if (p < 2) return one.gemmTN(a, b, c, m, k, n, accumulate);
        const s = this.slots;
        const partials = this.partials;
        this.run(OP.gemmStridedAt, bands(k, p, 8), (lo, hi, t) =>
          t === 0
            ? [FORM_TN, a, b, c, m, hi, n, m, n, n, accumulate ? 1 : 0, 0, s[0]]
            : [FORM_TN, a + lo * m * F, b + lo * n * F, partials[t], m, hi - lo, n, m, n, n, 0, 0, s[t]],
        );
        for (let t = 1; t < p; t++) fns[OP.axpy](partials[t], c, m * n, 1);
      },

      sparseRows: (x, rows, cols, start, index, values, sums) => {
        // Bands of rows, each compressed from position lo·cols on (sparseRowsAt), then moved down
        // to follow the band before: the same CSR as one thread's. For a conv's dz these are the
        // image bands of the pool backward that wrote it, so each thread reads the rows it wrote.
        // Column sums: the caller's band into sums, the others' into partials, added in order.
        // Only big matrices: the MLP's 128x784 batch was no faster split (0.15 against 0.14 ms),
        // a [15488, 64] matrix 8% nonzero was (0.7 against 1.1 ms).
        const p = cols > PARTIAL_FLOATS ? 1 : this.parts(rows * cols, 8 * this.minStreamPerThread, rows);
        if (p < 2) return one.sparseRows(x, rows, cols, start, index, values, sums);
        const b = bands(rows, p, 1);
        const partials = this.partials;
        this.run(OP.sparseRowsAt, b, (lo, hi, t) => [x, lo, hi, cols, start, index, values, sums === 0 || t === 0 ? sums : partials[t]]);
        const ints = this.arena.i32, f32 = this.arena.f32;
        const S = start >> 2, I = index >> 2, V = values >> 2;
        for (let t = 1; t < b.length - 1; t++) {
          const lo = b[t], hi = b[t + 1];
          const from = lo * cols, to = ints[S + lo], end = ints[S + hi];
          ints.copyWithin(I + to, I + from, I + end);
          f32.copyWithin(V + to, V + from, V + end);
          for (let i = lo + 1; i <= hi; i++) ints[S + i] -= from - to;
        }
        if (sums !== 0) for (let t = 1; t < b.length - 1; t++) fns[OP.axpy](partials[t], sums, cols, 1);
        return ints[S + rows];
      },
      sparseGemm: (start, index, values, b, c, m, n) => {
        const r = sparseBands(start, m, n);
        if (!r) return one.sparseGemm(start, index, values, b, c, m, n);
        this.run(OP.sparseGemmRowsAt, r, (lo, hi) => [start, index, values, b, 0, c, lo, hi, n, 0, 0]);
      },
      sparseGemmBias: (start, index, values, b, bias, c, m, n, relu) => {
        const r = sparseBands(start, m, n);
        if (!r) return one.sparseGemmBias(start, index, values, b, bias, c, m, n, relu);
        this.run(OP.sparseGemmRowsAt, r, (lo, hi) => [start, index, values, b, bias, c, lo, hi, n, 1, relu]);
      },

      sparseGemmTN: (start, index, values, b, c, m, k, n) => {
        const r = k * n > PARTIAL_FLOATS ? null : sparseBands(start, m, n);
        if (!r) return one.sparseGemmTN(start, index, values, b, c, m, k, n);
        const partials = this.partials;
        const f32 = this.arena.f32;
        for (let t = 0; t < r.length - 1; t++) f32.fill(0, (t === 0 ? c : partials[t]) >> 2, ((t === 0 ? c : partials[t]) >> 2) + k * n);
        this.run(OP.sparseGemmTNRows, r, (lo, hi, t) => [start, index, values, b, t === 0 ? c : partials[t], lo, hi, n]);
        for (let t = 1; t < r.length - 1; t++) fns[OP.axpy](partials[t], c, k * n, 1);
      },

      colSum: (x, out, rows, cols, accumulate) => {
        if (!partialSum(rows, cols, out, accumulate, x)) one.colSum(x, out, rows, cols, accumulate);
      },

      relu: (x, y, n) => {
        const r = ranges(n);
        if (!r) return one.relu(x, y, n);
        this.run(OP.relu, r, (lo, hi) => [x + lo * F, y + lo * F, hi - lo]);
      },
      reluBackward: (dy, y, dx, n) => {
        const r = ranges(n);
        if (!r) return one.reluBackward(dy, y, dx, n);
        this.run(OP.reluBackward, r, (lo, hi) => [dy + lo * F, y + lo * F, dx + lo * F, hi - lo]);
      },
      mul: (a, b, out, n) => {
        const r = ranges(n);
        if (!r) return one.mul(a, b, out, n);
        this.run(OP.mul, r, (lo, hi) => [a + lo * F, b + lo * F, out + lo * F, hi - lo]);
      },
      dropoutMask: (mask, n, rate, scale, seed, start) => {
        const r = ranges(n);
        if (!r) return one.dropoutMask(mask, n, rate, scale, seed, start);
        this.run(OP.dropoutMask, r, (lo, hi) => [mask + lo * F, hi - lo, rate, scale, seed, start + lo]);
      },
      axpy: (x, y, n, alpha) => {
        const r = ranges(n);
        if (!r) return one.axpy(x, y, n, alpha);
        this.run(OP.axpy, r, (lo, hi) => [x + lo * F, y + lo * F, hi - lo, alpha]);
      },
      sgdUpdate: (w, g, v, n, lr, momentum, nesterov) => {
        const r = ranges(n);
        if (!r) return one.sgdUpdate(w, g, v, n, lr, momentum, nesterov);
        this.run(OP.sgdUpdate, r, (lo, hi) => [w + lo * F, g + lo * F, v + lo * F, hi - lo, lr, momentum, nesterov]);
      },
      adamUpdate: (w, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2) => {
        const r = ranges(n);
        if (!r) return one.adamUpdate(w, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2);
        this.run(OP.adamUpdate, r, (lo, hi) => [w + lo * F, g + lo * F, m + lo * F, v + lo * F, hi - lo, lr, beta1, beta2, epsilon, c1, c2]);
      },
      gatherRows: (src, indices, dst, count, rowLen) => {
        const b = images(count, rowLen);
        if (!b) return one.gatherRows(src, indices, dst, count, rowLen);
        this.run(OP.gatherRows, b, (lo, hi) => [src, indices + lo * F, dst + lo * rowLen * F, hi - lo, rowLen]);
      },

      im2col: (x, cols, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
        const row = kh * kw * c;
        const chunks = imageChunks(batch, outH * outW * row);
        if (!chunks) return one.im2col(x, cols, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
        // im2col(x + start·image, cols + start·(its rows), length, ...)
        this.runChunks(OP.im2col, chunks, () => [x, cols, 0, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW], [h * w * c * F, outH * outW * row * F], [0, 0, 1]);
      },
      col2im: (cols, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
        const row = kh * kw * c;
        const b = images(batch, outH * outW * row);
        if (!b) return one.col2im(cols, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
        this.run(OP.col2im, b, (lo, hi) => [cols + lo * outH * outW * row * F, x + lo * h * w * c * F, hi - lo, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW]);
      },
      sparseCol2im: (start, index, values, kt, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW) => {
        const chunks = imageChunks(batch, h * w * c);
        if (!chunks) return one.sparseCol2im(start, index, values, kt, x, batch, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW);
        // sparseCol2imImages(..., first = start, end = start + length, ...)
        this.runChunks(OP.sparseCol2imImages, chunks, () => [start, index, values, kt, x, 0, 0, h, w, c, kh, kw, sH, sW, pT, pL, outH, outW],
          [0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 1]);
      },
      conv2dC1Forward: (x, kernel, bias, y, batch, h, w, kh, kw, outH, outW, filters, relu) => {
        const out = outH * outW * filters;
        const b = images(batch, out);
        if (!b) return one.conv2dC1Forward(x, kernel, bias, y, batch, h, w, kh, kw, outH, outW, filters, relu);
        this.run(OP.conv2dC1Forward, b, (lo, hi) => [x + lo * h * w * F, kernel, bias, y + lo * out * F, hi - lo, h, w, kh, kw, outH, outW, filters, relu]);
      },
      conv2dC1KernelGrad: (x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters) => {
        // Bands of images: the caller's into dK and dbias, thread t's into its partial buffer (dK,
        // then dbias), then added in thread order (like gemmTN's K bands): differs from one thread
        // in rounding only.
        const size = kh * kw * filters, out = outH * outW * filters;
        const b = size + filters > PARTIAL_FLOATS ? null : images(batch, out);
        if (!b) return one.conv2dC1KernelGrad(x, dz, dK, dbias, batch, h, w, kh, kw, outH, outW, filters);
        const partials = this.partials;
        this.run(OP.conv2dC1KernelGrad, b, (lo, hi, t) =>
          [x + lo * h * w * F, dz + lo * out * F, t === 0 ? dK : partials[t], t === 0 ? dbias : partials[t] + size * F, hi - lo, h, w, kh, kw, outH, outW, filters]);
        for (let t = 1; t < b.length - 1; t++) {
          fns[OP.axpy](partials[t], dK, size, 1);
          fns[OP.axpy](partials[t] + size * F, dbias, filters, 1);
        }
      },
      conv2dC1PoolForward: (x, kernel, bias, y, argmax, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW) => {
        const out = outH * outW * filters;
        const chunks = pH * outW * pW * filters > PARTIAL_FLOATS ? null : imageChunks(batch, out * pH * pW);
        if (!chunks) return one.conv2dC1PoolForward(x, kernel, bias, y, argmax, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW);
        const partials = this.partials;
        // conv2dC1PoolForward(x + start·image, ..., y and argmax + start·(its outputs), this thread's scratch, length, ...)
        this.runChunks(OP.conv2dC1PoolForward, chunks, (t) => [x, kernel, bias, y, argmax, t === 0 ? scratch : partials[t], 0, h, w, kh, kw, filters, pH, pW, outH, outW],
          [h * w * F, 0, 0, out * F, out * F], [0, 0, 0, 0, 0, 0, 1]);
      },
      conv2dC1PoolKernelGrad: (x, dy, argmax, dK, dbias, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW) => {
        // As conv2dC1KernelGrad; a worker's partial buffer holds its dK, dbias, then its scratch.
        const size = kh * kw * filters, out = outH * outW * filters;
        const band = size + filters;
        const b = band + pH * outW * pW * filters > PARTIAL_FLOATS ? null : images(batch, out * pH * pW);
        if (!b) return one.conv2dC1PoolKernelGrad(x, dy, argmax, dK, dbias, scratch, batch, h, w, kh, kw, filters, pH, pW, outH, outW);
        const partials = this.partials;
        this.run(OP.conv2dC1PoolKernelGrad, b, (lo, hi, t) =>
          [x + lo * h * w * F, dy + lo * out * F, argmax + lo * out * F, t === 0 ? dK : partials[t], t === 0 ? dbias : partials[t] + size * F,
            t === 0 ? scratch : partials[t] + band * F, hi - lo, h, w, kh, kw, filters, pH, pW, outH, outW]);
        for (let t = 1; t < b.length - 1; t++) {
          fns[OP.axpy](partials[t], dK, size, 1);
          fns[OP.axpy](partials[t] + size * F, dbias, filters, 1);
        }
      },
      translateImages: (src, dst, shifts, batch, h, w, c) => {
        const b = images(batch, h * w * c);
        if (!b) return one.translateImages(src, dst, shifts, batch, h, w, c);
        const image = h * w * c * F;
        this.run(OP.translateImages, b, (lo, hi) => [src + lo * image, dst + lo * image, shifts + 2 * lo * F, hi - lo, h, w, c]);
      },
      maxPoolForward: (x, y, argmax, batch, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly) => {
        pools.set(argmax, { batch, inPer: h * w * c, outPer: outH * outW * c });
        const b = images(batch, h * w * c);
        if (!b) return one.maxPoolForward(x, y, argmax, batch, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly);
        this.run(OP.maxPoolForwardImages, b, (lo, hi) => [x, y, argmax, lo, hi, h, w, c, pH, pW, sH, sW, pT, pL, outH, outW, positiveOnly]);
      },
      maxPoolBackwardWindows: (dy, argmax, dx, batch, h, w, c, pH, pW, outH, outW) => {
        const b = images(batch, h * w * c);
        if (!b) return one.maxPoolBackwardWindows(dy, argmax, dx, batch, h, w, c, pH, pW, outH, outW);
        this.run(OP.maxPoolBackwardWindowsImages, b, (lo, hi) => [dy, argmax, dx, lo, hi, h, w, c, pH, pW, outH, outW]);
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
          const outside = this.run(OP.maxPoolBackwardRange, b, (lo, hi) =>
            [dy + lo * outPer * F, argmax + lo * outPer * F, dx, (hi - lo) * outPer, lo * inPer, hi * inPer]);
          if (outside === 0) return;
          pools.delete(argmax);
        }
        const r = ranges(inSize);
        if (!r) return one.maxPoolBackward(dy, argmax, dx, outSize, inSize);
        this.run(OP.maxPoolBackwardRange, r, (lo, hi) => [dy, argmax, dx, outSize, lo, hi]);
      },
    };
    return kernels;
  }
}
