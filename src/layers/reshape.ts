// Reshape: [B, ...inputShape] → [B, ...targetShape], the same values in the same row-major order,
// so forward and backward only reinterpret the same pointer, like Flatten. One entry of
// targetShape may be -1: it is whatever makes the sizes match.
import { Layer, product, type LayerArgs, type Shape } from './layer.ts';
import { checkOptions, LAYER_OPTIONS } from '../options.ts';

export interface ReshapeArgs extends LayerArgs {
  targetShape: number[];
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: readonly number[];

  constructor(args: ReshapeArgs) {
    super(args);
    checkOptions('Reshape', args, [...LAYER_OPTIONS, 'targetShape']);
    const target = args?.targetShape;
    const valid = Array.isArray(target) && target.length > 0 &&
      target.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) && target.filter((d) => d === -1).length <= 1;
    if (!valid) {
      throw new Error(`Reshape: targetShape must be a non-empty array of positive integers with at most one -1, got ${JSON.stringify(target)}`);
    }
    this.targetShape = [...target];
  }

  protected computeOutputShape(inputShape: Shape): Shape {
    const size = product(inputShape);
    const known = product(this.targetShape.filter((d) => d !== -1));
    const shape = this.targetShape.map((d) => (d === -1 ? size / known : d));
    if (!shape.every((d) => Number.isInteger(d)) || product(shape) !== size) {
      throw new Error(`${this.name} (Reshape): cannot reshape [${inputShape.join(', ')}] (${size} values) into [${this.targetShape.join(', ')}]`);
    }
    return shape;
  }

  allocate(): void {}

  forward(x: number): number {
    return x;
  }

  backward(dy: number, _batch: number, needInputGrad: boolean): number {
    return needInputGrad ? dy : -1;
  }

  getConfig(): Record<string, unknown> {
    return { target_shape: [...this.targetShape] };
  }
}
