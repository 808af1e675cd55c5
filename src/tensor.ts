/** A dense float32 array with a shape, row-major (NHWC for images). Lives in JavaScript memory. */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];

  constructor(data: Float32Array, shape: readonly number[]) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`Tensor: invalid shape [${shape.join(', ')}]`);
    }
    if (size !== data.length) {
      throw new Error(`Tensor: shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`);
    }
    this.data = data;
    this.shape = [...shape];
  }

  /** Builds a tensor from any array-like of numbers (copied into a Float32Array). */
  static from(data: ArrayLike<number>, shape: readonly number[]): Tensor {
    return new Tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape);
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** Rows [start, end) along the first axis, sharing memory with this tensor. */
  slice(start: number, end: number): Tensor {
    const rowSize = this.shape.slice(1).reduce((a, b) => a * b, 1);
    return new Tensor(this.data.subarray(start * rowSize, end * rowSize), [end - start, ...this.shape.slice(1)]);
  }
}
