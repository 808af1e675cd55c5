// One WebAssembly.Memory holds every tensor the engine computes on: parameters, gradients,
// optimizer state, activations, the dataset. TypeScript owns it as an arena of byte offsets
// ("pointers") that the kernels, WASM or reference, read and write in place.

const PAGE_BYTES = 65536;
/** 2 GiB: the shared memory must declare its maximum up front (asconfig.json's maximumMemory). */
export const MAX_PAGES = 32768;
/** 2 MiB to start with (asconfig.json's initialMemory); the arena grows it on demand. */
const INITIAL_PAGES = 32;

/** A new engine memory: shared (worker threads compute on it), growable up to MAX_PAGES. */
export function createMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  /** First byte the arena may hand out (above the kernels' static data and scratch). */
  readonly base: number;
  private top: number;
  /** How many allocations the arena has made: tests use it to show a training step makes none. */
  allocations = 0;
  private viewBuffer: ArrayBufferLike | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(memory?: WebAssembly.Memory, base = 1024) {
    this.memory = memory ?? createMemory();
    this.base = alignUp(base, 64);
    this.top = this.base;
  }

  /**
   * Reserves `bytes` bytes aligned to `align` (default 64: a cache line, and v128-aligned). `what`
   * names the request in the error thrown when it does not fit, with any hint the caller can give
   * (say "dense_1 activations for batch 128 (try a smaller batch size)").
   */
  alloc(bytes: number, what?: string, align = 64): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`Arena.alloc: invalid byte count ${bytes}${forWhat(what)}`);
    const ptr = alignUp(this.top, align);
    const end = ptr + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
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
    this.top = end;
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

  /** The arena's current top; `release(mark)` frees everything allocated after it. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new RangeError(`Arena.release: bad mark ${mark}`);
    this.top = mark;
  }

  get bytesInUse(): number {
    return this.top - this.base;
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
