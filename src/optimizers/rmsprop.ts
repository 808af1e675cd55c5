// RMSprop (Hinton), with the update rule of TF.js and Keras (ε inside the square root):
//   ms ← ρ·ms + (1 − ρ)·g²
//   step = lr·g / sqrt(ms + ε)                 (centered: lr·g / sqrt(ms − mg² + ε), mg ← ρ·mg + (1 − ρ)·g)
//   w ← w − step                               (momentum μ: mom ← μ·mom + step; w ← w − mom)
// TF.js's centered form subtracts ε (sqrt(ms − (mg² + ε)), NaN for a gradient that stays 0);
// this one adds it, as TensorFlow's ApplyCenteredRMSProp and Keras do.
import { checkOptions } from '../options.ts';
import { Optimizer, checkBoolean, checkFraction, checkPositive, type ParameterBlock } from './optimizer.ts';

export interface RMSpropArgs {
  /** Default 0.001, as in Keras. */
  learningRate?: number;
  /** Decay of the moving mean of g² (TF.js calls it `decay`). Default 0.9. */
  rho?: number;
  /** Default 0: no momentum. */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** Normalise by the estimated variance of g instead of its mean square. Default false. */
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  readonly className = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
  private meanSquare = 0;
  /** Momentum and mean-gradient state: 0 (none allocated) when momentum = 0, when not centered. */
  private moment = 0;
  private meanGrad = 0;

  constructor(args: RMSpropArgs = {}) {
    checkOptions('RMSprop', args, ['learningRate', 'rho', 'momentum', 'epsilon', 'centered']);
    super('RMSprop', args.learningRate ?? 0.001);
    this.rho = checkFraction('RMSprop', 'rho', args.rho ?? 0.9);
    this.momentum = checkFraction('RMSprop', 'momentum', args.momentum ?? 0);
    this.epsilon = checkPositive('RMSprop', 'epsilon', args.epsilon ?? 1e-7);
    this.centered = checkBoolean('RMSprop', 'centered', args.centered ?? false);
  }

  protected allocateState(block: ParameterBlock): void {
    this.meanSquare = this.zeros(block, block.size, 'mean squares');
    this.moment = this.momentum !== 0 ? this.zeros(block, block.size, 'momentum') : 0;
    this.meanGrad = this.centered ? this.zeros(block, block.size, 'mean gradients') : 0;
  }

  step(): void {
    const { backend, values, grads, size } = this.attached();
    backend.kernels.rmspropUpdate(values, grads, this.meanSquare, this.moment, this.meanGrad, size, this.learningRate,
      this.rho, this.momentum, this.epsilon, this.centered ? 1 : 0);
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }
}
