// The dispatch mechanism behind the threaded kernels: worker threads that share the engine's one
// WebAssembly.Memory, and the calls that run one export over bands or chunks of a problem on all of
// them, the calling thread computing one share itself. Which kernels split, how and from what size
// is the policy of split-kernels.ts.
//
// Each worker (kernel-thread.mjs, started by the platform: worker_threads in Node, Web Workers in a
// browser) instantiates the SAME compiled WebAssembly.Module on the SAME shared
// memory, so a pointer means the same bytes everywhere. Dispatch goes through a small
// SharedArrayBuffer: per thread a request number, an op (which export to call) and 20 float64
// arguments. The caller writes them, bumps the request number and Atomics.notify's; the worker
// (spinning briefly, then in Atomics.wait) calls the export and publishes the request number as
// done; the caller computes its own share meanwhile, then waits for the others. No postMessage per
// call: an Atomics round trip costs microseconds, a message tens of them.
import { platform, type KernelThread } from '../platform/platform.ts';
import type { Arena } from './memory.ts';

/** Control block layout, shared with kernel-thread.mjs. Each thread's ints fill their own 128-byte lines. */
const INTS = 32; // Int32 per thread
const REQ = 0; // request number: the caller bumps it (−1 = quit)
const DONE = 1; // the worker copies the request number here when done
const STATUS = 2; // 0 ok, 1 the call threw (message in the error area)
const OPCODE = 3;
const READY = 4; // 1 instantiated, 2 failed (message in the error area)
const ERROR_LEN = 5;
const RESULT = 6; // the call's return value (an i32 count)
const MODE = 7; // 0: one call with this thread's arguments; 1: take chunks until none is left (runChunks)
const ARGS = 20; // float64 arguments per thread (kernel-thread.mjs passes this many)
/** In thread 0's ints (the caller never reads its own request fields): the shared chunk counter and count. */
const CHUNK_NEXT = 8;
const CHUNK_COUNT = 9;
const ERROR_BYTES = 4096;
/**
 * How long a worker polls for the next request before it sleeps in Atomics.wait: long enough to
 * bridge the gaps between the split calls of a training step, since waking a sleeping thread costs
 * more than the gap (docs/kernels.md has the figures). An idle pool costs nothing after it.
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
  /** The exports the pool may run, by name. */
  ops: readonly string[];
  /** Floats of the partial-result buffer each worker thread gets in the arena. */
  partialFloats: number;
  /** Most chunks one runChunks call may hand out. */
  maxChunks: number;
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
  readonly arena: Arena;
  /** The calling thread's instance of the kernels. */
  readonly instance: WebAssembly.Instance;
  /** Calls split so far (for tests and profiling). */
  splitCalls = 0;
  private readonly workers: KernelThread[] = [];
  private readonly ctl: Int32Array;
  private readonly args: Float64Array[] = [];
  private readonly perStart: Float64Array;
  private readonly perLength: Float64Array;
  private readonly chunkBounds: Int32Array;
  private readonly maxChunks: number;
  private readonly errorText: Uint8Array[] = [];
  private readonly opIndex: Map<string, number>;
  private readonly fns: ExportFn[];
  private readonly partialFloats: number;
  private readonly slotBase: number;
  private readonly slotBytes: number;
  private readonly staticSlots: number;
  private slotList: number[] = [0];
  private partialList: number[] = [0];
  private reservedEnd = 0;
  private seq = 0;
  private started = false;
  private closed = false;
  private lost: string | null = null;

  constructor(options: ThreadPoolOptions) {
    const { module, memory, instance, arena, ops, threads } = options;
    if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`ThreadPool: threads must be an integer >= 2, got ${threads}`);
    this.threads = threads;
    this.arena = arena;
    this.instance = instance;
    this.partialFloats = options.partialFloats;
    this.maxChunks = options.maxChunks;
    const exports = instance.exports as Record<string, unknown>;
    this.opIndex = new Map(ops.map((name, i) => [name, i]));
    this.fns = ops.map((name) => {
      const fn = exports[name];
      if (typeof fn !== 'function') throw new Error(`the WASM build does not export "${name}" (rebuild with \`npm run build\`)`);
      return fn as ExportFn;
    });
    this.slotBase = (exports.gemmScratch as () => number)();
    this.slotBytes = (exports.gemmSlotBytes as () => number)();
    this.staticSlots = (exports.gemmSlots as () => number)();
    this.reserve();

    const argsOffset = threads * INTS * 4;
    const errorOffset = argsOffset + threads * ARGS * 8;
    // runChunks: per argument, how it moves with a chunk's start and length; then the chunk bounds.
    const coefOffset = errorOffset + threads * ERROR_BYTES;
    const boundsOffset = coefOffset + 2 * ARGS * 8;
    const control = new SharedArrayBuffer(boundsOffset + (this.maxChunks + 1) * 4);
    this.ctl = new Int32Array(control);
    this.perStart = new Float64Array(control, coefOffset, ARGS);
    this.perLength = new Float64Array(control, coefOffset + ARGS * 8, ARGS);
    this.chunkBounds = new Int32Array(control, boundsOffset, this.maxChunks + 1);
    for (let t = 0; t < threads; t++) {
      this.args.push(new Float64Array(control, argsOffset + t * ARGS * 8, ARGS));
      this.errorText.push(new Uint8Array(control, errorOffset + t * ERROR_BYTES, ERROR_BYTES));
    }
    const layout = {
      INTS, REQ, DONE, STATUS, OP: OPCODE, READY, ERROR_LEN, RESULT, MODE, ARGS, ARGS_OFFSET: argsOffset,
      ERROR_OFFSET: errorOffset, ERROR_BYTES, SPIN_MS: WORKER_SPIN_MS,
      CHUNK_NEXT, CHUNK_COUNT, COEF_OFFSET: coefOffset, BOUNDS_OFFSET: boundsOffset, MAX_CHUNKS: this.maxChunks,
    };
    try {
      for (let t = 1; t < threads; t++) {
        const data = { module, memory, control, ops, index: t, layout };
        const worker = platform().startKernelThread(data, (reason) => {
          if (!this.closed) this.lost ??= `kernel thread ${t} ${reason}`;
        });
        this.workers.push(worker);
      }
      // Every instantiation happens before this pool runs any kernel (instantiating re-writes the
      // module's static data, which a running GEMM must not see change under it). Where threads
      // get their data only once this thread returns to the event loop (a browser), the caller
      // awaits ready() instead, and the first dispatch checks.
      if (!platform().threadsStartAsync) this.waitUntilStarted();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Blocks until every worker thread has instantiated the kernels; throws if one could not. */
  private waitUntilStarted(): void {
    if (this.started) return;
    for (let t = 1; t < this.threads && platform().threadsStartAsync; t++) {
      if (Atomics.load(this.ctl, t * INTS + READY) === 0) {
        // Blocking would wait for nothing: the thread gets its data only after this call returns.
        throw new Error(`kernel thread ${t} has not started yet: await the pool's ready() (init({ threads }) does) before its first kernel call`);
      }
    }
    try {
      for (let t = 1; t < this.threads; t++) {
        const i = t * INTS + READY;
        const started = Date.now();
        while (Atomics.load(this.ctl, i) === 0) {
          if (Date.now() - started > START_TIMEOUT_MS) throw new Error(`kernel thread ${t} did not start within ${START_TIMEOUT_MS / 1000} s`);
          Atomics.wait(this.ctl, i, 0, 1000);
        }
        if (this.ctl[i] !== 1) throw new Error(`kernel thread ${t} could not start: ${this.error(t)}`);
      }
    } catch (error) {
      this.lost ??= (error as Error).message;
      this.close();
      throw error;
    }
    this.started = true;
  }

  /**
   * Resolves once every worker thread has instantiated the kernels, without blocking the event
   * loop (which a browser's threads need to receive their data); rejects if one could not start.
   */
  async ready(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let t = 1; t < this.threads; t++) {
      while (Atomics.load(this.ctl, t * INTS + READY) === 0 && Date.now() < deadline && !this.lost) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    if (this.lost && !this.started) throw new Error(`the kernel thread pool is broken: ${this.lost}`);
    this.waitUntilStarted();
  }

  /** Stops the worker threads. Kernels split over this pool keep working, on the calling thread alone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let t = 1; t <= this.workers.length; t++) {
      Atomics.store(this.ctl, t * INTS + REQ, -1);
      Atomics.notify(this.ctl, t * INTS + REQ);
    }
    for (const worker of this.workers) worker.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- per-thread scratch ----

  /** GEMM scratch slot of each thread (thread 0 = the caller, slot 0), for gemmStridedAt. */
  get slots(): readonly number[] {
    return this.slotList;
  }

  /** Partial-result buffer (partialFloats floats) of each worker thread (index 0 unused). */
  get partials(): readonly number[] {
    return this.partialList;
  }

  /**
   * Takes the pool's scratch from the arena: a partial-result buffer per worker, and a GEMM scratch
   * slot for each worker beyond the module's static ones (slot s lives at gemmScratch + s·slotBytes).
   * It is never given back. If an Arena.release has since dropped the arena below it, the pool takes
   * a fresh region before its next call (so create threaded backends before marks you release).
   */
  private reserve(): void {
    const arena = this.arena;
    const extraSlots = Math.max(0, this.threads - this.staticSlots);
    this.slotList = [0];
    this.partialList = [0];
    if (extraSlots > 0) {
      const region = arena.alloc((extraSlots + 1) * this.slotBytes, `the GEMM scratch of ${this.threads} kernel threads`);
      const first = Math.ceil((region - this.slotBase) / this.slotBytes);
      for (let t = 1; t < this.threads; t++) this.slotList.push(t < this.staticSlots ? t : first + (t - this.staticSlots));
    } else {
      for (let t = 1; t < this.threads; t++) this.slotList.push(t);
    }
    for (let t = 1; t < this.threads; t++) this.partialList.push(arena.allocF32(this.partialFloats, `the partial results of kernel thread ${t}`));
    this.reservedEnd = arena.mark();
  }

  // ---- dispatch ----

  /**
   * How many threads to use for `work` units when each thread should get at least `minPerThread`
   * and there are at most `maxParts` pieces (1 once the pool is closed). Read slots and partials
   * after this call: it re-takes the scratch if the arena was released below it.
   */
  share(work: number, minPerThread: number, maxParts: number): number {
    if (this.closed) return 1;
    const p = Math.min(this.threads, Math.floor(work / minPerThread), maxParts);
    if (p >= 2 && this.arena.mark() < this.reservedEnd) this.reserve();
    return p;
  }

  /**
   * Runs export `op` over the bands between consecutive `bounds`: band t on thread t, band 0 on the
   * calling thread, with the arguments argsFor(lo, hi, t). Returns when every band is done, with the
   * sum of the bands' i32 results; throws the first error (the caller's own, else the
   * lowest-numbered worker's).
   */
  run(op: string, bounds: number[], argsFor: (lo: number, hi: number, t: number) => number[]): number {
    const index = this.op(op);
    const parts = bounds.length - 1;
    if (parts > this.threads) throw new RangeError(`ThreadPool.run: ${parts} bands for ${this.threads} threads`);
    this.splitCalls++;
    const seq = (this.seq = (this.seq % 0x3fffffff) + 1);
    const ctl = this.ctl;
    for (let t = 1; t < parts; t++) {
      this.args[t].set(argsFor(bounds[t], bounds[t + 1], t)); // throws if more than ARGS
      ctl[t * INTS + OPCODE] = index;
      ctl[t * INTS + MODE] = 0;
      Atomics.store(ctl, t * INTS + REQ, seq);
      Atomics.notify(ctl, t * INTS + REQ);
    }
    let callerError: unknown = null;
    let result = 0;
    try {
      result = Number(this.fns[index](...argsFor(bounds[0], bounds[1], 0)) ?? 0);
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
   * Runs export `op` over the chunks between consecutive `bounds`, handed out one at a time from a
   * shared counter: every thread (the caller too) takes the next chunk until none is left, so a
   * thread on a faster or less busy core does more of them. Chunk i's arguments are base(t) +
   * start·perStart + length·perLength, argument by argument (base(t) differs by thread only in its
   * scratch). Only for kernels whose chunks write disjoint outputs and give the same bits whichever
   * thread runs them, so the result does not depend on who took what.
   */
  runChunks(op: string, bounds: number[], base: (t: number) => number[], perStart: number[], perLength: number[]): void {
    const index = this.op(op);
    const chunks = bounds.length - 1;
    if (chunks > this.maxChunks) throw new RangeError(`ThreadPool.runChunks: ${chunks} chunks, at most ${this.maxChunks}`);
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
      ctl[t * INTS + OPCODE] = index;
      ctl[t * INTS + MODE] = 1;
      Atomics.store(ctl, t * INTS + REQ, seq);
      Atomics.notify(ctl, t * INTS + REQ);
    }
    let callerError: unknown = null;
    try {
      const fn = this.fns[index];
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

  /** The index of export `name` among the pool's ops; throws if the pool is broken. */
  private op(name: string): number {
    if (!this.started && !this.lost) this.waitUntilStarted();
    if (this.lost) throw new Error(`the kernel thread pool is broken: ${this.lost}`);
    const index = this.opIndex.get(name);
    if (index === undefined) throw new Error(`ThreadPool: "${name}" is not one of the pool's ops`);
    return index;
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
}
