// The public API in Node: a Keras-like deep-learning engine with hand-written backprop and WASM SIMD
// kernels. (src/browser.ts is the browser's entry: the same core, with init, fetch-based MNIST and
// artifacts instead of folders.)
import { nodePlatform } from './platform/node.ts';
import { setPlatform } from './platform/platform.ts';
import { getBackend as backendFor, setDefaultThreads as setThreads } from './backend/index.ts';
import type { InitOptions, InitResult } from './core.ts';

setPlatform(nodePlatform);

/**
 * Compiles the kernels and starts the kernel threads now rather than on first use. Optional in
 * Node (it exists so code can be shared with the browser entry, where it must be awaited first).
 */
export async function init(options: InitOptions = {}): Promise<InitResult> {
  if (options.threads !== undefined) setThreads(options.threads);
  const backend = backendFor('wasm');
  return { threads: backend.threads, simd: backend.flavor as 'relaxed' | 'plain' };
}

export * from './core.ts';
export { loadModel } from './model/serialization.ts';
export { loadMnist } from './data/mnist.ts';
export type { MnistData, LoadMnistOptions } from './data/mnist.ts';
