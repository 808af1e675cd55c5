// BatchNormalization over the last axis (the channels of NHWC, the features after a Dense). With
// x seen as rows of C channels (rows = batch · every axis but the last):
//   training:   μ_c = mean_r x[r, c],  σ²_c = mean_r (x[r, c] − μ_c)²   (this batch's, biased)
//   inference:  μ, σ² = the moving mean and variance
//   x̂ = (x − μ) / sqrt(σ² + ε),   y = γ · x̂ + β
//
// Backward, from dy = dL/dy (sums over the rows r, per channel):
//   dβ = Σ dy      dγ = Σ dy · x̂
//   dx = γ / sqrt(σ² + ε) · (dy − (dβ + x̂ · dγ) / rows)   in training, where μ and σ² depend on x
//   dx = γ / sqrt(σ² + ε) · dy                             in inference, where they are constants
// γ and β are trained. The moving statistics are weights no optimizer touches (`trainable: false`);
// after a training step's forward pass they move toward that batch's statistics,
//   moving = moving · momentum + batch value · (1 − momentum)   (for μ and σ² alike),
// in backward rather than in forward as Keras does: the same values, but a step that fit abandons
// before its backward pass (a NaN loss) leaves them as they were, like every other weight.
// Without `scale` γ is 1, without `center` β is 0.
import { Layer, product, type LayerArgs, type ParamSpec, type Shape } from './layer.ts';
import { zeros, ZEROS_CONFIG } from './initializers.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export interface BatchNormalizationArgs extends LayerArgs {
  /** Only the last axis: -1, or counting the batch axis as Keras may write it (3 for NHWC input). */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
}

const ONES_CONFIG = { class_name: 'Ones', config: {} };

function ones(values: Float32Array): void {
  values.fill(1);
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private channels = 0;
  private x = 0; // the input of the latest forward, kept for backward
  private training = false; // whether the latest forward used the batch's statistics
  private mean = 0; // the statistics the latest forward used
  private variance = 0;
  private batchMean = 0;
  private batchVariance = 0;
  private y = 0;
  private dx = 0;
  // γ = 1 and β = 0 without scale and center; the sums dγ and dβ, which dx needs either way.
  private gamma = 0;
  private beta = 0;
  private dGamma = 0;
  private dBeta = 0;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args);
    checkOptions('BatchNormalization', args, [...LAYER_OPTIONS, 'axis', 'momentum', 'epsilon', 'center', 'scale']);
    this.axis = args.axis ?? -1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    if (!Number.isInteger(this.axis)) throw new Error(`BatchNormalization: axis must be an integer, got ${this.axis}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`BatchNormalization: momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.epsilon > 0 && Number.isFinite(this.epsilon))) throw new Error(`BatchNormalization: epsilon must be a positive number, got ${this.epsilon}`);
    for (const flag of ['center', 'scale'] as const) {
      if (typeof this[flag] !== 'boolean') throw new Error(`BatchNormalization: ${flag} must be true or false, got ${this[flag]}`);
    }
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (this.axis !== -1 && this.axis !== inputShape.length) {
      throw new Error(`${this.name} (BatchNormalization): unsupported axis ${this.axis}; only the last axis (-1 or ${inputShape.length}) is supported`);
    }
    this.channels = inputShape[inputShape.length - 1];
    return inputShape;
  }

  /** TF.js's order: gamma, beta (trainable), then the moving statistics. */
  protected override paramSpecs(): ParamSpec[] {
    const shape = [this.channels];
    return [
      ...(this.scale ? [{ name: 'gamma', shape, init: ones } as const] : []),
      ...(this.center ? [{ name: 'beta', shape, init: zeros } as const] : []),
      { name: 'moving_mean', shape, init: zeros, trainable: false },
      { name: 'moving_variance', shape, init: ones, trainable: false },
    ];
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const c = this.channels;
    const size = capacity * product(this.inputShape);
    this.y = this.allocF32(size, 'output');
    this.dx = needInputGrad ? this.allocF32(size, 'dL/dx') : -1;
    this.batchMean = this.allocF32(c, 'batch mean');
    this.batchVariance = this.allocF32(c, 'batch variance');
    const param = (name: ParamSpec['name']) => this.params.find((p) => p.name === name);
    const constant = (value: number, what: string) => {
      const ptr = this.allocF32(c, what);
      this.backend.arena.f32At(ptr, c).fill(value);
      return ptr;
    };
    this.gamma = param('gamma')?.value ?? constant(1, 'gamma = 1');
    this.beta = param('beta')?.value ?? constant(0, 'beta = 0');
    this.dGamma = param('gamma')?.grad ?? this.allocF32(c, 'Σ dy·x̂');
    this.dBeta = param('beta')?.grad ?? this.allocF32(c, 'Σ dy');
  }

  forward(x: number, batch: number, training: boolean): number {
    const k = this.kernels;
    const rows = this.rows(batch);
    this.x = x;
    this.training = training;
    if (training) k.batchNormStats(x, this.batchMean, this.batchVariance, rows, this.channels); // μ, σ²
    this.mean = training ? this.batchMean : this.moving('moving_mean');
    this.variance = training ? this.batchVariance : this.moving('moving_variance');
    k.batchNormForward(x, this.y, this.mean, this.variance, this.gamma, this.beta, rows, this.channels, this.epsilon); // y = γ·x̂ + β
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const rows = this.rows(batch);
    if (this.training) {
      k.movingAverage(this.moving('moving_mean'), this.batchMean, this.channels, this.momentum);
      k.movingAverage(this.moving('moving_variance'), this.batchVariance, this.channels, this.momentum);
    }
    k.batchNormParamGrads(this.x, dy, this.mean, this.variance, this.dGamma, this.dBeta, rows, this.channels, this.epsilon); // dγ, dβ
    if (!needInputGrad) return -1;
    k.batchNormInputGrad(this.x, dy, this.dx, this.mean, this.variance, this.gamma, this.dGamma, this.dBeta,
      rows, this.channels, this.epsilon, this.training ? 1 : 0); // dx
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return {
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: ZEROS_CONFIG,
      gamma_initializer: ONES_CONFIG,
      moving_mean_initializer: ZEROS_CONFIG,
      moving_variance_initializer: ONES_CONFIG,
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }

  private moving(name: 'moving_mean' | 'moving_variance'): number {
    return this.params.find((p) => p.name === name)!.value;
  }

  private rows(batch: number): number {
    return (batch * product(this.inputShape)) / this.channels;
  }
}
