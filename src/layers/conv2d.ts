// Conv2D, NHWC:  y[b, i, j, f] = act( Σ_{ky, kx, c} x[b, i·s + ky − p, j·s + kx − p, c] · K[ky, kx, c, f] + bias[f] )
//
// Computed as one matrix product: im2col copies every input window into a row of
// cols [B·outH·outW, kh·kw·C], and the Keras kernel [kh, kw, C, F] read as a [kh·kw·C, F] matrix
// turns the convolution into  z = cols·K + bias.  Backward is Dense's, then col2im:
//   dK = colsᵀ·dz      dbias = Σ_rows dz      dcols = dz·Kᵀ      dx = col2im(dcols)
//
// One exception, for speed: an input with ONE channel, stride 1, 'valid' (the first layer of an
// MNIST convnet). Its cols matrix is only kh·kw (= 9) wide, too short a depth for a fast GEMM,
// so z and dK come from direct-convolution kernels that read x itself (see `direct`). When such a
// layer reads the images and a max pool with side-by-side windows follows (the convnet's conv1 →
// pool1), it pools its output itself, band by band, and never stores the full output nor its dL/dz
// (fusePool; the pool layer then passes through).
//
// When a max pool follows, dz is dy at each window's winner and 0 elsewhere: at most one value in
// poolH·poolW is nonzero (fewer: winners that are 0 pass nothing back). Backward then compresses dz
// to its nonzeros and computes dK = colsᵀ·dz and dx = col2im(dz·Kᵀ) from them alone, the second
// without forming dcols (assembly/sparse.ts).
import { Layer, product, type LayerArgs, type ParamSpec, type Shape } from './layer.ts';
import { activationBackward, checkActivation, type ActivationName } from './activations.ts';
import { glorotUniform, zeros, GLOROT_UNIFORM_CONFIG, ZEROS_CONFIG } from './initializers.ts';
import { checkPadding, pair, windowGeometry, type Padding, type WindowGeometry } from './geometry.ts';
import { CompressedRows } from './compressed.ts';

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
  /** Where the windows land; outH, outW are the outputs computed (see cropOutput). */
  private geometry!: WindowGeometry;
  private patchSize = 0; // kh·kw·C, one row of cols
  private cols = 0; // im2col of the latest input; reused for dcols in backward
  /** The next layer's backward returns dL/dz already (a max pool after a ReLU): skip the ReLU's. */
  private reluBackwardDone = false;
  /** One input channel, stride 1, 'valid', with bias: convolve directly, no im2col (see forward). */
  private direct = false;
  /** The layer reads the model input, so its dL/dx is never needed. */
  private readsInput = false;
  /** The next layer's max pool, done here (fusePool): its window and output size. */
  private pool: { poolH: number; poolW: number; outH: number; outW: number } | null = null;
  private argmax = 0; // i32, of the fused pool
  private scratch = 0; // one band of poolH output rows, for the fused pool
  private dzRows: CompressedRows | null = null; // dz compressed, when a max pool passes it back
  private kernelT = 0; // [filters, kh·kw·C]: dKᵀ, then Kᵀ, for the sparse products
  private x = 0; // the latest input (the direct path's dK reads it)
  private z = 0;
  private y = 0;
  private dz = 0;
  private dx = 0;

  constructor(args: Conv2DArgs) {
    super(args);
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
    this.direct = c === 1 && this.strides[0] === 1 && this.strides[1] === 1 && this.padding === 'valid' && this.useBias;
    return [this.geometry.outH, this.geometry.outW, this.filters];
  }

  override cropOutput(height: number, width: number): boolean {
    // The windows of the top-left outputs are the same whatever the output size: computing fewer
    // rows and columns of them is the same convolution, restricted.
    this.geometry = { ...this.geometry, outH: height, outW: width };
    return true;
  }

  override readsModelInput(): void {
    this.readsInput = true;
  }

  override fusePool(poolH: number, poolW: number): boolean {
    // The fused kernels give dK and dbias only, so only where no dL/dx is wanted.
    if (!this.direct || this.activation !== 'relu' || !this.readsInput) return false;
    const { outH, outW } = this.geometry;
    this.pool = { poolH, poolW, outH: Math.floor(outH / poolH), outW: Math.floor(outW / poolW) };
    return true;
  }

  override get endsInRelu(): boolean {
    return this.activation === 'relu';
  }

  override skipReluBackward(): void {
    this.reluBackwardDone = true;
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
    const arena = this.backend.arena;
    if (this.pool) {
      const { poolH, poolW, outH, outW } = this.pool;
      this.y = this.z = arena.allocF32(capacity * outH * outW * this.filters);
      this.argmax = arena.allocI32(capacity * outH * outW * this.filters);
      this.scratch = arena.allocF32(poolH * outW * poolW * this.filters);
      return;
    }
    const positions = capacity * this.geometry.outH * this.geometry.outW;
    // The direct path needs cols only as scratch for dcols, and only when dx is wanted.
    this.cols = this.direct && !needInputGrad ? -1 : arena.allocF32(positions * this.patchSize);
    this.y = arena.allocF32(positions * this.filters);
    this.z = this.activation === 'softmax' ? arena.allocF32(positions * this.filters) : this.y;
    this.dz = this.activation === 'linear' || this.reluBackwardDone ? -1 : arena.allocF32(positions * this.filters);
    this.dx = needInputGrad ? arena.allocF32(capacity * product(this.inputShape)) : -1;
    if (this.reluBackwardDone && !this.direct) {
      this.dzRows = new CompressedRows(arena, positions, this.filters);
      this.kernelT = arena.allocF32(this.patchSize * this.filters);
    }
  }

  forward(x: number, batch: number): number {
    const k = this.kernels;
    const [K, bias] = this.params;
    const rows = this.positions(batch);
    const relu = this.activation === 'relu' ? 1 : 0;
    this.x = x;
    if (this.pool) {
      // Convolve and pool in one pass: y is the pool's output.
      const [h, w] = this.inputShape;
      const { poolH, poolW, outH, outW } = this.pool;
      k.conv2dC1PoolForward(x, K.value, bias.value, this.y, this.argmax, this.scratch, batch, h, w,
        this.kernelSize[0], this.kernelSize[1], this.filters, poolH, poolW, outH, outW);
      return this.y;
    }
    if (this.direct) {
      // One input channel: K = kh·kw = 9 is a poor GEMM shape, so convolve directly.
      const [h, w] = this.inputShape;
      const { outH, outW } = this.geometry;
      k.conv2dC1Forward(x, K.value, bias.value, this.z, batch, h, w, this.kernelSize[0], this.kernelSize[1], outH, outW, this.filters, relu);
      if (this.activation === 'softmax') k.softmax(this.z, this.y, rows, this.filters);
      return this.y;
    }
    k.im2col(x, this.cols, ...this.windowArgs(batch));
    if (this.useBias) {
      k.gemmNNBias(this.cols, K.value, bias.value, this.z, rows, this.patchSize, this.filters, relu);
    } else {
      k.gemmNN(this.cols, K.value, this.z, rows, this.patchSize, this.filters, 0);
      if (this.activation === 'relu') k.relu(this.z, this.z, rows * this.filters);
    }
    if (this.activation === 'softmax') k.softmax(this.z, this.y, rows, this.filters);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (this.pool) {
      // dy is the pooled output's gradient: dL/dz is dy at each window's winner, 0 elsewhere.
      const [K, bias] = this.params;
      const [h, w] = this.inputShape;
      const { poolH, poolW, outH, outW } = this.pool;
      this.kernels.conv2dC1PoolKernelGrad(this.x, dy, this.argmax, K.grad, bias.grad, this.scratch, batch, h, w,
        this.kernelSize[0], this.kernelSize[1], this.filters, poolH, poolW, outH, outW);
      return -1;
    }
    const rows = this.positions(batch);
    const dz = this.reluBackwardDone ? dy : activationBackward(this.kernels, this.activation, this.y, dy, this.dz, rows, this.filters);
    return this.backwardFromLogits(dz, batch, needInputGrad);
  }

  override get endsInSoftmax(): boolean {
    return this.activation === 'softmax';
  }

  override softmaxLogits(): number {
    return this.z;
  }

  override backwardFromLogits(dz: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const [K, bias] = this.params;
    const rows = this.positions(batch);
    // Compressing dz also sums its columns: dbias = Σ_rows dz.
    const sparse = this.dzRows !== null && this.dzRows.compress(k, dz, rows, this.filters, this.useBias ? bias.grad : 0);
    if (this.direct) {
      // One input channel: dK = colsᵀ·dz computed from x directly, as in forward, and dbias = Σ_rows dz
      // in the same pass.
      const [h, w] = this.inputShape;
      const { outH, outW } = this.geometry;
      k.conv2dC1KernelGrad(this.x, dz, K.grad, bias.grad, batch, h, w, this.kernelSize[0], this.kernelSize[1], outH, outW, this.filters);
    } else if (sparse) {
      // dKᵀ = dzᵀ·cols over dz's nonzeros, then turned into dK [kh·kw·C, filters].
      const { start, index, values } = this.dzRows!;
      k.sparseGemmTN(start, index, values, this.cols, this.kernelT, rows, this.filters, this.patchSize);
      k.transpose(this.kernelT, K.grad, this.filters, this.patchSize);
    } else {
      k.gemmTN(this.cols, dz, K.grad, this.patchSize, rows, this.filters, 0); // dK = colsᵀ·dz
      if (this.useBias && this.dzRows === null) k.colSum(dz, bias.grad, rows, this.filters, 0); // dbias = Σ_rows dz
    }
    if (!needInputGrad) return -1;
    if (sparse) {
      // dx = col2im(dz·Kᵀ), each nonzero of dz adding its row of Kᵀ straight into its window of dx.
      const { start, index, values } = this.dzRows!;
      k.transpose(K.value, this.kernelT, this.patchSize, this.filters);
      k.sparseCol2im(start, index, values, this.kernelT, this.dx, ...this.windowArgs(batch));
      return this.dx;
    }
    // cols is no longer needed once dK is known, so dcols = dz·Kᵀ overwrites it (the direct path
    // allocated cols for this alone).
    k.gemmNT(dz, K.value, this.cols, rows, this.filters, this.patchSize, 0);
    k.col2im(this.cols, this.dx, ...this.windowArgs(batch)); // dx = col2im(dcols)
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

  private positions(batch: number): number {
    return batch * this.geometry.outH * this.geometry.outW;
  }

  /** The geometry arguments of im2col and col2im: batch, h, w, c, kh, kw, strides, padding, output size. */
  private windowArgs(batch: number): WindowArgs {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.geometry;
    return [batch, h, w, c, this.kernelSize[0], this.kernelSize[1], this.strides[0], this.strides[1], padTop, padLeft, outH, outW];
  }
}

type WindowArgs = [number, number, number, number, number, number, number, number, number, number, number, number];
