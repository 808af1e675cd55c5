// MaxPooling2D, NHWC:  y[b, i, j, c] = max over the window of x[b, i·s + wy − p, j·s + wx − p, c]
//   (wy, wx: the offsets within the pool window)
//
// Only the window's winner influenced y, so the gradient flows back to it alone. The forward pass
// records each winner's position (argmax); backward scatters:
//   dx = 0,  then  dx[argmax[o]] += dy[o]  for every output o
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';
import { poolGeometry, poolWindow, type Padding, type PoolWindowArgs, type WindowGeometry } from './geometry.ts';

export interface MaxPooling2DArgs extends LayerArgs, PoolWindowArgs {}

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
    ({ poolSize: this.poolSize, strides: this.strides, padding: this.padding } = poolWindow('MaxPooling2D', args));
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    this.geometry = poolGeometry(inputShape, this, (expected, got) => this.shapeError(expected, got));
    return [this.geometry.outH, this.geometry.outW, inputShape[2]];
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
