// The platform seam: the few things the engine's core needs from its host and cannot do in plain
// JavaScript. Node (node.ts) reads the .wasm from disk, turns on V8's relaxed-SIMD flag, runs kernel
// threads in worker_threads and writes model folders; a browser (browser.ts) fetches the .wasm,
// runs kernel threads in Web Workers and has no folders. The core (tensors, layers, model, kernels
// binding, memory, serialization to bytes) calls platform() and imports no `node:` module.
//
// The entries choose: src/index.ts installs the Node platform, src/browser.ts the browser one. A
// Node program that imports the engine's modules without an entry (a test, a script importing
// src/backend/index.ts) gets the Node platform by default, loaded below through a URL that bundlers
// do not follow, so a browser bundle never sees a `node:` import.

export type SimdFlavor = 'plain' | 'relaxed';

/** What a kernel thread gets: the engine's compiled kernels and memory, and the pool's control block. */
export interface KernelThreadData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  ops: readonly string[];
  /** The thread's index in the pool (1..threads-1; 0 is the calling thread). */
  index: number;
  /** Offsets in the control block (see thread-pool.ts). */
  layout: Record<string, number>;
}

export interface KernelThread {
  terminate(): void;
}

/** A model as the two files of the TensorFlow.js Layers format. */
export interface ModelFiles {
  /** model.json's text, its manifest naming `weightsPath` as the weights file. */
  modelJson(weightsPath: string): string;
  /** weights.bin: every weight as little-endian float32, in manifest order. */
  weights: Uint8Array;
}

export type SaveStep =
  | 'write new weights'
  | 'rename new weights'
  | 'write model.json naming the new weights'
  | 'commit model.json naming the new weights'
  | 'link weights.bin'
  | 'rename weights.bin'
  | 'write final model.json'
  | 'rename final model.json'
  | 'remove leftovers';

export interface SaveOptions {
  /** For tests: runs before each step; throwing there stands for a crash at that instant. */
  beforeStep?: (step: SaveStep) => void | Promise<void>;
}

export interface Platform {
  readonly name: 'node' | 'browser' | (string & {});
  /** A setting such as ENGINE_THREADS or ENGINE_SIMD (Node: the environment; a browser has none). */
  env(name: string): string | undefined;
  /** Logical cores: what `threads: 'all'` means. */
  cpuCount(): number;
  /** Whether this runtime can run the relaxed-SIMD build (Node turns V8's flag on first). */
  relaxedSimdSupported(): boolean;
  /** The compiled kernels of one build. Synchronous: a browser's init() fetched and compiled them before. */
  compileKernels(flavor: SimdFlavor): WebAssembly.Module;
  /**
   * Starts a kernel thread that instantiates `data.module` on `data.memory` and runs the loop of
   * src/backend/kernel-thread.mjs. `onLost` reports a thread that failed ("failed: why") or
   * exited ("exited (code N)") on its own.
   */
  startKernelThread(data: KernelThreadData, onLost: (reason: string) => void): KernelThread;
  /**
   * True where a started thread gets its data only once the starting thread returns to the event
   * loop (browsers): then a thread pool cannot block until its threads are ready, and whoever
   * creates one awaits its ready() (the browser entry's init does).
   */
  readonly threadsStartAsync: boolean;
  /** Lets timers and messages run (a training loop calls it now and then). */
  yieldToEventLoop(): Promise<void>;
  /** Writes a model folder (Node); a browser has none and says to use toArtifacts(). */
  saveModel(location: string | URL, files: ModelFiles, options: SaveOptions): Promise<void>;
}

let current: Platform | undefined;
let defaultFailure: unknown;

export function setPlatform(next: Platform): void {
  current = next;
}

export function platform(): Platform {
  if (current) return current;
  const why = defaultFailure ? ` (the Node default failed to load: ${(defaultFailure as Error).message ?? defaultFailure})` : '';
  throw new Error(
    `no platform is set: import the engine from its Node entry (src/index.ts) or its browser entry (src/browser.ts), or call setPlatform()${why}`,
  );
}

function runningInNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { document?: unknown }).document === 'undefined';
}

if (runningInNode()) {
  // node.ts or node.js, whichever this module is (the sources run as .ts, the package as .js).
  const extension = /\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js';
  // @vite-ignore: else Vite globs ./node* and ships the Node platform's sources as assets of a browser build.
  const url = new URL(/* @vite-ignore */ `./node${extension}`, import.meta.url).href;
  try {
    const { nodePlatform } = (await import(/* @vite-ignore */ url)) as { nodePlatform: Platform };
    current ??= nodePlatform;
  } catch (error) {
    // A bundled Node program has no node.js beside this file; its entry installs the platform.
    defaultFailure = error;
  }
}
