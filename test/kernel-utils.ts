// Shared helpers for the kernel tests: a seeded RNG, guarded allocations in the engine's arena,
// tolerance checks, the WASM builds to test (plain and, when it runs, relaxed) and conv geometry.
import { expect } from 'vitest';
import { getBackend, type Kernels } from '../src/backend/index.ts';
import type { Arena } from '../src/backend/memory.ts';
import { compileKernels, instantiateKernels, relaxedSimdSupported, wasmKernels, type SimdFlavor } from '../src/backend/wasm.ts';
import { Random } from '../src/random.ts';

/** Uniform floats in [0, 1) from the engine's seeded generator (src/random.ts). */
export function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** Uniform values in [lo, hi). */
export function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** The sizes every dimension is tested at: SIMD-width edges (1, 3, 4, 5, 7, 8), odd and large. */
export const SIZES = [1, 3, 4, 5, 7, 8, 17, 64, 785];

export interface Flavor {
  name: string;
  kernels: Kernels;
}

/**
 * The kernel sets under test, all over the one shared arena: the reference twin and every WASM
 * build this runtime can run (plain SIMD always, relaxed SIMD when supported).
 */
export function backends(): { arena: Arena; reference: Kernels; wasm: Flavor[] } {
  const backend = getBackend('wasm');
  const arena = backend.arena;
  const flavors: SimdFlavor[] = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];
  const wasm = flavors.map((flavor) => {
    if (flavor === backend.flavor) return { name: flavor, kernels: backend.kernels };
    // A second instance on the same memory re-writes its (identical, read-only) static data below
    // heapBase; it must not reach into the arena.
    const inst = instantiateKernels(compileKernels(flavor), arena.memory);
    expect(inst.heapBase).toBeLessThanOrEqual(arena.base);
    return { name: flavor, kernels: wasmKernels(inst.instance) };
  });
  return { arena, reference: getBackend('reference').kernels, wasm };
}

/** A value no kernel computes by accident, written around every test buffer. */
export const GUARD = -98765.4375;
const LEAD = 3; // floats before a buffer: data pointers are 4-byte but not 16-byte aligned
const TRAIL = 5;

/** Guarded f32/i32 buffers in the arena; `checkGuards` asserts that no kernel wrote outside one. */
export class Buffers {
  private guarded: { ptr: number; n: number }[] = [];
  private readonly start: number;

  constructor(readonly arena: Arena) {
    this.start = arena.mark();
  }

  /** Allocates n floats (filled from `init` if given, else with GUARD) between guard cells. */
  f32(n: number, init?: ArrayLike<number>): number {
    const base = this.arena.allocF32(LEAD + n + TRAIL);
    const ptr = base + LEAD * 4;
    const f = this.arena.f32;
    f.fill(GUARD, base >> 2, (base >> 2) + LEAD + n + TRAIL);
    if (init) f.set(init, ptr >> 2);
    this.guarded.push({ ptr, n });
    return ptr;
  }

  i32(values: ArrayLike<number>): number {
    const ptr = this.f32(values.length);
    this.arena.i32.set(values, ptr >> 2);
    return ptr;
  }

  /** A copy of n floats at ptr. */
  read(ptr: number, n: number): Float32Array {
    return this.arena.f32.slice(ptr >> 2, (ptr >> 2) + n);
  }

  readI32(ptr: number, n: number): Int32Array {
    return this.arena.i32.slice(ptr >> 2, (ptr >> 2) + n);
  }

  write(ptr: number, values: ArrayLike<number>): void {
    this.arena.f32.set(values, ptr >> 2);
  }

  checkGuards(): void {
    const f = this.arena.f32;
    for (const { ptr, n } of this.guarded) {
      const i = ptr >> 2;
      for (let k = 1; k <= LEAD; k++) if (f[i - k] !== GUARD) throw new Error(`wrote ${k} floats before a buffer of ${n}`);
      for (let k = 0; k < TRAIL; k++) if (f[i + n + k] !== GUARD) throw new Error(`wrote ${k + 1} floats past a buffer of ${n}`);
    }
  }

  /** Checks the guards, then frees everything this object allocated. */
  done(): void {
    this.checkGuards();
    this.guarded = [];
    this.arena.release(this.start);
  }
}

/**
 * Asserts |actual − expected| ≤ tol(i) elementwise (default: rtol·|expected| + atol), NaN only where
 * NaN is expected; reports the first offender with its index.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; tol?: (i: number) => number; what?: string } = {},
): void {
  const { rtol = 1e-6, atol = 0, what = 'values' } = opts;
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const tol = opts.tol ? opts.tol(i) : rtol * Math.abs(e) + atol;
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > tol ${tol})`);
    }
  }
}

/** Bit-for-bit equality (also distinguishes −0 from 0 and compares NaNs as equal). */
export function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

export interface Geometry {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/** Keras geometry: 'valid' outH = floor((h − k)/s) + 1; 'same' outH = ceil(h/s), padTop = floor(total/2). */
export function convGeometry(h: number, w: number, kh: number, kw: number, sh: number, sw: number, padding: 'valid' | 'same'): Geometry {
  if (padding === 'valid') {
    return { outH: Math.floor((h - kh) / sh) + 1, outW: Math.floor((w - kw) / sw) + 1, padTop: 0, padLeft: 0 };
  }
  const outH = Math.ceil(h / sh), outW = Math.ceil(w / sw);
  const padH = Math.max((outH - 1) * sh + kh - h, 0), padW = Math.max((outW - 1) * sw + kw - w, 0);
  return { outH, outW, padTop: Math.floor(padH / 2), padLeft: Math.floor(padW / 2) };
}

export interface Conv {
  batch: number; h: number; w: number; c: number;
  kh: number; kw: number; sh: number; sw: number;
  padding: 'valid' | 'same';
}

/** Geometries covering 1x1, kernel > stride, stride > kernel, kernel ≥ image, non-square everything. */
export const CONV_GEOMETRIES: Omit<Conv, 'batch' | 'c'>[] = [
  { h: 1, w: 1, kh: 1, kw: 1, sh: 1, sw: 1, padding: 'valid' },
  { h: 3, w: 3, kh: 2, kw: 2, sh: 1, sw: 1, padding: 'valid' },
  { h: 3, w: 3, kh: 3, kw: 3, sh: 2, sw: 2, padding: 'same' },
  { h: 5, w: 7, kh: 3, kw: 3, sh: 1, sw: 1, padding: 'same' },
  { h: 7, w: 5, kh: 3, kw: 3, sh: 2, sw: 2, padding: 'same' },
  { h: 8, w: 8, kh: 5, kw: 5, sh: 1, sw: 1, padding: 'same' },
  { h: 4, w: 17, kh: 2, kw: 3, sh: 3, sw: 3, padding: 'same' },
  { h: 17, w: 4, kh: 2, kw: 3, sh: 2, sw: 1, padding: 'valid' },
  { h: 5, w: 5, kh: 7, kw: 7, sh: 1, sw: 1, padding: 'same' },
  { h: 6, w: 9, kh: 1, kw: 4, sh: 1, sw: 4, padding: 'same' },
  { h: 28, w: 28, kh: 3, kw: 3, sh: 1, sw: 1, padding: 'valid' },
  { h: 13, w: 13, kh: 3, kw: 3, sh: 2, sw: 2, padding: 'valid' },
];
