// Replaces: BatchNormalization → ReLU (cnn-bn's five pairs).
// Why: the textbook pair makes five passes over the activations forward (stats: two, normalize,
// ReLU) and five backward (ReLU backward, the two gradient sums, dx), each writing or re-reading a
// full tensor, the normalize and dx passes with a division and a square root per element in f64,
// and none of them split across threads. Here, per step:
//   forward:  mean, variance (channelSums, row by row; two passes), y = max(0, (x − μ)·s + β) in one
//             f32 pass with s = γ/√(σ² + ε) computed once per channel
//   backward: Σ g and Σ g·(x − μ) in one pass, g = dy where y > 0 (the ReLU's backward, never
//             stored), then dx = s·g + a·(x − μ) + b in one pass, with per-channel
//             a = −s·dγ/(rows·√(σ² + ε)) and b = −s·dβ/rows (the textbook's
//             dx = s·(g − (dβ + x̂·dγ)/rows) rearranged)
// and every pass splits across threads by rows.
// Exact: the same formulas (see src/layers/batch-normalization.ts); the element-wise passes round
// in f32 where the textbook kernels work in f64, and the sums add in another order.
// The moving statistics move in backward, as in the textbook layer.
import type { Backend } from '../backend/index.ts';
import type { BatchNormalization } from '../layers/batch-normalization.ts';
import { product } from '../layers/layer.ts';
import type { ReLU } from '../layers/activations.ts';
import { FastLayer } from './fast-layer.ts';

export class BatchNormRelu extends FastLayer {
  private channels = 0;
  private x = 0;
  private y = 0;
  private dx = 0;
  private training = false;
  private sums = 0; // f64 [2·channels]
  private batchMean = 0;
  private batchVariance = 0;
  private mean = 0; // the statistics the latest forward used
  private variance = 0;
  private scale = 0; // s = γ/√(σ² + ε)
  private beta = 0;
  private a = 0; // dx's coefficients
  private b = 0;

  constructor(private readonly bn: BatchNormalization, relu: ReLU, backend: Backend) {
    super([bn, relu], backend);
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const c = (this.channels = this.inputShape[this.inputShape.length - 1]);
    const size = capacity * product(this.inputShape);
    this.y = this.allocF32(size, 'output');
    this.dx = needInputGrad ? this.allocF32(size, 'dL/dx') : -1;
    this.sums = this.allocF32(4 * c, 'f64 sums'); // 64-byte aligned, so f64-aligned
    this.batchMean = this.allocF32(c, 'batch mean');
    this.batchVariance = this.allocF32(c, 'batch variance');
    this.scale = this.allocF32(c, 'scale');
    this.beta = this.allocF32(c, 'beta (or 0)');
    this.a = this.allocF32(c, 'dx coefficient a');
    this.b = this.allocF32(c, 'dx coefficient b');
  }

  forward(x: number, batch: number, training: boolean): number {
    const k = this.kernels;
    const c = this.channels;
    const rows = (batch * product(this.inputShape)) / c;
    this.x = x;
    this.training = training;
    if (training) {
      k.channelSums(x, 0, 0, 0, this.sums, rows, c, 0);
      this.f32(this.batchMean).set(this.f64(this.sums, c).map((s) => s / rows)); // μ
      k.channelSums(x, 0, 0, this.batchMean, this.sums, rows, c, 1);
      this.f32(this.batchVariance).set(this.f64(this.sums, c).map((s) => s / rows)); // σ², biased
    }
    this.mean = training ? this.batchMean : this.param('moving_mean')!;
    this.variance = training ? this.batchVariance : this.param('moving_variance')!;
    const [variance, scale, beta] = [this.f32(this.variance), this.f32(this.scale), this.f32(this.beta)];
    const gamma = this.param('gamma'), betaParam = this.param('beta');
    const eps = Math.fround(this.bn.epsilon);
    for (let i = 0; i < c; i++) {
      scale[i] = (gamma === undefined ? 1 : this.f32(gamma)[i]) / Math.sqrt(variance[i] + eps);
      beta[i] = betaParam === undefined ? 0 : this.f32(betaParam)[i];
    }
    k.batchNormReluForward(x, this.y, this.mean, this.scale, this.beta, rows, c); // y = max(0, (x − μ)·s + β)
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    const k = this.kernels;
    const c = this.channels;
    const rows = (batch * product(this.inputShape)) / c;
    if (this.training) {
      k.movingAverage(this.param('moving_mean')!, this.batchMean, c, this.bn.momentum);
      k.movingAverage(this.param('moving_variance')!, this.batchVariance, c, this.bn.momentum);
    }
    k.channelSums(this.x, this.y, dy, this.mean, this.sums, rows, c, 2); // Σ g, Σ g·(x − μ)
    const sums = this.f64(this.sums, 2 * c);
    const variance = this.f32(this.variance), scale = this.f32(this.scale), a = this.f32(this.a), b = this.f32(this.b);
    const eps = Math.fround(this.bn.epsilon);
    const gammaGrad = this.grad('gamma'), betaGrad = this.grad('beta');
    const t = this.training ? 1 / rows : 0;
    for (let i = 0; i < c; i++) {
      const inv = 1 / Math.sqrt(variance[i] + eps);
      const [dBeta, dGamma] = [sums[i], sums[c + i] * inv]; // dβ = Σ g, dγ = Σ g·x̂
      if (betaGrad !== undefined) this.f32(betaGrad)[i] = dBeta;
      if (gammaGrad !== undefined) this.f32(gammaGrad)[i] = dGamma;
      a[i] = -scale[i] * t * dGamma * inv;
      b[i] = -scale[i] * t * dBeta;
    }
    if (!needInputGrad) return -1;
    k.batchNormReluInputGrad(this.x, this.y, dy, this.dx, this.mean, this.scale, this.a, this.b, rows, c); // dx
    return this.dx;
  }

  private param(name: string): number | undefined {
    return this.params.find((p) => p.name === name)?.value;
  }

  private grad(name: string): number | undefined {
    return this.params.find((p) => p.name === name)?.grad;
  }

  private f32(ptr: number): Float32Array {
    return this.backend.arena.f32At(ptr, this.channels);
  }

  private f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.backend.arena.memory.buffer, ptr, n);
  }
}
