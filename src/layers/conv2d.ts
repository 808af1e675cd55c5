// Conv2D, NHWC:  y[b, i, j, f] = act( Σ_{ky, kx, c} x[b, i·s + ky − p, j·s + kx − p, c] · W[ky, kx, c, f] + bias[f] )
//
// Computed as one matrix product: im2col copies every input window into a row of
//   cols [B·outH·outW, kh·kw·C]
// and the Keras kernel W [kh, kw, C, F], read as a [kh·kw·C, F] matrix, turns the convolution into
//   z = cols·W + bias,  y = act(z)
// Backward is Dense's, with col2im (the adjoint of im2col: each window's gradient added back to the
// pixels it was copied from) to return to the image:
//   dz = act'(dy)    dW = colsᵀ·dz    dbias = Σ_rows dz    dcols = dz·Wᵀ    dx = col2im(dcols)
import { Layer, product, type LayerArgs, type ParamSpec, type Shape } from './layer.ts';
import { activationBackward, activationForward, checkActivation, type ActivationName } from './activations.ts';
import { glorotUniform, zeros, GLOROT_UNIFORM_CONFIG, ZEROS_CONFIG } from './initializers.ts';
import { checkPadding, pair, windowGeometry, type Padding, type WindowGeometry } from './geometry.ts';
import { matmul, matrix, T } from './matmul.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export interface Conv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  activation?: ActivationName;
  useBias?: boolean;
}

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  /** Where the windows land: output size and padding. */
  geometry!: WindowGeometry;
  /** kh·kw·C: the length of one window, a row of cols. */
  patchSize = 0;
  private cols = 0;
  private z = 0;
  private y = 0;
  private dz = 0;
  private dcols = 0;
  private dx = 0;

  constructor(args: Conv2DArgs) {
    super(args);
    checkOptions('Conv2D', args, [...LAYER_OPTIONS, 'filters', 'kernelSize', 'strides', 'padding', 'activation', 'useBias']);
    if (!Number.isInteger(args.filters) || args.filters <= 0) {
      throw new Error(`Conv2D: filters must be a positive integer, got ${args.filters}`);
    }
    this.filters = args.filters;
    this.kernelSize = pair('Conv2D', 'kernelSize', args.kernelSize);
    this.strides = pair('Conv2D', 'strides', args.strides ?? 1);
    this.padding = checkPadding('Conv2D', args.padding);
    this.activation = checkActivation('Conv2D', args.activation);
    this.useBias = args.useBias ?? true;
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 3) throw this.shapeError('[height, width, channels]', inputShape);
    const [h, w, c] = inputShape;
    const [kh, kw] = this.kernelSize;
    this.geometry = windowGeometry(h, w, kh, kw, this.strides[0], this.strides[1], this.padding);
    if (this.geometry.outH <= 0 || this.geometry.outW <= 0) {
      throw this.shapeError(`at least ${kh}x${kw} pixels for a ${kh}x${kw} 'valid' kernel`, inputShape);
    }
    this.patchSize = kh * kw * c;
    return [this.geometry.outH, this.geometry.outW, this.filters];
  }

  protected override paramSpecs(): ParamSpec[] {
    const [kh, kw] = this.kernelSize;
    const c = this.inputShape[2];
    const kernel: ParamSpec = {
      name: 'kernel',
      shape: [kh, kw, c, this.filters],
      init: glorotUniform(kh * kw * c, kh * kw * this.filters),
    };
    return this.useBias ? [kernel, { name: 'bias', shape: [this.filters], init: zeros }] : [kernel];
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const positions = capacity * this.geometry.outH * this.geometry.outW;
    this.cols = this.allocF32(positions * this.patchSize, 'im2col windows');
    this.z = this.allocF32(positions * this.filters, 'z');
    this.y = this.activation === 'linear' ? this.z : this.allocF32(positions * this.filters, 'output');
    this.dz = this.activation === 'linear' ? -1 : this.allocF32(positions * this.filters, 'dL/dz');
    this.dcols = needInputGrad ? this.allocF32(positions * this.patchSize, 'dL/dcols') : -1;
    this.dx = needInputGrad ? this.allocF32(capacity * product(this.inputShape), 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const [W, bias] = this.params;
    const rows = this.positions(batch);
    this.kernels.im2col(x, this.cols, ...this.windowArgs(batch));
    const z = matrix(this.z, rows, this.filters);
    matmul(this.kernels, z, matrix(this.cols, rows, this.patchSize), this.weights(W.value), bias?.value); // z = cols·W + bias
    return activationForward(this.kernels, this.activation, this.z, this.y, rows, this.filters); // y = act(z)
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const [W, bias] = this.params;
    const rows = this.positions(batch);
    const dzPtr = activationBackward(k, this.activation, this.y, dy, this.dz, rows, this.filters, this.z);
    const dz = matrix(dzPtr, rows, this.filters);
    matmul(k, this.weights(W.grad), T(matrix(this.cols, rows, this.patchSize)), dz); // dW = colsᵀ·dz
    if (this.useBias) k.colSum(dzPtr, bias.grad, rows, this.filters, 0); // dbias = Σ_rows dz
    if (!needInputGrad) return -1;
    matmul(k, matrix(this.dcols, rows, this.patchSize), dz, T(this.weights(W.value))); // dcols = dz·Wᵀ
    k.col2im(this.dcols, this.dx, ...this.windowArgs(batch)); // dx = col2im(dcols)
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return {
      filters: this.filters,
      kernel_size: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: GLOROT_UNIFORM_CONFIG,
      bias_initializer: ZEROS_CONFIG,
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  }

  /** The kernel [kh, kw, C, F] as the [kh·kw·C, F] matrix of the product. */
  private weights(ptr: number) {
    return matrix(ptr, this.patchSize, this.filters);
  }

  private positions(batch: number): number {
    return batch * this.geometry.outH * this.geometry.outW;
  }

  /** The geometry arguments of im2col and col2im: batch, h, w, c, kh, kw, strides, padding, output size. */
  windowArgs(batch: number): WindowArgs {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.geometry;
    return [batch, h, w, c, this.kernelSize[0], this.kernelSize[1], this.strides[0], this.strides[1], padTop, padLeft, outH, outW];
  }
}

export type WindowArgs = [number, number, number, number, number, number, number, number, number, number, number, number];
