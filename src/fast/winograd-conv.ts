// Replaces: a Conv2D with a 3x3 kernel, stride 1, 'valid' padding and at least MIN_CHANNELS input
// channels, when no max pool rewrite took it (cnn-bn's four convs but its first).
// Why: Winograd F(2x2, 3x3). Each 2x2 block of outputs comes from its 4x4 input tile d as
//   y = Aᵀ [ Σ_c (G W_cf Gᵀ) ⊙ (Bᵀ d_c B) ] A        (the matrices: assembly/winograd.ts)
// so for each of the 16 entries e of those 4x4 products the sum over channels is one matrix
// product M[e] = V[e]·U[e], [tiles, C]·[C, F], with V = Bᵀ d B per tile and U = G W Gᵀ: 16
// multiplies per tile (4 outputs) and channel pair where im2col + GEMM spends 36, 2.25x fewer.
// Backward runs the adjoints of the same steps, so all three products shrink alike:
//   Mg[e] = (A dz Aᵀ)[e]      dU[e] = V[e]ᵀ·Mg[e]  → dW = Gᵀ dU G
//   dV[e] = Mg[e]·U[e]ᵀ       → dx = Σ_tiles B dV Bᵀ  (tiles overlap by two rows and columns)
// dV overwrites V once dU is known. The transforms are cheap next to the products (additions only,
// four channels at a time), and V (4 values per output position and channel) is less than half of
// im2col's 9.
// Exact: the identity above holds in exact arithmetic for any W and d (it is the minimal-filtering
// algorithm for F(2, 3) nested in 2D), and backward is its exact derivative; only rounding differs
// (the transforms' entries are 0, ±1, ±½, so it stays at the level of a GEMM's: test/winograd.test.ts).
import type { Backend } from '../backend/index.ts';
import { activationBackward, activationForward } from '../layers/activations.ts';
import type { Conv2D } from '../layers/conv2d.ts';
import { FastLayer } from './fast-layer.ts';

/** Fewer input channels make [tiles, C] products too shallow to beat im2col's K = 9·C. */
export const MIN_CHANNELS = 16;

/**
 * The row count of each of the 16 matrices for `tiles` rows of `width` floats: tiles, plus a few
 * rows so that consecutive matrices do not start a multiple of 4 KiB apart. With 16 matrices
 * exactly 2.25 MiB apart (conv2 of cnn-bn: 18,432 tiles x 32 channels), a tile's 16 stores and the
 * products' reads all fall in one L1 set and alias in the store buffer: winogradInput took 10% of
 * a step.
 */
export function paddedStride(tiles: number, width: number): number {
  for (let stride = tiles; stride < tiles + MAX_PAD; stride++) {
    const offset = (stride * width * 4) % 4096;
    if (offset >= 256 && offset <= 3840) return stride;
  }
  return tiles; // (a width of 1024 floats: no padding helps)
}
const MAX_PAD = 64;
/** gemmBatched's forms. */
const [NN, NT, TN] = [0, 1, 2];

export class WinogradConv2D extends FastLayer {
  private readonly tilesH: number;
  private readonly tilesW: number;
  private u = 0; // [16, C, F]: the transformed kernel
  private du = 0;
  private v = 0; // [16, tiles, C]: the transformed input tiles, then dV
  private m = 0; // [16, tiles, F]: the products, then the transformed dz
  private z = 0;
  private y = 0;
  private dz = 0;
  private dx = 0;

  static applies(conv: Conv2D): boolean {
    return conv.kernelSize[0] === 3 && conv.kernelSize[1] === 3 && conv.strides[0] === 1 && conv.strides[1] === 1 &&
      conv.padding === 'valid' && conv.inputShape[2] >= MIN_CHANNELS && conv.activation !== 'softmax';
  }

  constructor(private readonly conv: Conv2D, backend: Backend) {
    super([conv], backend);
    this.tilesH = Math.ceil(conv.geometry.outH / 2);
    this.tilesW = Math.ceil(conv.geometry.outW / 2);
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const c = this.inputShape[2];
    const { filters, activation } = this.conv;
    const tiles = capacity * this.tilesH * this.tilesW + MAX_PAD;
    const positions = capacity * this.outputShape[0] * this.outputShape[1];
    this.u = this.allocF32(16 * c * filters, 'transformed kernel');
    this.du = this.allocF32(16 * c * filters, 'transformed kernel gradient');
    this.v = this.allocF32(16 * tiles * c, 'transformed input tiles');
    this.m = this.allocF32(16 * tiles * filters, 'tile products');
    this.z = this.allocF32(positions * filters, 'z');
    this.y = activation === 'linear' ? this.z : this.allocF32(positions * filters, 'output');
    this.dz = activation === 'linear' ? -1 : this.allocF32(positions * filters, 'dL/dz');
    this.dx = needInputGrad ? this.allocF32(capacity * this.inputShape[0] * this.inputShape[1] * c, 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const k = this.kernels;
    const [h, w, c] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const { filters, activation, useBias } = this.conv;
    const [W, bias] = this.params;
    const tiles = batch * this.tilesH * this.tilesW;
    const [sv, sm] = [paddedStride(tiles, c), paddedStride(tiles, filters)]; // V's and M's row counts
    k.winogradKernel(W.value, this.u, c, filters); // U = G W Gᵀ
    k.winogradInput(x, this.v, batch, h, w, c, this.tilesH, this.tilesW, sv); // V = Bᵀ d B
    k.gemmBatched(NN, this.v, this.u, this.m, tiles, c, filters, 16, sv * c, c * filters, sm * filters); // M[e] = V[e]·U[e]
    k.winogradOutput(this.m, this.z, useBias ? bias.value : 0, batch, outH, outW, filters, this.tilesH, this.tilesW, sm, useBias ? 1 : 0); // z = Aᵀ M A + bias
    return activationForward(k, activation, this.z, this.y, batch * outH * outW, filters);
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const [h, w, c] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const { filters, activation, useBias } = this.conv;
    const [W, bias] = this.params;
    const tiles = batch * this.tilesH * this.tilesW;
    const [sv, sm] = [paddedStride(tiles, c), paddedStride(tiles, filters)];
    const rows = batch * outH * outW;
    const dz = activationBackward(k, activation, this.y, dy, this.dz, rows, filters, this.z);
    k.winogradOutputGrad(dz, this.m, batch, outH, outW, filters, this.tilesH, this.tilesW, sm); // Mg = A dz Aᵀ
    // One batched call per set of 16 products: each product whole on one thread (bit-identical to
    // one thread), and one wait for the slower core instead of 16.
    k.gemmBatched(TN, this.v, this.m, this.du, c, tiles, filters, 16, sv * c, sm * filters, c * filters); // dU[e] = V[e]ᵀ·Mg[e]
    k.winogradKernelGrad(this.du, W.grad, c, filters); // dW = Gᵀ dU G
    if (useBias) k.colSum(dz, bias.grad, rows, filters, 0); // dbias = Σ_rows dz
    if (!needInputGrad) return -1;
    k.gemmBatched(NT, this.m, this.u, this.v, tiles, filters, c, 16, sm * filters, c * filters, sv * c); // dV[e] = Mg[e]·U[e]ᵀ, over V
    k.winogradInputGrad(this.v, this.dx, batch, h, w, c, this.tilesH, this.tilesW, sv); // dx = Σ B dV Bᵀ
    return this.dx;
  }
}
