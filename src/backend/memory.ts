// One WebAssembly.Memory holds every tensor the engine computes on: parameters, gradients,
// optimizer state, activations, the dataset. TypeScript owns it as an arena of byte offsets
// ("pointers") that the kernels, WASM or reference, read and write in place.

const PAGE_BYTES = 65536;
/** 2 GiB: the shared memory must declare its maximum up front (asconfig.json's maximumMemory). */
export const MAX_PAGES = 32768;
/** 2 MiB to start with (asconfig.json's initialMemory); the arena grows it on demand. */
const INITIAL_PAGES = 32;
const ALIGN = 64;

/** A new engine memory: shared (worker threads compute on it), growable up to MAX_PAGES. */
export function createMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

/**
 * The engine's memory allocator. Blocks are 64-byte aligned (a cache line, and v128-aligned).
 * Each owner frees what it took: a model frees its parameters, plans and optimizer state on
 * `dispose()`, `fit` its copy of the training set when it ends, so allocations of two models, or
 * of a callback inside `fit`, never overlap. Freed blocks are reused first-fit.
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  /** First byte the arena may hand out (above the kernels' static data and scratch). */
  readonly base: number;
  private top: number;
  /** Size of every live block, by pointer. */
  private readonly live = new Map<number, number>();
  /** Freed blocks below top, by ascending pointer, neighbours merged. */
  private holes: { ptr: number; bytes: number }[] = [];
  private collected: number[] | null = null;
  /** How many allocations the arena has made: tests use it to show a training step makes none. */
  allocations = 0;
  private viewBuffer: ArrayBufferLike | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(memory?: WebAssembly.Memory, base = 1024) {
    this.memory = memory ?? createMemory();
    this.base = alignUp(base, ALIGN);
    this.top = this.base;
  }

  /** Reserves `bytes` bytes; `what` names the request in an out-of-memory error. */
  alloc(bytes: number, what?: string): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`Arena.alloc: invalid byte count ${bytes}${forWhat(what)}`);
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    const hole = this.holes.findIndex((h) => h.bytes >= size);
    let ptr: number;
    if (hole >= 0) {
      ptr = this.holes[hole].ptr;
      if (this.holes[hole].bytes === size) this.holes.splice(hole, 1);
      else this.holes[hole] = { ptr: ptr + size, bytes: this.holes[hole].bytes - size };
    } else {
      ptr = this.top;
      this.ensureCapacity(ptr + size, bytes, what);
      this.top = ptr + size;
    }
    this.live.set(ptr, size);
    this.collected?.push(ptr);
    this.allocations++;
    return ptr;
  }

  /** Reserves room for `count` float32 values; returns the byte offset. `what` as in alloc. */
  allocF32(count: number, what?: string): number {
    return this.alloc(elementBytes('allocF32', count, what), what);
  }

  /** Reserves room for `count` int32 values; returns the byte offset. `what` as in alloc. */
  allocI32(count: number, what?: string): number {
    return this.alloc(elementBytes('allocI32', count, what), what);
  }

  /** Gives a block back. */
  free(ptr: number): void {
    const bytes = this.live.get(ptr);
    if (bytes === undefined) throw new RangeError(`Arena.free: ${ptr} is not an allocated block`);
    this.live.delete(ptr);
    let i = this.holes.findIndex((h) => h.ptr > ptr);
    if (i < 0) i = this.holes.length;
    this.holes.splice(i, 0, { ptr, bytes });
    // Merge with the hole after, then the one before.
    if (i + 1 < this.holes.length && ptr + bytes === this.holes[i + 1].ptr) {
      this.holes[i].bytes += this.holes[i + 1].bytes;
      this.holes.splice(i + 1, 1);
    }
    if (i > 0 && this.holes[i - 1].ptr + this.holes[i - 1].bytes === ptr) {
      this.holes[i - 1].bytes += this.holes[i].bytes;
      this.holes.splice(i, 1);
      i--;
    }
    const last = this.holes[this.holes.length - 1];
    if (last.ptr + last.bytes === this.top) {
      this.top = last.ptr;
      this.holes.pop();
    }
  }

  /**
   * Runs `body` and returns what it allocated alongside its result, so an owner can free it later.
   * All or nothing: if `body` throws, what it allocated is freed.
   */
  collect<T>(body: () => T): { result: T; blocks: number[] } {
    const outer = this.collected;
    const blocks: number[] = [];
    this.collected = blocks;
    try {
      const result = body();
      outer?.push(...blocks);
      return { result, blocks };
    } catch (error) {
      for (const block of blocks) this.free(block);
      throw error;
    } finally {
      this.collected = outer;
    }
  }

  /** The arena's current top, for scratch space used and given back at once (tests, benchmarks). */
  mark(): number {
    return this.top;
  }

  /** Frees every block at or above `mark`. */
  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new RangeError(`Arena.release: bad mark ${mark}`);
    for (const ptr of [...this.live.keys()]) if (ptr >= mark) this.live.delete(ptr);
    this.holes = this.holes.filter((h) => h.ptr < mark).map((h) => ({ ptr: h.ptr, bytes: Math.min(h.bytes, mark - h.ptr) }));
    this.top = mark;
    const last = this.holes[this.holes.length - 1];
    if (last && last.ptr + last.bytes === this.top) {
      this.top = last.ptr;
      this.holes.pop();
    }
  }

  /** Bytes in live blocks. */
  get bytesInUse(): number {
    let n = 0;
    for (const bytes of this.live.values()) n += bytes;
    return n;
  }

  private ensureCapacity(end: number, bytes: number, what: string | undefined): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const needPages = Math.ceil((end - have) / PAGE_BYTES);
    const pages = have / PAGE_BYTES;
    if (pages + needPages > MAX_PAGES) {
      throw new RangeError(
        `out of WASM memory: ${formatBytes(bytes)}${forWhat(what)}, on top of ${formatBytes(this.bytesInUse)} ` +
          `already in use, exceeds the ${formatBytes(MAX_PAGES * PAGE_BYTES)} limit of the engine's WebAssembly memory`,
      );
    }
    // Grow geometrically so that many small allocations do not grow page by page.
    this.memory.grow(Math.min(MAX_PAGES - pages, Math.max(needPages, pages >> 1)));
  }

  // Views over the whole memory. They are re-created whenever the memory has grown, because
  // growing gives `memory.buffer` a new (larger) buffer object and old views keep the old length.
  get f32(): Float32Array {
    this.refreshViews();
    return this.f32View;
  }

  get i32(): Int32Array {
    this.refreshViews();
    return this.i32View;
  }

  /** A Float32Array over [ptr, ptr + 4*count): valid until the memory next grows. */
  f32At(ptr: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, count);
  }

  i32At(ptr: number, count: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, count);
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.viewBuffer) return;
    this.viewBuffer = buffer;
    this.f32View = new Float32Array(buffer);
    this.i32View = new Int32Array(buffer);
  }
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Bytes of `count` 4-byte values, refusing a count that is not a whole number >= 0. */
function elementBytes(method: string, count: number, what: string | undefined): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`Arena.${method}: invalid element count ${count}${forWhat(what)}`);
  return count * 4;
}

function forWhat(what: string | undefined): string {
  return what ? ` for ${what}` : '';
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}
