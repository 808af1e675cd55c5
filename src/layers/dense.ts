// Dense (fully connected):  z = x·W + b,  y = act(z)
//   x: [B, in]   W: [in, units]   b: [units]   y: [B, units]
//
// Backward, from dy = dL/dy:
//   dz = act'(dy)      (see activations.ts)
//   dW = xᵀ·dz         each weight W[i, j] met every sample's x[i] on its way to z[j]
//   db = Σ_rows dz     each bias was added to every row
//   dx = dz·Wᵀ         each input reached every unit through its row of W
import { Layer, type LayerArgs, type ParamSpec, type Shape } from './layer.ts';
import { activationBackward, activationForward, checkActivation, type ActivationName } from './activations.ts';
import { glorotUniform, zeros, GLOROT_UNIFORM_CONFIG, ZEROS_CONFIG } from './initializers.ts';
import { matmul, matrix, T } from './matmul.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  inputs = 0;
  private x = 0; // the input of the latest forward, kept for dW
  private z = 0;
  private y = 0;
  private dz = 0;
  private dx = 0;

  constructor(args: DenseArgs) {
    super(args);
    checkOptions('Dense', args, [...LAYER_OPTIONS, 'units', 'activation', 'useBias']);
    if (!Number.isInteger(args.units) || args.units <= 0) {
      throw new Error(`Dense: units must be a positive integer, got ${args.units}`);
    }
    this.units = args.units;
    this.activation = checkActivation('Dense', args.activation);
    this.useBias = args.useBias ?? true;
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 1) throw this.shapeError('[features] (add a Flatten layer before Dense)', inputShape);
    this.inputs = inputShape[0];
    return [this.units];
  }

  protected override paramSpecs(): ParamSpec[] {
    const kernel: ParamSpec = { name: 'kernel', shape: [this.inputs, this.units], init: glorotUniform(this.inputs, this.units) };
    return this.useBias ? [kernel, { name: 'bias', shape: [this.units], init: zeros }] : [kernel];
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const outSize = capacity * this.units;
    this.z = this.allocF32(outSize, 'z');
    this.y = this.activation === 'linear' ? this.z : this.allocF32(outSize, 'output');
    this.dz = this.activation === 'linear' ? -1 : this.allocF32(outSize, 'dL/dz');
    this.dx = needInputGrad ? this.allocF32(capacity * this.inputs, 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const [W, b] = this.params;
    this.x = x;
    const z = matrix(this.z, batch, this.units);
    matmul(this.kernels, z, matrix(x, batch, this.inputs), matrix(W.value, this.inputs, this.units), b?.value); // z = x·W + b
    return activationForward(this.kernels, this.activation, this.z, this.y, batch, this.units); // y = act(z)
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const [W, b] = this.params;
    const dzPtr = activationBackward(k, this.activation, this.y, dy, this.dz, batch, this.units, this.z);
    const x = matrix(this.x, batch, this.inputs);
    const dz = matrix(dzPtr, batch, this.units);
    matmul(k, matrix(W.grad, this.inputs, this.units), T(x), dz); // dW = xᵀ·dz
    if (this.useBias) k.colSum(dzPtr, b.grad, batch, this.units, 0); // db = Σ_rows dz
    if (!needInputGrad) return -1;
    matmul(k, matrix(this.dx, batch, this.inputs), dz, T(matrix(W.value, this.inputs, this.units))); // dx = dz·Wᵀ
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return {
      units: this.units,
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: GLOROT_UNIFORM_CONFIG,
      bias_initializer: ZEROS_CONFIG,
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  }
}
