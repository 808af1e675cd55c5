// AveragePooling2D, NHWC:  y[b, i, j, c] = mean over the window's cells inside the image of
//   x[b, i·s + wy − p, j·s + wx − p, c]      (wy, wx: the offsets within the pool window)
// 'same' padding adds cells outside the image; like TF.js, the mean leaves them out (a corner
// window of a 3x3 pool may average 4 cells, not 9).
//
// Each input cell of a window of n cells contributed x/n to y, so backward shares dy out equally:
//   dx = 0,  then  dx[cell] += dy[o] / n  for every cell of every output o's window
//
// GlobalAveragePooling2D: [B, H, W, C] → [B, C], the mean over every position: the same kernels
// with one H x W window.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';
import { poolGeometry, poolWindow, windowGeometry, type Padding, type PoolWindowArgs, type WindowGeometry } from './geometry.ts';

export interface AveragePooling2DArgs extends LayerArgs, PoolWindowArgs {}

/** Average pooling over pool windows; its geometry is set by each subclass. */
abstract class AveragePooling extends Layer {
  protected poolSize: [number, number] = [1, 1];
  protected strides: [number, number] = [1, 1];
  protected geometry!: WindowGeometry;
  private y = 0;
  private dx = 0;

  allocate(capacity: number, needInputGrad: boolean): void {
    this.y = this.allocF32(capacity * product(this.outputShape), 'output');
    this.dx = needInputGrad ? this.allocF32(capacity * product(this.inputShape), 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    this.kernels.avgPoolForward(x, this.y, ...this.windowArgs(batch));
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    this.kernels.avgPoolBackward(dy, this.dx, ...this.windowArgs(batch));
    return this.dx;
  }

  /** The kernels' geometry arguments: batch, h, w, c, pool size, strides, padding, output size. */
  private windowArgs(batch: number): [number, number, number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.geometry;
    return [batch, h, w, c, this.poolSize[0], this.poolSize[1], this.strides[0], this.strides[1], padTop, padLeft, outH, outW];
  }
}

export class AveragePooling2D extends AveragePooling {
  readonly className = 'AveragePooling2D';
  readonly padding: Padding;

  constructor(args: AveragePooling2DArgs = {}) {
    super(args);
    checkOptions('AveragePooling2D', args, [...LAYER_OPTIONS, 'poolSize', 'strides', 'padding']);
    ({ poolSize: this.poolSize, strides: this.strides, padding: this.padding } = poolWindow('AveragePooling2D', args));
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    this.geometry = poolGeometry(inputShape, { poolSize: this.poolSize, strides: this.strides, padding: this.padding }, (expected, got) => this.shapeError(expected, got));
    return [this.geometry.outH, this.geometry.outW, inputShape[2]];
  }

  getConfig(): Record<string, unknown> {
    return { pool_size: [...this.poolSize], padding: this.padding, strides: [...this.strides], data_format: 'channels_last' };
  }
}

export class GlobalAveragePooling2D extends AveragePooling {
  readonly className = 'GlobalAveragePooling2D';

  constructor(args: LayerArgs = {}) {
    super(args);
    checkOptions('GlobalAveragePooling2D', args, LAYER_OPTIONS);
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 3) throw this.shapeError('[height, width, channels]', inputShape);
    const [h, w, c] = inputShape;
    this.poolSize = [h, w];
    this.geometry = windowGeometry(h, w, h, w, 1, 1, 'valid'); // one window, one output per channel
    return [c];
  }

  getConfig(): Record<string, unknown> {
    return { data_format: 'channels_last' };
  }
}
