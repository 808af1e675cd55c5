// Entry point of the WASM build: every kernel of src/backend/kernels.ts, exported by name.
// Kernels are raw-pointer functions over the imported memory; TypeScript owns the arena that
// starts at heapBase(), above this module's static data and scratch space.
export * from './gemm';
export * from './elementwise';
export * from './conv';
export * from './sparse';
export * from './activations';
export * from './normalization';
export * from './average-pooling';
export * from './augment';
export * from './winograd';
export * from './batch-norm-relu';

export function heapBase(): usize {
  return __heap_base;
}
