// The losses against TensorFlow.js's values (test/fixtures/keras-core-gradients.json: `yTrue`,
// `yPred`, the mean `loss` over the batch and `dYPred`, its gradient), on both backends; the
// `fromLogits` forms against the probability forms and a numerical gradient; clipping; names.
import { afterEach, describe, expect, it } from 'vitest';
import { getBackend, type Backend, type BackendName } from '../src/backend/index.ts';
import { BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanSquaredError, SparseCategoricalCrossentropy } from '../src/index.ts';
import { getLoss } from '../src/losses.ts';
import { maxRelError, readFixture, type FixtureArray } from './layer-utils.ts';

interface LossCase {
  layer: string;
  yTrue: FixtureArray;
  yPred: FixtureArray;
  loss: number;
  dYPred: FixtureArray;
}

const cases = readFixture<{ cases: LossCase[] }>('keras-core-gradients.json').cases;
const fixture = (name: string) => cases.find((c) => c.layer === name)!;
const BACKENDS: BackendName[] = ['wasm', 'reference'];

const marks: [Backend, number][] = [];
afterEach(() => {
  // Latest first: each mark is then still at or below the arena's top.
  for (const [backend, mark] of marks.splice(0).reverse()) backend.arena.release(mark);
});

/** Runs `loss` on a batch; returns the mean loss and dL/dŷ of the mean (scale 1/rows). */
function run(backend: Backend, loss: Loss, pred: ArrayLike<number>, targets: ArrayLike<number>, rows: number, cols: number): { loss: number; grad: Float32Array } {
  const arena = backend.arena;
  marks.push([backend, arena.mark()]);
  const put = (values: ArrayLike<number>, i32 = false) => {
    const ptr = arena.allocF32(values.length);
    (i32 ? arena.i32At(ptr, values.length) : arena.f32At(ptr, values.length)).set(values);
    return ptr;
  };
  const p = put(pred);
  const t = put(targets, loss.targets === 'classes');
  const dPred = arena.allocF32(rows * cols);
  const probs = arena.allocF32(rows * cols);
  const sum = loss.compute(backend, p, t, dPred, probs, rows, cols, 1 / rows);
  return { loss: sum / rows, grad: arena.f32At(dPred, rows * cols).slice() };
}

/** Class index of each one-hot row. */
function hotIndices(oneHot: ArrayLike<number>, cols: number): number[] {
  return Array.from({ length: oneHot.length / cols }, (_, r) => Array.from(oneHot).slice(r * cols, (r + 1) * cols).indexOf(1));
}

describe.each(BACKENDS)('losses vs TensorFlow.js (%s backend)', (name) => {
  const backend = getBackend(name);

  it.each([
    ['MeanSquaredError', () => new MeanSquaredError()],
    ['CategoricalCrossentropy', () => new CategoricalCrossentropy()],
    ['BinaryCrossentropy', () => new BinaryCrossentropy()],
  ] as const)('%s: the loss and dL/dŷ', (layer, make) => {
    const c = fixture(layer);
    const [rows, cols] = c.yPred.shape;
    const out = run(backend, make(), c.yPred.data, c.yTrue.data, rows, cols);
    expect(out.loss).toBeCloseTo(c.loss, 6);
    expect(maxRelError(out.grad, c.dYPred.data)).toBeLessThan(1e-5);
  });

  it('sparseCategoricalCrossentropy on class indices equals the categorical fixture on its one-hot rows', () => {
    const c = fixture('CategoricalCrossentropy');
    const [rows, cols] = c.yPred.shape;
    const out = run(backend, new SparseCategoricalCrossentropy(), c.yPred.data, hotIndices(c.yTrue.data, cols), rows, cols);
    expect(out.loss).toBeCloseTo(c.loss, 6);
    expect(maxRelError(out.grad, c.dYPred.data)).toBeLessThan(1e-5);
  });

  it('binaryCrossentropy fromLogits on z = logit(p) gives the same loss, and dL/dz = dL/dp · p(1 − p)', () => {
    const c = fixture('BinaryCrossentropy');
    const [rows, cols] = c.yPred.shape;
    const logits = c.yPred.data.map((p) => Math.log(p / (1 - p)));
    const out = run(backend, new BinaryCrossentropy({ fromLogits: true }), logits, c.yTrue.data, rows, cols);
    expect(out.loss).toBeCloseTo(c.loss, 5);
    expect(maxRelError(out.grad, c.dYPred.data.map((d, i) => d * c.yPred.data[i] * (1 - c.yPred.data[i])))).toBeLessThan(1e-5);
  });

  it('categoricalCrossentropy fromLogits on one-hot rows equals the fused sparse kernel: (softmax(z) − y)/B', () => {
    const c = fixture('CategoricalCrossentropy');
    const [rows, cols] = c.yPred.shape;
    const logits = c.yPred.data.map((p, i) => Math.log(p) + (i % 3)); // any logits; shifted rows keep softmax
    const dense = run(backend, new CategoricalCrossentropy({ fromLogits: true }), logits, c.yTrue.data, rows, cols);
    const sparse = run(backend, new SparseCategoricalCrossentropy({ fromLogits: true }), logits, hotIndices(c.yTrue.data, cols), rows, cols);
    expect(dense.loss).toBeCloseTo(sparse.loss, 6);
    expect(maxRelError(dense.grad, sparse.grad)).toBeLessThan(1e-5);
  });

  it.each([
    ['categoricalCrossentropy fromLogits, soft targets', () => new CategoricalCrossentropy({ fromLogits: true }), [0.2, 0.5, 0.3, 0, 0, 1], 3],
    ['categoricalCrossentropy, soft targets', () => new CategoricalCrossentropy(), [0.2, 0.5, 0.3, 0, 0, 1], 3],
    ['binaryCrossentropy fromLogits', () => new BinaryCrossentropy({ fromLogits: true }), [0, 1, 0.3, 1, 0, 0.5], 3],
    ['meanSquaredError', () => new MeanSquaredError(), [0.5, -2, 3, 1, 0, 4], 3],
  ] as const)('%s: dL/dŷ agrees with a central difference of the loss', (_what, make, targets, cols) => {
    const loss = make();
    const isLogits = loss.fromLogits || loss.name === 'meanSquaredError';
    const pred = isLogits ? [0.3, -1.2, 2.0, 0.7, 0.1, -0.4] : [0.2, 0.3, 0.5, 0.1, 0.6, 0.3];
    const rows = targets.length / cols;
    const { grad } = run(backend, loss, pred, targets, rows, cols);
    const h = 1e-3;
    pred.forEach((_, i) => {
      const at = (delta: number) => run(backend, loss, pred.map((v, j) => (j === i ? v + delta : v)), targets, rows, cols).loss;
      expect(grad[i]).toBeCloseTo((at(h) - at(-h)) / (2 * h), 3);
    });
  });

  it('clipped probabilities: 0 and 1 become ε and 1 − ε (in float32), and pass no gradient', () => {
    const bce = run(backend, new BinaryCrossentropy(), [0, 1], [1, 0], 1, 2);
    expect(bce.loss).toBeCloseTo(-(Math.log(Math.fround(1e-7)) + Math.log(1 - Math.fround(1 - 1e-7))) / 2, 4);
    expect(Array.from(bce.grad)).toEqual([0, 0]);
    const cce = run(backend, new CategoricalCrossentropy(), [0, 1], [1, 0], 1, 2);
    expect(cce.loss).toBeCloseTo(-Math.log(Math.fround(1e-7)), 4);
    // q = p / Σp: the clipped 0 passes nothing; the 1, clipped to 1 − ε, neither.
    expect(Array.from(cce.grad)).toEqual([0, 0]);
  });
});

describe('loss names and options', () => {
  it('compile names map to the loss classes; unknown names and options are refused, naming them', () => {
    expect(getLoss('compile', 'binaryCrossentropy')).toBeInstanceOf(BinaryCrossentropy);
    expect(getLoss('compile', 'categoricalCrossentropy')).toBeInstanceOf(CategoricalCrossentropy);
    expect(getLoss('compile', 'sparseCategoricalCrossentropy')).toBeInstanceOf(SparseCategoricalCrossentropy);
    expect(getLoss('compile', 'meanSquaredError')).toBeInstanceOf(MeanSquaredError);
    expect(getLoss('compile', 'mse')).toBeInstanceOf(MeanSquaredError);
    const own = new BinaryCrossentropy({ fromLogits: true });
    expect(getLoss('compile', own)).toBe(own);
    expect(() => getLoss('compile', 'hinge' as never)).toThrow(/compile: unsupported loss "hinge" \(supported: sparseCategoricalCrossentropy, categoricalCrossentropy, binaryCrossentropy, meanSquaredError, mse/);
    expect(() => getLoss('compile', 'constructor' as never)).toThrow(/unsupported loss "constructor"/);
    expect(() => new MeanSquaredError({ fromLogits: true } as never)).toThrow(/MeanSquaredError: unknown option "fromLogits"/);
    expect(() => new BinaryCrossentropy({ fromLogit: true } as never)).toThrow(/BinaryCrossentropy: unknown option "fromLogit" \(did you mean "fromLogits"\?\)/);
    expect(() => new CategoricalCrossentropy({ fromLogits: 'yes' } as never)).toThrow(/CategoricalCrossentropy: fromLogits must be true or false, got "yes"/);
  });

  it('getConfig gives the TF.js form', () => {
    expect(new SparseCategoricalCrossentropy({ fromLogits: true }).getConfig()).toEqual({ fromLogits: true });
    expect(new BinaryCrossentropy().getConfig()).toEqual({ fromLogits: false });
    expect(new MeanSquaredError().getConfig()).toEqual({});
  });
});
