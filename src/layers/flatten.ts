// Flatten: [B, h, w, c] → [B, h·w·c]. Row-major memory is already laid out that way, so forward
// and backward only reinterpret the same pointer; nothing is copied.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(args: LayerArgs = {}) {
    super(args);
    checkOptions('Flatten', args, LAYER_OPTIONS);
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    return [product(inputShape)];
  }

  allocate(): void {}

  forward(x: number): number {
    return x;
  }

  backward(dy: number, _batch: number, needInputGrad: boolean): number {
    return needInputGrad ? dy : -1;
  }

  getConfig(): Record<string, unknown> {
    return {};
  }
}
