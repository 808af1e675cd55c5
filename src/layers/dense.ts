// Dense (fully connected):  y = act(x·W + b)    x: [B, in], W: [in, units], b: [units], y: [B, units]
//
// Backward, with dz = dL/dz the gradient before the activation (see activations.ts):
//   dW = xᵀ·dz        db = Σ_rows dz        dx = dz·Wᵀ
//
// Fed the model's input (image pixels, mostly 0: 80% of MNIST's), the layer compresses each batch
// to its nonzeros and computes x·W and xᵀ·dz from them alone (assembly/sparse.ts), unless the
// batch turns out to be dense.
import { Layer, type LayerArgs, type ParamSpec, type Shape } from './layer.ts';
import { activationBackward, checkActivation, type ActivationName } from './activations.ts';
import { glorotUniform, zeros, GLOROT_UNIFORM_CONFIG, ZEROS_CONFIG } from './initializers.ts';
import { CompressedRows } from './compressed.ts';

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
  private inputs = 0;
  private x = 0; // the input of the latest forward, kept for dW
  private z = 0; // x·W + b, kept only when a softmax follows
  private y = 0;
  private dz = 0;
  private dx = 0;
  private sparseInput = false;
  private xSparse = false; // whether the latest forward compressed x (then x = xRows, xᵀ = xColumns)
  private xRows: CompressedRows | null = null;
  private xColumns: CompressedRows | null = null;

  constructor(args: DenseArgs) {
    super(args);
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
    const arena = this.backend.arena;
    const outSize = capacity * this.units;
    this.y = arena.allocF32(outSize);
    this.z = this.activation === 'softmax' ? arena.allocF32(outSize) : this.y;
    this.dz = this.activation === 'linear' ? -1 : arena.allocF32(outSize);
    this.dx = needInputGrad ? arena.allocF32(capacity * this.inputs) : -1;
    if (this.sparseInput) {
      this.xRows = new CompressedRows(arena, capacity, this.inputs);
      this.xColumns = new CompressedRows(arena, this.inputs, capacity);
    }
  }

  override readsModelInput(): void {
    this.sparseInput = true;
  }

  forward(x: number, batch: number): number {
    const k = this.kernels;
    const [W, b] = this.params;
    this.x = x;
    this.xSparse = this.xRows !== null && this.xRows.compress(k, x, batch, this.inputs);
    if (this.xSparse) {
      const { start, index, values } = this.xRows!;
      if (this.useBias) {
        k.sparseGemmBias(start, index, values, W.value, b.value, this.z, batch, this.units, this.activation === 'relu' ? 1 : 0);
      } else {
        k.sparseGemm(start, index, values, W.value, this.z, batch, this.units);
        if (this.activation === 'relu') k.relu(this.z, this.z, batch * this.units);
      }
    } else if (this.useBias) {
      k.gemmNNBias(x, W.value, b.value, this.z, batch, this.inputs, this.units, this.activation === 'relu' ? 1 : 0);
    } else {
      k.gemmNN(x, W.value, this.z, batch, this.inputs, this.units, 0);
      if (this.activation === 'relu') k.relu(this.z, this.z, batch * this.units);
    }
    if (this.activation === 'softmax') k.softmax(this.z, this.y, batch, this.units);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const dz = activationBackward(this.kernels, this.activation, this.y, dy, this.dz, batch, this.units);
    return this.backwardFromLogits(dz, batch, needInputGrad);
  }

  override get endsInSoftmax(): boolean {
    return this.activation === 'softmax';
  }

  override softmaxLogits(): number {
    return this.z;
  }

  /** The linear part's backward pass, from dz = dL/dz. */
  override backwardFromLogits(dz: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const [W, b] = this.params;
    if (this.xSparse) {
      const rows = this.xRows!, columns = this.xColumns!;
      k.sparseTranspose(rows.start, rows.index, rows.values, batch, this.inputs, columns.start, columns.index, columns.values);
      k.sparseGemm(columns.start, columns.index, columns.values, dz, W.grad, this.inputs, this.units); // dW = xᵀ·dz
    } else {
      k.gemmTN(this.x, dz, W.grad, this.inputs, batch, this.units, 0); // dW = xᵀ·dz
    }
    if (this.useBias) k.colSum(dz, b.grad, batch, this.units, 0); // db = Σ_rows dz
    if (!needInputGrad) return -1;
    k.gemmNT(dz, W.value, this.dx, batch, this.units, this.inputs, 0); // dx = dz·Wᵀ
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
