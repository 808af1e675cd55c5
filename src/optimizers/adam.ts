// Adam (Kingma & Ba), with TF.js's update rule. At step t:
//   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
//   w ← w − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)
import { checkOptions } from '../options.ts';
import { Optimizer, checkFraction, checkPositive, type ParameterBlock } from './optimizer.ts';

export interface AdamArgs {
  /** Default 0.001, as in Keras. */
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam extends Optimizer {
  readonly className = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private m = 0;
  private v = 0;
  /** β1ᵗ and β2ᵗ, kept in float32 as TF.js and Keras keep them (it shifts the update by ~1e-5). */
  private beta1Power = 1;
  private beta2Power = 1;

  constructor(args: AdamArgs = {}) {
    checkOptions('Adam', args, ['learningRate', 'beta1', 'beta2', 'epsilon']);
    super('Adam', args.learningRate ?? 0.001);
    this.beta1 = checkFraction('Adam', 'beta1', args.beta1 ?? 0.9);
    this.beta2 = checkFraction('Adam', 'beta2', args.beta2 ?? 0.999);
    this.epsilon = checkPositive('Adam', 'epsilon', args.epsilon ?? 1e-7);
  }

  protected allocateState(block: ParameterBlock): void {
    this.m = this.zeros(block, block.size, 'first moments');
    this.v = this.zeros(block, block.size, 'second moments');
    this.beta1Power = 1;
    this.beta2Power = 1;
  }

  step(): void {
    const { backend, values, grads, size } = this.attached();
    this.beta1Power = Math.fround(this.beta1Power * Math.fround(this.beta1));
    this.beta2Power = Math.fround(this.beta2Power * Math.fround(this.beta2));
    const c1 = 1 / Math.fround(1 - this.beta1Power);
    const c2 = 1 / Math.fround(1 - this.beta2Power);
    backend.kernels.adamUpdate(values, grads, this.m, this.v, size, this.learningRate, this.beta1, this.beta2, this.epsilon, c1, c2);
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}
