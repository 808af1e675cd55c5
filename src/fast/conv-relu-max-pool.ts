// Replaces: Conv2D with a ReLU → MaxPooling2D (an MNIST convnet's conv2 → pool2).
// Why, three savings:
// - Cropping: a 'valid' pool whose windows do not reach the conv output's last rows or columns (an
//   odd size, 11x11 under a 2x2 pool) never reads them, so the conv computes only the region read
//   (10x10: 21 of 121 positions skipped). The windows of the positions kept are the same.
// - The pool does the ReLU's backward: over ReLU outputs, a window's winner has dL/dz = dL/dy if it
//   is above 0 and 0 if it is 0 (the ReLU's derivative), so the pool records no winner where y = 0
//   and its backward returns dL/dz itself.
// - Sparse backward: that dL/dz is nonzero at most once per window (6-10% of values while training
//   MNIST), so it is compressed to its nonzeros and the products that read it skip the zeros:
//     dWᵀ = dzᵀ·cols   (sparseGemmTN, then transpose)
//     dbias = Σ_rows dz  (summed while compressing)
//     dx = col2im(dz·Wᵀ) (sparseCol2im: each nonzero adds its row of Wᵀ into its window of dx,
//                         never forming dcols)
//   A dz more than a third nonzero takes the dense GEMMs instead.
// Exact: cropping drops outputs nobody reads; the sparse products skip terms that are exactly 0.
import type { Backend } from '../backend/index.ts';
import type { Conv2D, WindowArgs } from '../layers/conv2d.ts';
import type { MaxPooling2D } from '../layers/pooling.ts';
import { matmul, matrix, T } from '../layers/matmul.ts';
import { CompressedRows } from './compressed.ts';
import { FastLayer } from './fast-layer.ts';

export class ConvReluMaxPool extends FastLayer {
  /** The conv output rows and columns the pool reads. */
  private readonly cropH: number;
  private readonly cropW: number;
  private cols = 0;
  private z = 0; // the conv's ReLU output, cropped
  private y = 0;
  private argmax = 0; // i32
  private dz = 0;
  private dzRows: CompressedRows | null = null;
  private weightsT = 0; // [filters, kh·kw·C]: dWᵀ, then Wᵀ
  private dx = 0;

  static applies(conv: Conv2D, pool: MaxPooling2D): boolean {
    return conv.activation === 'relu' && pool.inputShape.length === 3;
  }

  constructor(private readonly conv: Conv2D, private readonly pool: MaxPooling2D, backend: Backend) {
    super([conv, pool], backend);
    const { outH, outW } = conv.geometry;
    const [ph, pw] = pool.poolSize;
    const [sh, sw] = pool.strides;
    const { outH: poolH, outW: poolW } = pool.geometry;
    const valid = pool.padding === 'valid';
    this.cropH = valid ? Math.min(outH, (poolH - 1) * sh + ph) : outH;
    this.cropW = valid ? Math.min(outW, (poolW - 1) * sw + pw) : outW;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const { patchSize, filters } = this.conv;
    const positions = capacity * this.cropH * this.cropW;
    const outSize = capacity * this.outputShape[0] * this.outputShape[1] * filters;
    this.cols = this.allocF32(positions * patchSize, 'im2col windows');
    this.z = this.allocF32(positions * filters, 'conv output');
    this.y = this.allocF32(outSize, 'output');
    this.argmax = this.backend.arena.allocI32(outSize, `${this.name} argmax`);
    this.dz = this.allocF32(positions * filters, 'dL/dz');
    this.dzRows = new CompressedRows(this.backend.arena, positions, filters);
    this.weightsT = this.allocF32(patchSize * filters, 'transposed kernel');
    this.dx = needInputGrad ? this.allocF32(capacity * this.inputShape[0] * this.inputShape[1] * this.inputShape[2], 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const k = this.kernels;
    const { patchSize, filters, useBias } = this.conv;
    const [W, bias] = this.params;
    const rows = batch * this.cropH * this.cropW;
    k.im2col(x, this.cols, ...this.windowArgs(batch));
    if (useBias) {
      k.gemmNNBias(this.cols, W.value, bias.value, this.z, rows, patchSize, filters, 1); // z = relu(cols·W + bias)
    } else {
      matmul(k, matrix(this.z, rows, filters), matrix(this.cols, rows, patchSize), matrix(W.value, patchSize, filters));
      k.relu(this.z, this.z, rows * filters);
    }
    const [ph, pw] = this.pool.poolSize;
    const [sh, sw] = this.pool.strides;
    const { outH, outW, padTop, padLeft } = this.pool.geometry;
    k.maxPoolForward(this.z, this.y, this.argmax, batch, this.cropH, this.cropW, filters, ph, pw, sh, sw, padTop, padLeft, outH, outW, 1);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const { patchSize, filters, useBias } = this.conv;
    const [W, bias] = this.params;
    const rows = batch * this.cropH * this.cropW;
    this.poolBackward(dy, batch); // dz = dL/dz of the conv, 0 except at winners above 0
    // Compressing dz also sums its columns: dbias = Σ_rows dz.
    const sparse = this.dzRows!.compress(k, this.dz, rows, filters, useBias ? bias.grad : 0);
    const { start, index, values } = this.dzRows!;
    const dz = matrix(this.dz, rows, filters);
    if (sparse) {
      k.sparseGemmTN(start, index, values, this.cols, this.weightsT, rows, filters, patchSize); // dWᵀ = dzᵀ·cols
      k.transpose(this.weightsT, W.grad, filters, patchSize);
    } else {
      matmul(k, matrix(W.grad, patchSize, filters), T(matrix(this.cols, rows, patchSize)), dz); // dW = colsᵀ·dz
    }
    if (!needInputGrad) return -1;
    if (sparse) {
      k.transpose(W.value, this.weightsT, patchSize, filters);
      k.sparseCol2im(start, index, values, this.weightsT, this.dx, ...this.windowArgs(batch)); // dx = col2im(dz·Wᵀ)
    } else {
      // cols is no longer needed once dW is known: dcols = dz·Wᵀ overwrites it.
      matmul(k, matrix(this.cols, rows, patchSize), dz, T(matrix(W.value, patchSize, filters)));
      k.col2im(this.cols, this.dx, ...this.windowArgs(batch));
    }
    return this.dx;
  }

  private poolBackward(dy: number, batch: number): void {
    const filters = this.conv.filters;
    const [ph, pw] = this.pool.poolSize;
    const { outH, outW } = this.pool.geometry;
    const tiling = this.pool.padding === 'valid' && this.pool.strides[0] === ph && this.pool.strides[1] === pw;
    if (tiling) {
      this.kernels.maxPoolBackwardWindows(dy, this.argmax, this.dz, batch, this.cropH, this.cropW, filters, ph, pw, outH, outW);
    } else {
      this.kernels.maxPoolBackward(dy, this.argmax, this.dz, batch * outH * outW * filters, batch * this.cropH * this.cropW * filters);
    }
  }

  /** The conv's im2col geometry, restricted to the cropped output. */
  private windowArgs(batch: number): WindowArgs {
    const args = this.conv.windowArgs(batch);
    args[10] = this.cropH;
    args[11] = this.cropW;
    return args;
  }
}
