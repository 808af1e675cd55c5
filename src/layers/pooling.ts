// MaxPooling2D, NHWC:  y[b, i, j, c] = max over the window of x[b, i·s + wy − p, j·s + wx − p, c]
//   (wy, wx: the offsets within the pool window)
//
// Only the window's winner influenced y, so the gradient flows back to it alone. The forward pass
// records each winner's position (argmax); backward scatters:
//   dx = 0,  then  dx[argmax[o]] += dy[o]  for every output o
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';
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
  geometry!: WindowGeometry;
  private y = 0;
  private argmax = 0; // i32: for each output, the flat index of the input element that won
  private dx = 0;

  constructor(args: MaxPooling2DArgs = {}) {
    super(args);
    checkOptions('MaxPooling2D', args, [...LAYER_OPTIONS, 'poolSize', 'strides', 'padding']);
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
    return [this.geometry.outH, this.geometry.outW, c];
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const outSize = capacity * product(this.outputShape);
    this.y = this.allocF32(outSize, 'output');
    this.argmax = this.backend.arena.allocI32(outSize, `${this.name} argmax`);
    this.dx = needInputGrad ? this.allocF32(capacity * product(this.inputShape), 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.geometry;
    this.kernels.maxPoolForward(x, this.y, this.argmax, batch, h, w, c,
      this.poolSize[0], this.poolSize[1], this.strides[0], this.strides[1], padTop, padLeft, outH, outW, 0);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    this.kernels.maxPoolBackward(dy, this.argmax, this.dx, batch * product(this.outputShape), batch * product(this.inputShape));
    return this.dx;
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
