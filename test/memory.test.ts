// The arena over the one WebAssembly.Memory: growth keeps earlier tensors valid (through fresh views
// and for the kernels), running out of memory is a clear error naming the request that changes
// nothing, mark/release.
import { describe, expect, test } from 'vitest';
import { getBackend } from '../src/backend/index.ts';
import { Arena, MAX_PAGES } from '../src/backend/memory.ts';

const PAGE = 65536;

describe('arena growth', () => {
  test('tensors allocated before memory.grow keep their values, seen through fresh views and by the kernels', () => {
    const { arena, kernels } = getBackend('wasm');
    const ref = getBackend('reference').kernels;
    const n = 1001;
    const a = arena.allocF32(n);
    const values = Float32Array.from({ length: n }, (_, i) => i * 0.25 - 100);
    arena.f32.set(values, a >> 2);
    const staleView = arena.f32;
    const bufferBefore = arena.memory.buffer;
    const bytesBefore = bufferBefore.byteLength;

    // A request bigger than what is left forces memory.grow.
    const big = arena.allocF32((bytesBefore - arena.mark()) / 4 + (64 << 20) / 4);
    expect(arena.memory.buffer.byteLength).toBeGreaterThan(bytesBefore);
    expect(arena.memory.buffer).not.toBe(bufferBefore);

    // Fresh views cover the new memory and still hold the old values.
    expect(arena.f32).not.toBe(staleView);
    expect(arena.f32.length).toBe(arena.memory.buffer.byteLength / 4);
    expect(Array.from(arena.f32.subarray(a >> 2, (a >> 2) + n))).toEqual(Array.from(values));
    expect(Array.from(arena.f32At(a, n))).toEqual(Array.from(values));

    // The kernels read the old tensor and write into the newly grown region (near its end).
    const out = big + (64 << 20) - 4 * (n + 16);
    kernels.mul(a, a, out, n);
    const expected = values.map((v) => v * v);
    expect(Array.from(arena.f32At(out, n))).toEqual(Array.from(expected));
    ref.mul(out, a, out, n); // the reference backend's views are refreshed as well
    expect(Array.from(arena.f32At(out, n))).toEqual(Array.from(expected.map((v, i) => Math.fround(v * values[i]))));
  });

  test('many small allocations grow the memory geometrically, not page by page', () => {
    const arena = new Arena();
    const pages0 = arena.memory.buffer.byteLength / PAGE;
    let grows = 0, last = arena.memory.buffer.byteLength;
    for (let i = 0; i < 2000; i++) {
      arena.allocF32(16 * 1024); // 64 KiB each, 125 MiB in total
      if (arena.memory.buffer.byteLength !== last) { grows++; last = arena.memory.buffer.byteLength; }
    }
    expect(last / PAGE).toBeGreaterThan(pages0 + 2000);
    expect(grows).toBeLessThan(20);
  });
});

describe('out of memory', () => {
  test('a request beyond the maximum throws a clear RangeError and changes nothing', () => {
    const arena = new Arena();
    const p = arena.allocF32(10);
    const inUse = arena.bytesInUse, bytes = arena.memory.buffer.byteLength;
    const tooMuch = MAX_PAGES * PAGE; // 2 GiB: more than fits above the arena's base
    expect(() => arena.alloc(tooMuch)).toThrow(RangeError);
    expect(() => arena.alloc(tooMuch)).toThrow(
      "out of WASM memory: 2.0 GiB, on top of 40 bytes already in use, exceeds the 2.0 GiB limit of the engine's WebAssembly memory");
    // The caller names the request and gives the hint it knows; no generic advice otherwise.
    expect(() => arena.allocF32(600_000_000, 'the parameters of a 1e9-unit dense layer')).toThrow(
      "out of WASM memory: 2.2 GiB for the parameters of a 1e9-unit dense layer, on top of 40 bytes already in use, exceeds the 2.0 GiB limit");
    expect(() => arena.allocI32(600_000_000, 'dense_1 activations for batch 1e6 (try a smaller batch size)')).toThrow(
      /^out of WASM memory: 2\.2 GiB for dense_1 activations for batch 1e6 \(try a smaller batch size\), on top of/);
    expect(() => arena.allocF32(600_000_000)).toThrow(/^out of WASM memory: 2\.2 GiB, on top of 40 bytes already in use, exceeds [^(]*$/);
    expect(arena.bytesInUse).toBe(inUse);
    expect(arena.memory.buffer.byteLength).toBe(bytes);
    expect(arena.allocF32(10)).toBeGreaterThan(p); // still usable afterwards
  });

  test('invalid sizes are rejected by name, with what they were for, and change nothing', () => {
    const arena = new Arena();
    expect(() => arena.alloc(-4)).toThrow(/invalid byte count -4/);
    expect(() => arena.alloc(2.5)).toThrow(/invalid byte count 2.5/);
    expect(() => arena.alloc(NaN, 'conv2d kernel')).toThrow('Arena.alloc: invalid byte count NaN for conv2d kernel');
    expect(() => arena.allocF32(2.5, 'dense_1 bias')).toThrow('Arena.allocF32: invalid element count 2.5 for dense_1 bias');
    expect(() => arena.allocI32(-1)).toThrow('Arena.allocI32: invalid element count -1');
    expect(() => arena.allocF32(Infinity)).toThrow('Arena.allocF32: invalid element count Infinity');
    expect(arena.bytesInUse).toBe(0);
    expect(arena.allocations).toBe(0);
  });
});

describe('mark / release', () => {
  test('release(mark) frees everything allocated after the mark; pointers are 64-byte aligned', () => {
    const arena = new Arena(undefined, 1000);
    expect(arena.base % 64).toBe(0);
    const keep = arena.allocF32(3);
    expect(keep % 64).toBe(0);
    const mark = arena.mark();
    const inUse = arena.bytesInUse;
    const a = arena.allocF32(5), b = arena.allocI32(7);
    expect(a % 64).toBe(0);
    expect(b % 64).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 20);
    arena.release(mark);
    expect(arena.bytesInUse).toBe(inUse);
    expect(arena.allocF32(5)).toBe(a); // the same space is handed out again
    expect(arena.alloc(4, 'a 4-aligned value', 4)).toBe(a + 20); // smaller alignment on request
  });

  test('release rejects marks outside [base, top]', () => {
    const arena = new Arena();
    arena.allocF32(4);
    expect(() => arena.release(arena.base - 64)).toThrow(/bad mark/);
    expect(() => arena.release(arena.mark() + 4)).toThrow(/bad mark/);
  });
});
