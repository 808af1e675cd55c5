// Stochastic gradient descent, as Keras defines it:
//   plain:     w ← w − lr·g
//   momentum:  v ← μ·v − lr·g;  w ← w + v            (nesterov: w ← w + μ·v − lr·g)
import { checkOptions } from '../options.ts';
import { Optimizer, checkFraction, checkPositive, type ParameterBlock } from './optimizer.ts';

export interface SGDArgs {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly className = 'SGD';
  learningRate: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  private velocity = 0;

  constructor(args: SGDArgs = {}) {
    super();
    checkOptions('SGD', args, ['learningRate', 'momentum', 'nesterov']);
    this.learningRate = checkPositive('SGD', 'learningRate', args.learningRate ?? 0.01);
    this.momentum = checkFraction('SGD', 'momentum', args.momentum ?? 0);
    this.nesterov = args.nesterov ?? false;
  }

  protected allocateState(block: ParameterBlock): void {
    const arena = block.backend.arena;
    this.velocity = arena.allocF32(block.size);
    arena.f32At(this.velocity, block.size).fill(0);
  }

  step(): void {
    const { backend, values, grads, size } = this.attached();
    backend.kernels.sgdUpdate(values, grads, this.velocity, size, this.learningRate, this.momentum, this.nesterov ? 1 : 0);
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }
}
