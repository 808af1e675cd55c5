// A backend = the one memory arena + a set of kernels over it. Both backends share the same
// arena, so a tensor allocated once can be fed to either and their outputs compared.
//
// Threads: getBackend('wasm', { threads: N }) gives the WASM kernels split across N threads (the
// calling one included; see split-kernels.ts and thread-pool.ts) over the same arena. Without the option the count is
// ENGINE_THREADS if set, else the process default: 1 (tests, library use) unless a program raised
// it with setDefaultThreads (the CLIs use every core).
import { Arena, createMemory } from './memory.ts';
import type { Kernels } from './kernels.ts';
import { referenceKernels } from './reference/index.ts';
import { splitKernels, startThreadPool } from './split-kernels.ts';
import type { ThreadPool } from './thread-pool.ts';
import { platform } from '../platform/platform.ts';
import { chooseSimdFlavor, compileKernels, instantiateKernels, wasmKernels, type SimdFlavor } from './wasm.ts';

export type BackendName = 'wasm' | 'reference';

/**
 * Most threads a backend may use. Each worker thread takes a partial-result buffer (4 MiB) and a
 * GEMM scratch slot from the 2 GiB memory, and the splits cut a batch of 128 into bands: far past
 * the core count, extra threads only wait for each other. 'all' gives min(cores, MAX_THREADS).
 */
export const MAX_THREADS = 64;

export interface Backend {
  readonly name: BackendName;
  readonly flavor: SimdFlavor | 'typescript';
  readonly arena: Arena;
  readonly kernels: Kernels;
  /** Threads its kernels may use, the calling one included (1: single-threaded). */
  readonly threads: number;
  /** The worker pool behind a threaded backend (its `close()` stops the workers). */
  readonly pool?: ThreadPool;
}

export interface BackendOptions {
  /**
   * Threads for the WASM kernels, the calling one included: a whole number from 1 to MAX_THREADS,
   * or 'all' for every core (the platform's cpuCount(), at most MAX_THREADS). Default:
   * ENGINE_THREADS, else the process default (see setDefaultThreads; 1 unless raised). The
   * reference backend is always single-threaded.
   */
  threads?: number | 'all';
}

interface Runtime {
  arena: Arena;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  instance: WebAssembly.Instance;
  wasm: Backend;
  reference: Backend;
  /** Threaded WASM backends by thread count, each with its own pool of workers. */
  threaded: Map<number, { backend: Backend; pool: ThreadPool }>;
}

let runtime: Runtime | null = null;
let processDefaultThreads = 1;

function createRuntime(): Runtime {
  const flavor = chooseSimdFlavor();
  const module = compileKernels(flavor);
  const memory = createMemory();
  const wasm = instantiateKernels(module, memory);
  const arena = new Arena(memory, wasm.heapBase);
  return {
    arena,
    module,
    memory,
    instance: wasm.instance,
    wasm: { name: 'wasm', flavor, arena, kernels: wasmKernels(wasm.instance), threads: 1 },
    reference: { name: 'reference', flavor: 'typescript', arena, kernels: referenceKernels(arena), threads: 1 },
    threaded: new Map(),
  };
}

/**
 * The process-wide backend (WASM unless asked otherwise). Compiles the kernels on first use; starts
 * a pool of worker threads the first time a thread count > 1 is asked for, and reuses it after.
 */
export function getBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Backend {
  runtime ??= createRuntime();
  if (name === 'reference') return runtime.reference;
  if (name !== 'wasm') throw new Error(`unknown backend "${name}" (expected "wasm" or "reference")`);
  const threads = resolveThreads(options.threads);
  if (threads === 1) return runtime.wasm;
  let entry = runtime.threaded.get(threads);
  if (!entry || entry.pool.isClosed) {
    const { module, memory, instance, arena } = runtime;
    const pool = startThreadPool({ module, memory, instance, arena, threads });
    entry = { pool, backend: { name: 'wasm', flavor: runtime.wasm.flavor, arena, kernels: splitKernels(pool), threads, pool } };
    runtime.threaded.set(threads, entry);
  }
  return entry.backend;
}

/**
 * The thread count a backend gets when none is given: ENGINE_THREADS (a number or "all") if set,
 * else the process default.
 */
export function defaultThreads(): number {
  const env = platform().env('ENGINE_THREADS');
  if (env !== undefined && env.trim() !== '') return parseThreads(env.trim(), 'ENGINE_THREADS');
  return processDefaultThreads;
}

/** Sets the process default thread count ('all' = every core); ENGINE_THREADS still overrides it. */
export function setDefaultThreads(threads: number | 'all'): void {
  processDefaultThreads = parseThreads(threads, 'setDefaultThreads');
}

/**
 * Stops every worker thread. Backends already handed out keep working, single-threaded; a later
 * getBackend with threads > 1 starts a new pool. (Idle workers never keep the process alive, so
 * this is optional: for tidy shutdowns and tests.)
 */
export function closeThreads(): void {
  if (!runtime) return;
  for (const { pool } of runtime.threaded.values()) pool.close();
  runtime.threaded.clear();
}

function resolveThreads(threads: number | 'all' | undefined): number {
  return threads === undefined ? defaultThreads() : parseThreads(threads, 'threads');
}

function parseThreads(value: number | string, what: string): number {
  if (value === 'all') return Math.min(platform().cpuCount(), MAX_THREADS);
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number >= 1 or "all", got ${JSON.stringify(value)}`);
  if (n > MAX_THREADS) throw new Error(`${what} must be at most ${MAX_THREADS} (the engine's thread limit), got ${n}`);
  return n;
}

export type { Kernels } from './kernels.ts';
export type { ThreadPool } from './thread-pool.ts';
export { Arena } from './memory.ts';
