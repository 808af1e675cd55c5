// The Node platform: the .wasm builds read from build/, V8 flags set before compiling, kernel
// threads in worker_threads, model folders written crash-safe (node-files.ts).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { saveModelFolder } from './node-files.ts';
import type { KernelThread, KernelThreadData, Platform, SimdFlavor } from './platform.ts';

const BUILD_DIR = fileURLToPath(new URL('../../build/', import.meta.url));
const WORKER_URL = new URL('./node-worker.mjs', import.meta.url);

let v8FlagsSet = false;

/**
 * Sets V8 flags that must precede compilation: relaxed SIMD (behind a flag on Node 20, and
 * NODE_OPTIONS refuses it) and no Liftoff, so the first epoch does not run in the baseline tier.
 */
function setV8Flags(): void {
  if (v8FlagsSet) return;
  v8FlagsSet = true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  v8.setFlagsFromString('--no-liftoff');
}

function readWasm(flavor: SimdFlavor): Uint8Array<ArrayBuffer> {
  const file = BUILD_DIR + (flavor === 'relaxed' ? 'kernels-relaxed.wasm' : 'kernels.wasm');
  if (!existsSync(file)) {
    throw new Error(`WASM kernels not built: ${file} is missing (run \`npm run build\`)`);
  }
  return new Uint8Array(readFileSync(file));
}

export const nodePlatform: Platform = {
  name: 'node',

  env: (name) => process.env[name],

  cpuCount: () => availableParallelism(),

  relaxedSimdSupported(): boolean {
    setV8Flags();
    try {
      return WebAssembly.validate(readWasm('relaxed'));
    } catch {
      return false;
    }
  },

  compileKernels(flavor: SimdFlavor): WebAssembly.Module {
    setV8Flags();
    return new WebAssembly.Module(readWasm(flavor));
  },

  startKernelThread(data: KernelThreadData, onLost: (reason: string) => void): KernelThread {
    // execArgv: [] keeps a tsx parent's loader out of the worker (node-worker.mjs needs none).
    const worker = new Worker(WORKER_URL, { workerData: data, execArgv: [] });
    worker.unref(); // an idle pool never keeps the process alive
    worker.on('error', (error) => onLost(`failed: ${error.message}`));
    worker.on('exit', (code) => onLost(`exited (code ${code})`));
    return { terminate: () => void worker.terminate() };
  },

  threadsStartAsync: false,

  yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),

  saveModel: saveModelFolder,
};
