// Activations: as options of Dense and Conv2D (`activation: 'relu'`), and as layers of their own
// (ReLU, Softmax, LeakyReLU, and Activation for any name below). TF.js's definitions, z the input:
//   linear       y = z                                    dz = dy
//   relu         y = max(0, z)                            dz = dy · [y > 0]
//   softmax      y = exp(z − max z) / Σ exp(z − max z)    dz = y ⊙ (dy − Σ_j dy_j y_j)   (row by row)
//   sigmoid      y = σ(z) = 1 / (1 + e^−z)                dz = dy · y (1 − y)
//   tanh         y = tanh z                               dz = dy · (1 − y²)
//   elu          y = z > 0 ? z : e^z − 1                  dz = dy · (z > 0 ? 1 : e^z)
//   selu         y = λ · (z > 0 ? z : α (e^z − 1))        dz = dy · λ · (z > 0 ? 1 : α e^z)    λ ≈ 1.0507, α ≈ 1.6733
//   softplus     y = log(1 + e^z)                         dz = dy · σ(z)
//   softsign     y = z / (1 + |z|)                        dz = dy / (1 + |z|)²
//   relu6        y = min(max(z, 0), 6)                    dz = dy · [0 < z ≤ 6]
//   swish        y = z · σ(z)                             dz = dy · σ(z) (1 + z (1 − σ(z)))
//   gelu         y = z · Φ(z), Φ(z) = (1 + erf(z/√2)) / 2 dz = dy · (Φ(z) + z φ(z)),  φ = Φ' the normal density
//   hardSigmoid  y = clip(0.2 z + 0.5, 0, 1)              dz = dy · 0.2 · [0 ≤ 0.2 z + 0.5 ≤ 1]
// and the LeakyReLU layer's y = z > 0 ? z : α z, dz = dy · (z > 0 ? 1 : α). (gelu is the exact one,
// with erf, not the tanh approximation; the kinks' gradients follow TF.js.)
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { ACTIVATION_IDS, type Kernels } from '../backend/kernels.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export const ACTIVATION_NAMES = ['linear', 'relu', 'softmax', 'sigmoid', 'tanh', 'elu', 'selu', 'softplus', 'softsign',
  'relu6', 'swish', 'gelu', 'hardSigmoid'] as const;
export type ActivationName = (typeof ACTIVATION_NAMES)[number];

export function checkActivation(owner: string, activation: string | undefined): ActivationName {
  const name = activation ?? 'linear';
  if (!(ACTIVATION_NAMES as readonly string[]).includes(name)) {
    throw new Error(`${owner}: unsupported activation "${name}" (supported: ${ACTIVATION_NAMES.join(', ')})`);
  }
  return name as ActivationName;
}

/** y = act(z) over `rows` samples of `cols` values; returns y's pointer (z itself when act is linear). */
export function activationForward(k: Kernels, act: ActivationName, z: number, y: number, rows: number, cols: number): number {
  if (act === 'linear') return z;
  if (act === 'relu') k.relu(z, y, rows * cols);
  else if (act === 'softmax') k.softmax(z, y, rows, cols);
  else k.activationForward(z, y, rows * cols, ACTIVATION_IDS[act], 0);
  return y;
}

/**
 * dz = dL/dz from dy = dL/dy for y = act(z); returns dz's pointer (dy itself when act is linear).
 * relu and softmax need only y; the others also read z, the input of the forward pass.
 */
export function activationBackward(k: Kernels, act: ActivationName, y: number, dy: number, dz: number, rows: number, cols: number, z?: number): number {
  if (act === 'linear') return dy;
  if (act === 'relu') k.reluBackward(dy, y, dz, rows * cols);
  else if (act === 'softmax') k.softmaxBackward(y, dy, dz, rows, cols);
  else if (z === undefined) throw new Error(`activationBackward: ${act} needs the forward pass's input z`);
  else k.activationBackward(z, y, dy, dz, rows * cols, ACTIVATION_IDS[act], 0);
  return dz;
}

/** A layer that applies a function to each value (or, for softmax, to each row of the last axis). */
abstract class ElementwiseLayer extends Layer {
  protected x = 0; // the input of the latest forward, kept for backward
  protected y = 0;
  protected dx = 0;

  protected computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const size = capacity * product(this.inputShape);
    this.y = this.allocF32(size, 'output');
    this.dx = needInputGrad ? this.allocF32(size, 'dL/dx') : -1;
  }
}

/** A layer that applies one of the named activations. */
abstract class ActivationLayer extends ElementwiseLayer {
  protected abstract readonly activation: ActivationName;

  forward(x: number, batch: number): number {
    this.x = x;
    return activationForward(this.kernels, this.activation, x, this.y, ...this.rowsAndCols(batch));
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    return activationBackward(this.kernels, this.activation, this.y, dy, this.dx, ...this.rowsAndCols(batch), this.x);
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

/** Keras's Activation layer: `new Activation({ activation: 'tanh' })`. */
export class Activation extends ActivationLayer {
  readonly className = 'Activation';
  protected readonly activation: ActivationName;

  constructor(args: LayerArgs & { activation: ActivationName }) {
    super(args);
    checkOptions('Activation', args, [...LAYER_OPTIONS, 'activation']);
    if (args?.activation === undefined) throw new Error(`Activation: the activation option is required (one of ${ACTIVATION_NAMES.join(', ')})`);
    this.activation = checkActivation('Activation', args.activation);
  }

  getConfig(): Record<string, unknown> {
    return { activation: this.activation };
  }
}

/** LeakyReLU: y = z > 0 ? z : alpha·z, alpha ≥ 0 (Keras default 0.3). */
export class LeakyReLU extends ElementwiseLayer {
  readonly className = 'LeakyReLU';
  readonly alpha: number;

  constructor(args: LayerArgs & { alpha?: number } = {}) {
    super(args);
    checkOptions('LeakyReLU', args, [...LAYER_OPTIONS, 'alpha']);
    const alpha = args.alpha ?? 0.3;
    if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) {
      throw new Error(`LeakyReLU: alpha must be a finite number >= 0, got ${alpha}`);
    }
    this.alpha = alpha;
  }

  forward(x: number, batch: number): number {
    this.x = x;
    this.kernels.activationForward(x, this.y, batch * product(this.inputShape), ACTIVATION_IDS.leakyRelu, this.alpha);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    this.kernels.activationBackward(this.x, this.y, dy, this.dx, batch * product(this.inputShape), ACTIVATION_IDS.leakyRelu, this.alpha);
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return { alpha: this.alpha };
  }
}
