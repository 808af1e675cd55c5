// Replaces: a MaxPooling2D whose windows tile its input ('valid', strides = pool size: the usual
// 2x2 pool), when no conv before it took it over (see conv-relu-max-pool.ts).
// Why: each input cell lies in at most one window, so dx is written in one pass over the input,
// instead of zeroing dx and then scattering dy into it.
// Exact: the same values; no sums are involved.
import type { Backend } from '../backend/index.ts';
import type { MaxPooling2D } from '../layers/pooling.ts';
import { FastLayer } from './fast-layer.ts';

export class TilingMaxPool extends FastLayer {
  private y = 0;
  private argmax = 0; // i32
  private dx = 0;

  static applies(pool: MaxPooling2D): boolean {
    const [ph, pw] = pool.poolSize;
    return pool.padding === 'valid' && pool.strides[0] === ph && pool.strides[1] === pw;
  }

  constructor(private readonly pool: MaxPooling2D, backend: Backend) {
    super([pool], backend);
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    const [h, w, c] = this.inputShape;
    const [outH, outW] = this.outputShape;
    this.y = this.allocF32(capacity * outH * outW * c, 'output');
    this.argmax = this.backend.arena.allocI32(capacity * outH * outW * c, `${this.name} argmax`);
    this.dx = needInputGrad ? this.allocF32(capacity * h * w * c, 'dL/dx') : -1;
  }

  forward(x: number, batch: number): number {
    const [h, w, c] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const [ph, pw] = this.pool.poolSize;
    this.kernels.maxPoolForward(x, this.y, this.argmax, batch, h, w, c, ph, pw, ph, pw, 0, 0, outH, outW, 0);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    const [h, w, c] = this.inputShape;
    const [outH, outW] = this.outputShape;
    const [ph, pw] = this.pool.poolSize;
    this.kernels.maxPoolBackwardWindows(dy, this.argmax, this.dx, batch, h, w, c, ph, pw, outH, outW);
    return this.dx;
  }
}
