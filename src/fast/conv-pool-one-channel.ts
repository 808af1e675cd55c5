// Replaces: Conv2D → MaxPooling2D at the start of a model (nothing with parameters before them, so no
// dL/dx is wanted), where the conv has one input channel, stride 1, 'valid' padding, a bias and a
// ReLU, and the pool's windows tile its input ('valid', strides = pool size): an MNIST convnet's
// conv1 → pool1.
// Why: with one channel the im2col matrix is only kh·kw (= 9) wide, too shallow for a fast GEMM, and
// the conv's full output ([B, 26, 26, 32] for MNIST, 11 MB) and its gradient are written once and
// read once. Here the conv is computed directly, one band of pool rows at a time in a small scratch
// that stays in cache, and pooled at once; backward expands the pooled gradient band by band and
// adds up dW and dbias.
// Exact: the same sums as im2col + GEMM (in another order), and the pool over ReLU outputs passes
// dL/dy only to winners above 0, where the ReLU's derivative is 1 (elsewhere it is 0).
import type { Backend } from '../backend/index.ts';
import type { Conv2D } from '../layers/conv2d.ts';
import type { MaxPooling2D } from '../layers/pooling.ts';
import { FastLayer } from './fast-layer.ts';

export class ConvPoolOneChannel extends FastLayer {
  private y = 0;
  private argmax = 0; // i32, the winner of each pool window within its band
  private scratch = 0; // one band of poolH conv output rows
  private x = 0;

  static applies(conv: Conv2D, pool: MaxPooling2D, needInputGrad: boolean): boolean {
    const [ph, pw] = pool.poolSize;
    return !needInputGrad && conv.inputShape[2] === 1 && conv.strides[0] === 1 && conv.strides[1] === 1 &&
      conv.padding === 'valid' && conv.useBias && conv.activation === 'relu' &&
      pool.padding === 'valid' && pool.strides[0] === ph && pool.strides[1] === pw;
  }

  constructor(private readonly conv: Conv2D, private readonly pool: MaxPooling2D, backend: Backend) {
    super([conv, pool], backend);
  }

  allocate(capacity: number): void {
    const [outH, outW, filters] = this.outputShape;
    const [ph, pw] = this.pool.poolSize;
    this.y = this.allocF32(capacity * outH * outW * filters, 'output');
    this.argmax = this.backend.arena.allocI32(capacity * outH * outW * filters, `${this.name} argmax`);
    this.scratch = this.allocF32(ph * outW * pw * filters, 'scratch band');
  }

  forward(x: number, batch: number): number {
    this.x = x;
    const [W, bias] = this.params;
    this.kernels.conv2dC1PoolForward(x, W.value, bias.value, this.y, this.argmax, this.scratch, batch, ...this.geometry());
    return this.y;
  }

  backward(dy: number, batch: number): number {
    const [W, bias] = this.params;
    this.kernels.conv2dC1PoolKernelGrad(this.x, dy, this.argmax, W.grad, bias.grad, this.scratch, batch, ...this.geometry());
    return -1;
  }

  private geometry(): [number, number, number, number, number, number, number, number, number] {
    const [h, w] = this.inputShape;
    const [outH, outW, filters] = this.outputShape;
    const [kh, kw] = this.conv.kernelSize;
    const [ph, pw] = this.pool.poolSize;
    return [h, w, kh, kw, filters, ph, pw, outH, outW];
  }
}
