// The base of every layer. A layer is a page of math: `build` works out shapes and declares the
// parameters, `forward` computes y = f(x), `backward` turns dL/dy into dL/dx and fills dL/dθ for
// its parameters. Every tensor is a pointer into the engine's one WASM memory; the loops are kernels.
import type { Backend } from '../backend/index.ts';
import type { Kernels } from '../backend/kernels.ts';
import type { Random } from '../random.ts';

/** The shape of one sample, without the batch dimension (Keras's `inputShape`). */
export type Shape = readonly number[];

export interface ParamSpec {
  /** Keras's weight name within the layer. */
  readonly name: 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';
  readonly shape: Shape;
  /** Fills the initial values (Keras defaults: glorotUniform kernels, zero biases). */
  readonly init: (values: Float32Array, rng: Random) => void;
  /**
   * false for a weight no optimizer may move: the layer updates it itself in its training forward
   * pass and never writes its gradient (BatchNormalization's moving statistics). Default true.
   */
  readonly trainable?: boolean;
}

export interface Param extends ParamSpec {
  readonly size: number;
  /** Pointer to the values, and to dL/dθ written by the latest `backward`. */
  value: number;
  grad: number;
}

export interface LayerArgs {
  name?: string;
  /** Shape of one input sample; needed on the first layer of a model. */
  inputShape?: number[];
}

export abstract class Layer {
  /** The Keras class name, as written in model files. */
  abstract readonly className: string;
  name: string;
  readonly inputShapeArg?: Shape;
  inputShape: Shape = [];
  outputShape: Shape = [];
  params: Param[] = [];

  protected backend!: Backend;
  protected kernels!: Kernels;

  constructor(args: LayerArgs = {}) {
    this.name = args.name ?? '';
    if (args.inputShape) {
      if (!args.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`${this.constructor.name}: inputShape must be positive integers, got [${args.inputShape.join(', ')}]`);
      }
      this.inputShapeArg = [...args.inputShape];
    }
  }

  /** Checks the input shape, records the shapes and returns the parameters this layer needs. */
  build(inputShape: Shape, backend: Backend): ParamSpec[] {
    this.backend = backend;
    this.kernels = backend.kernels;
    this.inputShape = [...inputShape];
    this.outputShape = this.computeOutputShape(inputShape);
    return this.paramSpecs();
  }

  /** The output shape for a given input shape; throws, naming the layer, if the input does not fit. */
  protected abstract computeOutputShape(inputShape: Shape): Shape;

  protected paramSpecs(): ParamSpec[] {
    return [];
  }

  /**
   * Reserves this layer's activation buffers for batches of up to `capacity` samples. Called once
   * per memory plan, so a training step allocates nothing. `needInputGrad` is false for the first
   * layer, whose dL/dx nobody uses.
   */
  abstract allocate(capacity: number, needInputGrad: boolean): void;

  /** Returns a pointer to y for `batch` samples at x. Keeps what backward needs. */
  abstract forward(x: number, batch: number, training: boolean): number;

  /** Given dL/dy, writes the parameter gradients and returns a pointer to dL/dx (or -1 if not needed). */
  abstract backward(dy: number, batch: number, needInputGrad: boolean): number;

  /** The layer's config in the Keras/TF.js snake_case form, without `name`. */
  abstract getConfig(): Record<string, unknown>;

  get paramCount(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  /** Reserves `count` floats in the arena, named for the out-of-memory message. */
  protected allocF32(count: number, what: string): number {
    return this.backend.arena.allocF32(count, `${this.name} ${what}`);
  }

  protected shapeError(expected: string, got: Shape): Error {
    return new Error(`${this.name} (${this.className}): expected input ${expected}, got [${got.join(', ')}]`);
  }
}

/** Number of values in one sample of a shape. */
export function product(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}
