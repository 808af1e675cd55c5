// Matrix products written as math at the call site:  matmul(k, dW, T(x), dz)  is  dW = xᵀ·dz.
// Each picks the GEMM kernel for its transposes (gemmNN, gemmNT, gemmTN) and checks the shapes, so a
// layer never spells out a kernel's argument order.
import type { Kernels } from '../backend/kernels.ts';

/** A row-major [rows, cols] float32 matrix at a pointer in the engine's memory. */
export interface Matrix {
  readonly ptr: number;
  readonly rows: number;
  readonly cols: number;
  readonly transposed?: boolean;
}

export function matrix(ptr: number, rows: number, cols: number): Matrix {
  return { ptr, rows, cols };
}

/** The transpose of a matrix, as an operand (nothing is moved). */
export function T(m: Matrix): Matrix {
  return { ...m, transposed: !m.transposed };
}

/** out = a·b, or out = a·b + bias (bias added to every row) when a bias pointer is given. */
export function matmul(k: Kernels, out: Matrix, a: Matrix, b: Matrix, bias?: number): void {
  const [m, depth] = a.transposed ? [a.cols, a.rows] : [a.rows, a.cols];
  const [depthB, n] = b.transposed ? [b.cols, b.rows] : [b.rows, b.cols];
  if (depth !== depthB || out.rows !== m || out.cols !== n || out.transposed) {
    throw new Error(`matmul: cannot multiply [${m}, ${depth}] by [${depthB}, ${n}] into [${out.rows}, ${out.cols}]`);
  }
  if (bias !== undefined) {
    if (a.transposed || b.transposed) throw new Error('matmul: a bias needs untransposed operands');
    k.gemmNNBias(a.ptr, b.ptr, bias, out.ptr, m, depth, n, 0);
  } else if (a.transposed && b.transposed) {
    throw new Error('matmul: aᵀ·bᵀ has no kernel; compute (b·a)ᵀ instead');
  } else if (a.transposed) {
    k.gemmTN(a.ptr, b.ptr, out.ptr, m, depth, n, 0);
  } else if (b.transposed) {
    k.gemmNT(a.ptr, b.ptr, out.ptr, m, depth, n, 0);
  } else {
    k.gemmNN(a.ptr, b.ptr, out.ptr, m, depth, n, 0);
  }
}
