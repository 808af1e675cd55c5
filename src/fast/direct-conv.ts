// Replaces: a Conv2D with one input channel, stride 1 and 'valid' padding (an MNIST convnet's first
// conv, when no tiling max pool follows it: see conv-pool-one-channel.ts). Without a bias (cnn-bn's
// conv1, ahead of a BatchNormalization) the kernels get a bias of zeros and write their dbias into
// a scratch vector nobody reads.
// Why: with one channel the im2col matrix is only kh·kw (= 9) wide, too shallow a depth for a fast
// GEMM, so z and dW come from kernels that convolve x directly (the ReLU, if any, in the same pass).
// dx, when wanted, is the textbook dcols = dz·Wᵀ and col2im.
// Exact: the same sums as im2col + GEMM, in another order.
import type { Backend } from '../backend/index.ts';
import { activationBackward, activationForward } from '../layers/activations.ts';
import type { Conv2D } from '../layers/conv2d.ts';
import { matmul, matrix, T } from '../layers/matmul.ts';
import { FastLayer } from './fast-layer.ts';

export class DirectConv2D extends FastLayer {
  private x = 0;
  private z = 0;
  private y = 0;
  private dz = 0;
  private dcols = 0;
  private dx = 0;
  private bias = 0; // the bias, or zeros
  private biasGrad = 0; // its gradient, or a scratch

  static applies(conv: Conv2D): boolean {
    return conv.inputShape[2] === 1 && conv.strides[0] === 1 && conv.strides[1] === 1 && conv.padding === 'valid';
  }

  constructor(private readonly conv: Conv2D, backend: Backend) {
    super([conv], backend);
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const { filters, patchSize, activation } = this.conv;
    const positions = capacity * this.outputShape[0] * this.outputShape[1];
    this.z = this.allocF32(positions * filters, 'z');
    this.y = activation === 'linear' || activation === 'relu' ? this.z : this.allocF32(positions * filters, 'output');
    this.dz = activation === 'linear' ? -1 : this.allocF32(positions * filters, 'dL/dz');
    this.dcols = needInputGrad ? this.allocF32(positions * patchSize, 'dL/dcols') : -1;
    this.dx = needInputGrad ? this.allocF32(capacity * this.inputShape[0] * this.inputShape[1], 'dL/dx') : -1;
    const [, bias] = this.params;
    this.bias = bias?.value ?? this.allocF32(filters, 'zero bias');
    if (!bias) this.backend.arena.f32At(this.bias, filters).fill(0);
    this.biasGrad = bias?.grad ?? this.allocF32(filters, 'unused dbias');
  }

  forward(x: number, batch: number): number {
    const { filters, activation, kernelSize } = this.conv;
    const [h, w] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const [W] = this.params;
    const relu = activation === 'relu';
    this.x = x;
    this.kernels.conv2dC1Forward(x, W.value, this.bias, this.z, batch, h, w, kernelSize[0], kernelSize[1], outH, outW, filters, relu ? 1 : 0);
    return relu ? this.z : activationForward(this.kernels, activation, this.z, this.y, batch * outH * outW, filters);
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const { filters, activation, kernelSize, patchSize } = this.conv;
    const [h, w] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const [W] = this.params;
    const rows = batch * outH * outW;
    const dz = activationBackward(k, activation, this.y, dy, this.dz, rows, filters, this.z);
    // dW = colsᵀ·dz and dbias = Σ_rows dz, in one pass over x.
    k.conv2dC1KernelGrad(this.x, dz, W.grad, this.biasGrad, batch, h, w, kernelSize[0], kernelSize[1], outH, outW, filters);
    if (!needInputGrad) return -1;
    matmul(k, matrix(this.dcols, rows, patchSize), matrix(dz, rows, filters), T(matrix(W.value, patchSize, filters))); // dcols = dz·Wᵀ
    k.col2im(this.dcols, this.dx, ...this.conv.windowArgs(batch)); // dx = col2im(dcols)
    return this.dx;
  }
}
