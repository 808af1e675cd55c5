// The WASM backend: the AssemblyScript kernels of assembly/, compiled by `npm run build` into
// build/kernels.wasm (plain SIMD) and build/kernels-relaxed.wasm (relaxed SIMD: fused multiply-add).
// They are raw-pointer functions over the imported memory, so a call passes a few integers and
// copies nothing; that is why the engine binds the exports directly instead of using
// @assemblyscript/loader or asc's generated bindings, whose array helpers copy on every call.
import { KERNEL_NAMES, type Kernels } from './kernels.ts';
import { platform, type SimdFlavor } from '../platform/platform.ts';

export type { SimdFlavor };

/** Whether this runtime can run the relaxed-SIMD build. */
export function relaxedSimdSupported(): boolean {
  return platform().relaxedSimdSupported();
}

/** Picks the SIMD flavor: ENGINE_SIMD=plain|relaxed forces one; otherwise relaxed when it runs. */
export function chooseSimdFlavor(requested?: SimdFlavor | 'auto'): SimdFlavor {
  const wanted = requested && requested !== 'auto' ? requested : (platform().env('ENGINE_SIMD') as SimdFlavor | undefined);
  if (wanted !== undefined && wanted !== 'plain' && wanted !== 'relaxed') {
    throw new Error(`ENGINE_SIMD must be "plain" or "relaxed", got "${wanted}"`);
  }
  if (wanted === 'relaxed' && !relaxedSimdSupported()) {
    throw new Error('relaxed SIMD was requested but this runtime cannot run build/kernels-relaxed.wasm');
  }
  return wanted ?? (relaxedSimdSupported() ? 'relaxed' : 'plain');
}

export interface WasmModule {
  module: WebAssembly.Module;
  instance: WebAssembly.Instance;
  /** First free byte after the kernels' static data and scratch. */
  heapBase: number;
}

/** The compiled kernels of one build (read from build/ in Node; fetched by init() in a browser). */
export function compileKernels(flavor: SimdFlavor): WebAssembly.Module {
  return platform().compileKernels(flavor);
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): WasmModule {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const heapBase = (instance.exports.heapBase as () => number)();
  return { module, instance, heapBase };
}

/** Binds the kernel exports by name. A kernel the build lacks throws when called, naming itself. */
export function wasmKernels(instance: WebAssembly.Instance): Kernels {
  const kernels: Record<string, unknown> = {};
  for (const name of KERNEL_NAMES) {
    const fn = instance.exports[name];
    kernels[name] =
      typeof fn === 'function'
        ? fn
        : () => {
            throw new Error(`the WASM build does not export kernel "${name}" (rebuild with \`npm run build\`)`);
          };
  }
  return kernels as unknown as Kernels;
}
