// Activations: as options of Dense and Conv2D (`activation: 'relu'`), and as layers of their own.
//   relu:     y = max(0, z)                          dz = dy · [y > 0]
//   softmax:  y = exp(z − max z) / Σ exp(z − max z)  dz = y ⊙ (dy − Σ_j dy_j y_j)   (row by row)
//   linear:   y = z                                  dz = dy
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import type { Kernels } from '../backend/kernels.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export type ActivationName = 'linear' | 'relu' | 'softmax';

export function checkActivation(owner: string, activation: string | undefined): ActivationName {
  const name = activation ?? 'linear';
  if (name !== 'linear' && name !== 'relu' && name !== 'softmax') {
    throw new Error(`${owner}: unsupported activation "${name}" (supported: linear, relu, softmax)`);
  }
  return name;
}

/** y = act(z) over `rows` samples of `cols` values; returns y's pointer (z itself when act is linear). */
export function activationForward(k: Kernels, act: ActivationName, z: number, y: number, rows: number, cols: number): number {
  if (act === 'relu') k.relu(z, y, rows * cols);
  else if (act === 'softmax') k.softmax(z, y, rows, cols);
  else return z;
  return y;
}

/** dz = dL/dz from dy = dL/dy for y = act(z); returns dz's pointer (dy itself when act is linear). */
export function activationBackward(k: Kernels, act: ActivationName, y: number, dy: number, dz: number, rows: number, cols: number): number {
  if (act === 'relu') k.reluBackward(dy, y, dz, rows * cols);
  else if (act === 'softmax') k.softmaxBackward(y, dy, dz, rows, cols);
  else return dy;
  return dz;
}

/** A layer that applies one activation element-wise (or row-wise, for softmax). */
abstract class ActivationLayer extends Layer {
  protected abstract readonly activation: ActivationName;
  private y = 0;
  private dx = 0;

  protected computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const size = capacity * product(this.inputShape);
    this.y = this.allocF32(size, 'output');
    this.dx = needInputGrad ? this.allocF32(size, 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    return activationForward(this.kernels, this.activation, x, this.y, ...this.rowsAndCols(batch));
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    return activationBackward(this.kernels, this.activation, this.y, dy, this.dx, ...this.rowsAndCols(batch));
  }

  /** The activations work on rows of the last axis (softmax needs it; element-wise ones do not care). */
  private rowsAndCols(batch: number): [number, number] {
    const cols = this.inputShape[this.inputShape.length - 1];
    return [(batch * product(this.inputShape)) / cols, cols];
  }
}

export class ReLU extends ActivationLayer {
  readonly className = 'ReLU';
  protected readonly activation = 'relu';

  constructor(args: LayerArgs = {}) {
    super(args);
    checkOptions('ReLU', args, LAYER_OPTIONS);
  }

  getConfig(): Record<string, unknown> {
    return { max_value: null };
  }
}

export class Softmax extends ActivationLayer {
  readonly className = 'Softmax';
  protected readonly activation = 'softmax';
  private readonly axis: number;

  /** `axis`: only the last one; -1, or as TF.js writes it counting the batch axis (1 for [batch, classes]). */
  constructor(args: LayerArgs & { axis?: number } = {}) {
    super(args);
    checkOptions('Softmax', args, [...LAYER_OPTIONS, 'axis']);
    this.axis = args.axis ?? -1;
  }

  protected override computeOutputShape(inputShape: Shape): Shape {
    if (this.axis !== -1 && this.axis !== inputShape.length) {
      throw new Error(`${this.name} (Softmax): unsupported axis ${this.axis}; only the last axis (-1 or ${inputShape.length}) is supported`);
    }
    return inputShape;
  }

  getConfig(): Record<string, unknown> {
    // TF.js writes the axis counting the batch dimension: the last axis of [batch, ...shape].
    return { axis: this.inputShape.length };
  }
}
