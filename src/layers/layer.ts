// The base of every layer. A layer is a page of math: `build` works out shapes and declares the
// parameters, `forward` computes y = f(x), `backward` turns dL/dy into dL/dx and fills dL/dθ for
// its parameters. Every tensor is a pointer into the engine's one WASM memory; the loops are kernels.
import type { Backend } from '../backend/index.ts';
import type { Kernels } from '../backend/kernels.ts';
import type { Random } from '../random.ts';

/** The shape of one sample, without the batch dimension (Keras's `inputShape`). */
export type Shape = readonly number[];

export interface ParamSpec {
  /** Keras's weight name within the layer: `kernel` or `bias`. */
  readonly name: 'kernel' | 'bias';
  readonly shape: Shape;
  /** Fills the initial values (Keras defaults: glorotUniform kernels, zero biases). */
  readonly init: (values: Float32Array, rng: Random) => void;
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

  /**
   * The top-left [height, width] of an image input that this layer reads, when it reads less than
   * all of it (a 'valid' pool whose windows do not reach the last row or column); else null.
   */
  inputRegionRead(): [number, number] | null {
    return null;
  }

  /**
   * Asks the layer to compute only the top-left [height, width] of its image output, stored
   * compactly, because the next layer reads nothing else. Returns whether it will; the public
   * outputShape does not change.
   */
  cropOutput(_height: number, _width: number): boolean {
    return false;
  }

  /** Tells the layer that its input arrives cropped to the region it reads (see cropOutput). */
  useCroppedInput(_height: number, _width: number): void {
    throw new Error(`${this.name} (${this.className}): reads all of its input; it cannot take a cropped one`);
  }

  /**
   * Tells the layer that its input is the model's input itself, seen through reshapes only: raw
   * data such as image pixels, most of them 0 in MNIST, which a layer may exploit.
   */
  readsModelInput(): void {}

  /** For a max pool whose windows tile its input ('valid', strides = pool size): the pool size; else null. */
  get tilingPool(): [number, number] | null {
    return null;
  }

  /**
   * Asks the layer to max-pool its own output, in the same pass, for the next layer (a pool: see
   * tilingPool), so that its full output is never stored. Returns whether it will.
   */
  fusePool(_poolH: number, _poolW: number): boolean {
    return false;
  }

  /** Tells a pool that the layer before pools for it (see fusePool): forward and backward pass through. */
  poolDoneBefore(): void {
    throw new Error(`${this.name} (${this.className}): is not a pool`);
  }

  /** Whether the output is max(0, z) (activation 'relu'), so that the next layer may do the ReLU's backward. */
  get endsInRelu(): boolean {
    return false;
  }

  /**
   * Asks the layer, whose input is ReLU outputs, to return dL/dz of that ReLU from backward rather
   * than dL/dx (a max pool can, for free: see MaxPooling2D). Returns whether it will.
   */
  takeOverReluBackward(): boolean {
    return false;
  }

  /** Tells a layer that ends in ReLU that the next layer's backward already returns dL/dz. */
  skipReluBackward(): void {
    throw new Error(`${this.name} (${this.className}): does not end in a ReLU`);
  }

  /** Whether the output is softmax(z), so that cross-entropy can start backward at dL/dz = (p − onehot)/B. */
  get endsInSoftmax(): boolean {
    return false;
  }

  /** For a layer that ends in softmax: a pointer to the logits z of the latest forward. */
  softmaxLogits(): number {
    throw new Error(`${this.name}: does not end in a softmax`);
  }

  /** The backward pass from dL/dz, for a layer whose `softmaxLogits()` is z. */
  backwardFromLogits(_dLogits: number, _batch: number, _needInputGrad: boolean): number {
    throw new Error(`${this.name}: has no softmax output to start the backward pass from`);
  }

  /** The layer's config in the Keras/TF.js snake_case form, without `name`. */
  abstract getConfig(): Record<string, unknown>;

  get paramCount(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  protected shapeError(expected: string, got: Shape): Error {
    return new Error(`${this.name} (${this.className}): expected input ${expected}, got [${got.join(', ')}]`);
  }
}

/** Number of values in one sample of a shape. */
export function product(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}
