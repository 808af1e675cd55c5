// Activations: as options of Dense and Conv2D (`activation: 'relu'`), and as layers of their own.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import type { Kernels } from '../backend/kernels.ts';

export type ActivationName = 'linear' | 'relu' | 'softmax';

export function checkActivation(owner: string, activation: string | undefined): ActivationName {
  const name = activation ?? 'linear';
  if (name !== 'linear' && name !== 'relu' && name !== 'softmax') {
    throw new Error(`${owner}: unsupported activation "${name}" (supported: linear, relu, softmax)`);
  }
  return name;
}

/**
 * dL/dz from dL/dy for y = act(z), over `rows` samples of `cols` values each.
 *   relu:    dz = dy · [y > 0]
 *   softmax: dz = y ⊙ (dy − Σ_j dy_j y_j)      (the softmax Jacobian applied row by row)
 * Returns dz's pointer (dy itself when act is linear).
 */
export function activationBackward(k: Kernels, act: ActivationName, y: number, dy: number, dz: number, rows: number, cols: number): number {
  if (act === 'relu') k.reluBackward(dy, y, dz, rows * cols);
  else if (act === 'softmax') k.softmaxBackward(y, dy, dz, rows, cols);
  else return dy;
  return dz;
}

/** y = max(0, x), element-wise.  dL/dx = dL/dy · [y > 0]. */
export class ReLU extends Layer {
  readonly className = 'ReLU';
  private size = 0;
  private y = 0;
  private dx = 0;

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    this.size = product(inputShape);
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const arena = this.backend.arena;
    this.y = arena.allocF32(capacity * this.size);
    this.dx = needInputGrad ? arena.allocF32(capacity * this.size) : -1;
  }

  forward(x: number, batch: number): number {
    this.kernels.relu(x, this.y, batch * this.size);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    this.kernels.reluBackward(dy, this.y, this.dx, batch * this.size);
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return { max_value: null };
  }
}

/** y = exp(x − max x) / Σ exp(x − max x) over the last axis.  dL/dx = y ⊙ (dL/dy − Σ dL/dy ⊙ y). */
export class Softmax extends Layer {
  readonly className = 'Softmax';
  private readonly axis: number;
  private classes = 0;
  private x = 0;
  private y = 0;
  private dx = 0;

  /** `axis`: only the last one; -1, or as TF.js writes it counting the batch axis (1 for [batch, classes]). */
  constructor(args: LayerArgs & { axis?: number } = {}) {
    super(args);
    this.axis = args.axis ?? -1;
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (this.axis !== -1 && this.axis !== inputShape.length) {
      throw new Error(`${this.name} (Softmax): unsupported axis ${this.axis}; only the last axis (-1 or ${inputShape.length}) is supported`);
    }
    this.classes = inputShape[inputShape.length - 1];
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const arena = this.backend.arena;
    const size = capacity * product(this.inputShape);
    this.y = arena.allocF32(size);
    this.dx = needInputGrad ? arena.allocF32(size) : -1;
  }

  forward(x: number, batch: number): number {
    this.x = x;
    this.kernels.softmax(x, this.y, this.rows(batch), this.classes);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    this.kernels.softmaxBackward(this.y, dy, this.dx, this.rows(batch), this.classes);
    return this.dx;
  }

  override get endsInSoftmax(): boolean {
    return true;
  }

  override softmaxLogits(): number {
    return this.x;
  }

  /** The logits are this layer's input, so dL/dx is dL/dz itself. */
  override backwardFromLogits(dLogits: number): number {
    return dLogits;
  }

  getConfig(): Record<string, unknown> {
    // TF.js writes the axis counting the batch dimension: the last axis of [batch, ...shape].
    return { axis: this.inputShape.length };
  }

  private rows(batch: number): number {
    return (batch * product(this.inputShape)) / this.classes;
  }
}
