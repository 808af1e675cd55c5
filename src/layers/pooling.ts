// MaxPooling2D, NHWC:  y[b, i, j, c] = max over the pool window of x[b, i·s + dy − p, j·s + dx − p, c]
//
// Only the window's winner influenced y, so the gradient flows back to it alone:
//   dx[argmax] += dy     (every other dx is 0)
// Over ReLU outputs r = max(0, z), the winner's dL/dz is dy if y > 0 and 0 if y = 0 (then the
// winner is 0, where the ReLU's derivative is 0). So when the layer before ends in a ReLU, this
// pool drops the y = 0 winners and hands back dL/dz directly: the ReLU's backward costs nothing.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkPadding, pair, windowGeometry, type Padding, type WindowGeometry } from './geometry.ts';

export interface MaxPooling2DArgs extends LayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
}

export class MaxPooling2D extends Layer {
  readonly className = 'MaxPooling2D';
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  private geometry!: WindowGeometry;
  /** Height and width of the input as stored: inputShape's, or the region read (useCroppedInput). */
  private stored: [number, number] = [0, 0];
  /** The input is ReLU outputs and backward returns dL/dz before that ReLU (takeOverReluBackward). */
  private beforeRelu = false;
  /** The layer before already pooled (poolDoneBefore): this one passes values and gradients through. */
  private passThrough = false;
  private y = 0;
  private argmax = 0; // i32: for each output, the flat index of the input element that won
  private dx = 0;

  constructor(args: MaxPooling2DArgs = {}) {
    super(args);
    this.poolSize = pair('MaxPooling2D', 'poolSize', args.poolSize ?? 2);
    this.strides = pair('MaxPooling2D', 'strides', args.strides ?? this.poolSize); // Keras: strides default to poolSize
    this.padding = checkPadding('MaxPooling2D', args.padding);
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 3) throw this.shapeError('[height, width, channels]', inputShape);
    const [h, w, c] = inputShape;
    const [ph, pw] = this.poolSize;
    this.geometry = windowGeometry(h, w, ph, pw, this.strides[0], this.strides[1], this.padding);
    if (this.geometry.outH <= 0 || this.geometry.outW <= 0) {
      throw this.shapeError(`at least ${ph}x${pw} pixels for a ${ph}x${pw} 'valid' pool`, inputShape);
    }
    this.stored = [h, w];
    return [this.geometry.outH, this.geometry.outW, c];
  }

  override inputRegionRead(): [number, number] | null {
    if (this.padding !== 'valid') return null;
    const [h, w] = this.inputShape;
    const { outH, outW } = this.geometry;
    const read: [number, number] = [(outH - 1) * this.strides[0] + this.poolSize[0], (outW - 1) * this.strides[1] + this.poolSize[1]];
    return read[0] < h || read[1] < w ? read : null;
  }

  override useCroppedInput(height: number, width: number): void {
    this.stored = [height, width];
  }

  override get tilingPool(): [number, number] | null {
    const [ph, pw] = this.poolSize;
    return this.padding === 'valid' && this.strides[0] === ph && this.strides[1] === pw ? [ph, pw] : null;
  }

  override poolDoneBefore(): void {
    this.passThrough = true;
  }

  override takeOverReluBackward(): boolean {
    this.beforeRelu = true;
    return true;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    if (this.passThrough) return;
    const arena = this.backend.arena;
    const outSize = capacity * product(this.outputShape);
    this.y = arena.allocF32(outSize);
    this.argmax = arena.allocI32(outSize);
    this.dx = needInputGrad ? arena.allocF32(capacity * this.storedInputSize()) : -1;
  }

  forward(x: number, batch: number): number {
    if (this.passThrough) return x;
    const [h, w] = this.stored;
    const c = this.inputShape[2];
    const { outH, outW, padTop, padLeft } = this.geometry;
    this.kernels.maxPoolForward(x, this.y, this.argmax, batch, h, w, c,
      this.poolSize[0], this.poolSize[1], this.strides[0], this.strides[1], padTop, padLeft, outH, outW, this.beforeRelu ? 1 : 0);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    if (this.passThrough) return dy;
    const [h, w] = this.stored;
    const { outH, outW } = this.geometry;
    const [ph, pw] = this.poolSize;
    if (this.tilingPool) {
      // Windows side by side (the usual 2x2 pool): each input cell in at most one, dx in one pass.
      this.kernels.maxPoolBackwardWindows(dy, this.argmax, this.dx, batch, h, w, this.inputShape[2], ph, pw, outH, outW);
    } else {
      this.kernels.maxPoolBackward(dy, this.argmax, this.dx, batch * product(this.outputShape), batch * this.storedInputSize());
    }
    return this.dx;
  }

  private storedInputSize(): number {
    return this.stored[0] * this.stored[1] * this.inputShape[2];
  }

  getConfig(): Record<string, unknown> {
    return {
      pool_size: [...this.poolSize],
      padding: this.padding,
      strides: [...this.strides],
      data_format: 'channels_last',
    };
  }
}
