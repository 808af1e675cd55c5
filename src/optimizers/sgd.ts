// Stochastic gradient descent, as Keras defines it:
//   plain:     w ← w − lr·g
//   momentum:  v ← μ·v − lr·g;  w ← w + v            (nesterov: w ← w + μ·v − lr·g)
import { checkOptions } from '../options.ts';
import { Optimizer, checkBoolean, checkFraction, type ParameterBlock } from './optimizer.ts';

export interface SGDArgs {
  /** Default 0.01, as in Keras. */
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;
  private velocity = 0;

  constructor(args: SGDArgs = {}) {
    checkOptions('SGD', args, ['learningRate', 'momentum', 'nesterov']);
    super('SGD', args.learningRate ?? 0.01);
    this.momentum = checkFraction('SGD', 'momentum', args.momentum ?? 0);
    this.nesterov = checkBoolean('SGD', 'nesterov', args.nesterov ?? false);
  }

  protected allocateState(block: ParameterBlock): void {
    this.velocity = this.zeros(block, block.size, 'velocity');
  }

  step(): void {
    const { backend, values, grads, size } = this.attached();
    backend.kernels.sgdUpdate(values, grads, this.velocity, size, this.learningRate, this.momentum, this.nesterov ? 1 : 0);
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }
}
