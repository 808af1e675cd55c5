// Replaces: a Dense that reads the model's input itself (nothing but Flatten before it).
// Why: MNIST's pixels are 80% exact zeros. Each batch is compressed to its nonzero pixels
// (compressed rows, CSR) and both products that read x use those alone:
//   z = x·W + b     (sparseGemmBias: the ReLU, if any, applied in the same pass)
//   dW = xᵀ·dz      (sparseTranspose, then sparseGemm)
// Exact: the terms skipped are x[i, j]·W[j, k] with x[i, j] = 0, which add nothing; only the order of
// the remaining additions changes, so results agree up to float rounding.
// A batch more than a third nonzero is not worth compressing: the textbook Dense handles it.
import type { Backend } from '../backend/index.ts';
import { activationBackward, activationForward } from '../layers/activations.ts';
import type { Dense } from '../layers/dense.ts';
import { matmul, matrix, T } from '../layers/matmul.ts';
import { CompressedRows } from './compressed.ts';
import { FastLayer } from './fast-layer.ts';

export class SparseInputDense extends FastLayer {
  private sparse = false; // whether the latest forward used the compressed batch
  private xRows: CompressedRows | null = null;
  private xColumns: CompressedRows | null = null;
  private z = 0;
  private y = 0;
  private dz = 0;
  private dx = 0;

  constructor(private readonly dense: Dense, backend: Backend) {
    super([dense], backend);
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const { units, inputs, activation } = this.dense;
    this.dense.allocate(capacity, needInputGrad);
    this.xRows = new CompressedRows(this.backend.arena, capacity, inputs);
    this.xColumns = new CompressedRows(this.backend.arena, inputs, capacity);
    this.z = this.allocF32(capacity * units, 'z');
    this.y = activation === 'linear' || activation === 'relu' ? this.z : this.allocF32(capacity * units, 'output');
    this.dz = activation === 'linear' ? -1 : this.allocF32(capacity * units, 'dL/dz');
    this.dx = needInputGrad ? this.allocF32(capacity * inputs, 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const k = this.kernels;
    const { units, inputs, activation, useBias } = this.dense;
    this.sparse = this.xRows!.compress(k, x, batch, inputs);
    if (!this.sparse) return this.dense.forward(x, batch);
    const [W, b] = this.params;
    const { start, index, values } = this.xRows!;
    const relu = activation === 'relu';
    if (useBias) {
      k.sparseGemmBias(start, index, values, W.value, b.value, this.z, batch, units, relu ? 1 : 0);
    } else {
      k.sparseGemm(start, index, values, W.value, this.z, batch, units);
      if (relu) k.relu(this.z, this.z, batch * units);
    }
    return relu ? this.z : activationForward(k, activation, this.z, this.y, batch, units);
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!this.sparse) return this.dense.backward(dy, batch, needInputGrad);
    const k = this.kernels;
    const { units, inputs, activation, useBias } = this.dense;
    const [W, b] = this.params;
    const dz = activationBackward(k, activation, this.y, dy, this.dz, batch, units, this.z);
    const rows = this.xRows!, columns = this.xColumns!;
    k.sparseTranspose(rows.start, rows.index, rows.values, batch, inputs, columns.start, columns.index, columns.values);
    k.sparseGemm(columns.start, columns.index, columns.values, dz, W.grad, inputs, units); // dW = xᵀ·dz
    if (useBias) k.colSum(dz, b.grad, batch, units, 0); // db = Σ_rows dz
    if (!needInputGrad) return -1;
    matmul(k, matrix(this.dx, batch, inputs), matrix(dz, batch, units), T(matrix(W.value, inputs, units))); // dx = dz·Wᵀ
    return this.dx;
  }
}
