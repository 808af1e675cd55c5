// A matrix kept as its nonzeros, in compressed rows (see the sparse kernels in kernels.ts), for the
// layers that multiply mostly by 0: a Dense fed image pixels, a conv whose dL/dz comes back through
// a max pool.
import type { Kernels } from '../backend/kernels.ts';
import type { Arena } from '../backend/memory.ts';

export class CompressedRows {
  readonly start: number;
  readonly index: number;
  readonly values: number;

  /** Room for a [rows, cols] matrix with every value nonzero. */
  constructor(arena: Arena, rows: number, cols: number) {
    this.start = arena.allocI32(rows + 1);
    this.index = arena.allocI32(rows * cols);
    this.values = arena.allocF32(rows * cols);
  }

  /**
   * Compresses x [rows, cols] into these buffers; returns whether to use the sparse products. They
   * took half the dense GEMMs' time at MNIST's 20% nonzero and broke even near 40%, so a matrix
   * more than a third nonzero is left to the dense ones. Writes x's column sums to `sums` unless
   * it is 0.
   */
  compress(kernels: Kernels, x: number, rows: number, cols: number, sums = 0): boolean {
    return kernels.sparseRows(x, rows, cols, this.start, this.index, this.values, sums) * 3 <= rows * cols;
  }
}
