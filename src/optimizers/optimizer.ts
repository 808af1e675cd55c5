// An optimizer updates every parameter of a model in one kernel call: the model keeps all
// parameters in one contiguous block and all gradients in another, in the same order.
import type { Backend } from '../backend/index.ts';

export interface ParameterBlock {
  backend: Backend;
  /** Pointers to the parameter values and to their gradients, `size` f32 values each. */
  values: number;
  grads: number;
  size: number;
}

export abstract class Optimizer {
  abstract readonly className: string;
  protected block: ParameterBlock | null = null;
  private lr: number;

  /** `owner`: the class name for error messages (className is not yet set while the base constructs). */
  protected constructor(owner: string, learningRate: number) {
    this.lr = checkLearningRate(owner, learningRate);
  }

  /** Read by every step, so callbacks (LearningRateScheduler, ReduceLROnPlateau) can change it between steps. */
  get learningRate(): number {
    return this.lr;
  }

  set learningRate(value: number) {
    this.lr = checkLearningRate(this.className, value);
  }

  /** Binds the optimizer to a model's parameters and allocates its state (zeros). */
  attach(block: ParameterBlock): void {
    this.block = block;
    this.allocateState(block);
  }

  protected abstract allocateState(block: ParameterBlock): void;

  /** Applies one update from the gradients of the latest backward pass. */
  abstract step(): void;

  abstract getConfig(): Record<string, number | boolean>;

  protected attached(): ParameterBlock {
    if (!this.block) throw new Error(`${this.className}: not attached to a model (call model.compile first)`);
    return this.block;
  }

  /** `count` zeroed floats of optimizer state. */
  protected zeros(block: ParameterBlock, count: number, what: string): number {
    const arena = block.backend.arena;
    const ptr = arena.allocF32(count, `${this.className} ${what}`);
    arena.f32At(ptr, count).fill(0);
    return ptr;
  }
}

/** A learning rate of 0 is allowed (it freezes the weights: a schedule may end there), as in Keras. */
function checkLearningRate(owner: string, value: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new Error(`${owner}: learningRate must be a finite number >= 0, got ${value}`);
  }
  return value;
}

export function checkPositive(owner: string, name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${owner}: ${name} must be a positive number, got ${value}`);
  return value;
}

export function checkFraction(owner: string, name: string, value: number): number {
  if (!(value >= 0 && value < 1)) throw new Error(`${owner}: ${name} must be in [0, 1), got ${value}`);
  return value;
}

export function checkBoolean(owner: string, name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw new Error(`${owner}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}
