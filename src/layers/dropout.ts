// Dropout (inverted):  training: y = x ⊙ m, with m_i = 0 with probability `rate`, else 1/(1 − rate);
// inference: y = x. Scaling the survivors keeps E[y] = x, so inference needs no rescaling.
// Backward: dx = dy ⊙ m, the same mask.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { Random } from '../random.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export interface DropoutArgs extends LayerArgs {
  rate: number;
  seed?: number;
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly seed?: number;
  private rng: Random | null = null;
  private size = 0;
  private mask = 0;
  private y = 0;
  private dx = 0;
  private masked = false; // whether the latest forward applied a mask

  constructor(args: DropoutArgs) {
    super(args);
    checkOptions('Dropout', args, [...LAYER_OPTIONS, 'rate', 'seed']);
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`Dropout: rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.seed = args.seed;
  }

  /** The model hands each Dropout its own stream of its seeded generator (unless a seed was given). */
  setRandom(rng: Random): void {
    this.rng = this.seed === undefined ? rng : new Random(this.seed);
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    this.size = product(inputShape);
    return inputShape;
  }

  allocate(capacity: number, needInputGrad: boolean): void {
    this.mask = this.allocF32(capacity * this.size, 'mask');
    this.y = this.allocF32(capacity * this.size, 'output');
    this.dx = needInputGrad ? this.allocF32(capacity * this.size, 'dL/dx') : -1;
  }

  forward(x: number, batch: number, training: boolean): number {
    this.masked = training && this.rate > 0;
    if (!this.masked) return x;
    const n = batch * this.size;
    // A fresh seed per step from the model's generator; the kernel hashes (seed, i) into the mask.
    const seed = (this.rng ??= new Random(0)).int(2 ** 32) | 0;
    this.kernels.dropoutMask(this.mask, n, this.rate, 1 / (1 - this.rate), seed, 0);
    this.kernels.mul(x, this.mask, this.y, n);
    return this.y;
  }

  backward(dy: number, batch: number, needInputGrad: boolean): number {
    if (!needInputGrad) return -1;
    if (!this.masked) return dy;
    this.kernels.mul(dy, this.mask, this.dx, batch * this.size);
    return this.dx;
  }

  getConfig(): Record<string, unknown> {
    return { rate: this.rate, noise_shape: null, seed: this.seed ?? null };
  }
}
