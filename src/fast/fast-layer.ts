// The base of the fast pass's layers: a faster implementation standing in for one or more
// textbook layers of a built model. It shares their parameters (the same pointers, so the
// optimizer, getWeights and save see no difference) and their shapes; it is never saved: the model
// file describes the textbook layers it replaces.
import type { Backend } from '../backend/index.ts';
import { Layer, type Shape } from '../layers/layer.ts';

export abstract class FastLayer extends Layer {
  readonly className: string;

  constructor(readonly replaces: readonly Layer[], backend: Backend) {
    super({ name: replaces.map((l) => l.name).join('+') });
    this.className = replaces.map((l) => l.className).join('+');
    this.build(replaces[0].inputShape, backend);
    this.params = replaces.flatMap((l) => l.params);
  }

  protected computeOutputShape(): Shape {
    return this.replaces[this.replaces.length - 1].outputShape;
  }

  getConfig(): Record<string, unknown> {
    throw new Error(`${this.name}: a fast-path layer is never saved; save the model's textbook layers`);
  }
}
