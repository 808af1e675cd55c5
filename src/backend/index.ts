// A backend = the one memory arena + a set of kernels over it. Both backends share the same
// arena, so a tensor allocated once can be fed to either and their outputs compared.
import { Arena, MAX_PAGES } from './memory.ts';
import type { Kernels } from './kernels.ts';
import { referenceKernels } from './reference/index.ts';
import { chooseSimdFlavor, compileKernels, instantiateKernels, wasmKernels, type SimdFlavor } from './wasm.ts';

export type BackendName = 'wasm' | 'reference';

export interface Backend {
  readonly name: BackendName;
  readonly flavor: SimdFlavor | 'typescript';
  readonly arena: Arena;
  readonly kernels: Kernels;
}

interface Runtime {
  arena: Arena;
  wasm: Backend;
  reference: Backend;
}

let runtime: Runtime | null = null;

function createRuntime(): Runtime {
  const flavor = chooseSimdFlavor();
  const module = compileKernels(flavor);
  const memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared: true });
  const wasm = instantiateKernels(module, memory);
  const arena = new Arena(memory, wasm.heapBase);
  return {
    arena,
    wasm: { name: 'wasm', flavor, arena, kernels: wasmKernels(wasm.instance) },
    reference: { name: 'reference', flavor: 'typescript', arena, kernels: referenceKernels(arena) },
  };
}

/** The process-wide backend (WASM unless asked otherwise). Compiles the kernels on first use. */
export function getBackend(name: BackendName = 'wasm'): Backend {
  runtime ??= createRuntime();
  return runtime[name];
}

export type { Kernels } from './kernels.ts';
export { Arena } from './memory.ts';
