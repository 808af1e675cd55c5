// The arena over the one WebAssembly.Memory: growth keeps earlier tensors valid (through fresh views
// and for the kernels), running out of memory is a clear error naming the request that changes nothing, mark/release,
// free and reuse, and models that own and give back their memory.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { getBackend } from '../src/backend/index.ts';
import { Sequential, Dense, SGD, Tensor, loadModel } from '../src/index.ts';
import { Random } from '../src/random.ts';
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
      "out of WASM memory: 2.0 GiB, on top of 64 bytes already in use, exceeds the 2.0 GiB limit of the engine's WebAssembly memory");
    // The caller names the request and gives the hint it knows; no generic advice otherwise.
    expect(() => arena.allocF32(600_000_000, 'the parameters of a 1e9-unit dense layer')).toThrow(
      "out of WASM memory: 2.2 GiB for the parameters of a 1e9-unit dense layer, on top of 64 bytes already in use, exceeds the 2.0 GiB limit");
    expect(() => arena.allocI32(600_000_000, 'dense_1 activations for batch 1e6 (try a smaller batch size)')).toThrow(
      /^out of WASM memory: 2\.2 GiB for dense_1 activations for batch 1e6 \(try a smaller batch size\), on top of/);
    expect(() => arena.allocF32(600_000_000)).toThrow(/^out of WASM memory: 2\.2 GiB, on top of 64 bytes already in use, exceeds [^(]*$/);
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
  });

  test('release rejects marks outside [base, top]', () => {
    const arena = new Arena();
    arena.allocF32(4);
    expect(() => arena.release(arena.base - 64)).toThrow(/bad mark/);
    expect(() => arena.release(arena.mark() + 4)).toThrow(/bad mark/);
  });
});

describe('free and collect', () => {
  test('a freed block is reused; neighbouring holes merge; freeing the top block lowers the top', () => {
    const arena = new Arena();
    const a = arena.allocF32(16), b = arena.allocF32(16), c = arena.allocF32(16);
    const top = arena.mark();
    arena.free(b);
    expect(arena.allocF32(8)).toBe(b); // first fit, in b's hole
    arena.free(b);
    arena.free(a);
    expect(arena.allocF32(32)).toBe(a); // a and b's holes merged
    arena.free(c);
    expect(arena.mark()).toBe(top - 64);
    expect(() => arena.free(c)).toThrow(/is not an allocated block/);
  });

  test('collect returns the blocks allocated inside it, nested calls included', () => {
    const arena = new Arena();
    const outside = arena.allocF32(4);
    const { result, blocks } = arena.collect(() => {
      const x = arena.allocF32(4);
      const inner = arena.collect(() => arena.allocI32(2));
      return [x, inner.result];
    });
    expect(blocks).toEqual(result);
    expect(blocks).not.toContain(outside);
    const inUse = arena.bytesInUse;
    for (const p of blocks) arena.free(p);
    expect(arena.bytesInUse).toBe(inUse - 128);
    // All or nothing: a body that throws leaves nothing allocated.
    expect(() => arena.collect(() => [arena.allocF32(4), arena.allocF32(2 ** 30, 'too much')])).toThrow(/for too much/);
    expect(arena.bytesInUse).toBe(inUse - 128);
  });

  test('a model file with a 1e9-unit Dense fails naming the file, that the model is too large, and how much it needs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-memory-'));
    try {
      await new Sequential([new Dense({ units: 3, inputShape: [4] })]).save(dir);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      json.modelTopology.config.layers[0].config.units = 1e9;
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      const inUse = getBackend().arena.bytesInUse;
      await expect(loadModel(dir)).rejects.toThrow(/model\.json: out of WASM memory: 18\.6 GiB for .*5000000000 parameters.*the model is too large \(its parameters and their gradients need 38147\.0 MiB\)/);
      expect(getBackend().arena.bytesInUse).toBe(inUse);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('models own their memory', () => {
  const data = (n: number, seed: number) => {
    const rng = new Random(seed);
    const x = Tensor.from(Array.from({ length: n * 4 }, () => rng.uniform(-1, 1)), [n, 4]);
    return { x, y: Int32Array.from({ length: n }, (_, i) => i % 3) };
  };
  const model = (seed: number) => {
    const m = new Sequential([new Dense({ units: 8, activation: 'relu', inputShape: [4] }), new Dense({ units: 3, activation: 'softmax' })], { seed });
    m.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
    return m;
  };

  test('a plan made inside fit (a callback evaluating at a larger batch) survives fit: the next fit trains as without it', async () => {
    const { x, y } = data(64, 1);
    const [withCallback, without] = [model(3), model(3)];
    await withCallback.fit(x, y, { epochs: 2, batchSize: 8, onEpochEnd: () => void withCallback.evaluate(x, y, { batchSize: 64 }) });
    await without.fit(x, y, { epochs: 2, batchSize: 8 });
    await withCallback.fit(x, y, { epochs: 2, batchSize: 8 });
    await without.fit(x, y, { epochs: 2, batchSize: 8 });
    expect(withCallback.getWeights().map((w) => Array.from(w.data))).toEqual(without.getWeights().map((w) => Array.from(w.data)));
  });

  test('two models fitting at once train as they do one after the other; one model refuses a second fit', async () => {
    const a = data(256, 2), b = data(256, 3);
    const together = [model(4), model(5)];
    await Promise.all([together[0].fit(a.x, a.y, { epochs: 3, batchSize: 4 }), together[1].fit(b.x, b.y, { epochs: 3, batchSize: 16 })]);
    const apart = [model(4), model(5)];
    await apart[0].fit(a.x, a.y, { epochs: 3, batchSize: 4 });
    await apart[1].fit(b.x, b.y, { epochs: 3, batchSize: 16 });
    together.forEach((m, i) => expect(m.getWeights().map((w) => Array.from(w.data))).toEqual(apart[i].getWeights().map((w) => Array.from(w.data))));
    const m = model(6);
    const first = m.fit(a.x, a.y, { epochs: 2, batchSize: 4 });
    await expect(m.fit(a.x, a.y)).rejects.toThrow(/already training/);
    await first;
  });

  test('loadModel, predict and dispose 10,000 times run in bounded memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-memory-'));
    try {
      await model(7).save(dir);
      const arena = getBackend().arena;
      const x = data(2, 8).x;
      let top = 0;
      for (let i = 0; i < 10_000; i++) {
        const m = await loadModel(dir);
        m.predict(x);
        m.dispose();
        if (i === 100) top = arena.mark();
      }
      expect(arena.mark()).toBeLessThanOrEqual(top);
      const disposed = await loadModel(dir);
      disposed.dispose();
      expect(() => disposed.predict(x)).toThrow(/was disposed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
