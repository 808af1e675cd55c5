// Sequential: a stack of layers, trained by hand-written backpropagation.
//
// One training step on a batch of B samples:
//   forward   x → layer 1 → … → layer n → ŷ
//   loss      L = mean over the batch of loss(ŷ_b, y_b)   (see losses.ts)
//   backward  dL/dŷ from the loss, then each layer, last to first, turns dL/dy into dL/dx and
//             fills its parameter gradients
//   update    the optimizer moves every parameter using its gradient
//
// The layers run as written (`optimize: false`) or as rewritten by the fast pass (src/fast/), which
// replaces some of them with faster layers computing the same thing over the same parameters.
//
// Memory: at build, every parameter gets its place in one contiguous block (and its gradient in
// another), so the optimizer updates them all in one kernel call. The first time a batch size is
// seen, `plan` reserves every activation buffer for it; after that a step allocates nothing.
import { getBackend, type Backend, type BackendName } from '../backend/index.ts';
import { Tensor } from '../tensor.ts';
import { Random } from '../random.ts';
import { Layer, product, type Param, type ParamSpec, type Shape } from '../layers/layer.ts';
import { Dropout } from '../layers/dropout.ts';
import { optimizeLayers } from '../fast/optimize.ts';
import { CrossEntropy, type LossName } from '../losses.ts';
import type { Optimizer } from '../optimizers/optimizer.ts';
import { checkOptions } from '../options.ts';
import { formatSummary } from './summary.ts';
import { saveModel } from './save.ts';

export type Labels = Uint8Array | Int32Array | readonly number[] | Tensor;

export interface SequentialOptions {
  /** Seeds the initial weights, the shuffling and dropout: same seed, same result. */
  seed?: number;
  backend?: BackendName;
  /** Threads for the WASM kernels, the calling one included (default: ENGINE_THREADS, else 1). */
  threads?: number | 'all';
  name?: string;
  /** Run the fast pass's layers (default) or the textbook layers alone (false); results agree up to float rounding. */
  optimize?: boolean;
}

export interface CompileArgs {
  optimizer: Optimizer;
  /** A loss name, or a loss object such as `new CrossEntropy('sparseCategoricalCrossentropy', { fromLogits: true })`. */
  loss: LossName | CrossEntropy;
  metrics?: string[];
}

export interface EpochLogs {
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Wall-clock seconds the epoch took (training and validation). */
  seconds: number;
}

export interface BatchLogs {
  loss: number;
  accuracy: number;
  /** Samples in this batch. */
  size: number;
}

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  /** Fraction of the samples, taken from the end before shuffling (as Keras does), held out. */
  validationSplit?: number;
  validationData?: [Tensor, Labels];
  shuffle?: boolean;
  /**
   * Data augmentation for image inputs [h, w, c]: every training image is shifted by a random
   * whole number of pixels in [−randomShift, randomShift] along each axis, afresh each epoch
   * (as Keras's RandomTranslation layer does, but outside the model). Default 0: off.
   */
  randomShift?: number;
  /** 0: silent; 1: one line per epoch on stdout. */
  verbose?: 0 | 1;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

export interface History {
  epoch: number[];
  history: { loss: number[]; accuracy: number[]; valLoss: number[]; valAccuracy: number[]; seconds: number[] };
}

/** How often fit lets the event loop run (signal handlers, timers) between batches. */
const YIELD_EVERY_MS = 25;

/** The per-batch buffers of a memory plan, sized for `capacity` samples. */
interface Plan {
  capacity: number;
  input: number;
  labels: number; // i32
  /** dL/dŷ, where backpropagation starts. */
  dPred: number;
  /** softmax of the outputs, for a loss from logits. */
  probs: number;
  predicted: number; // i32
  /** Per layer, whether its backward must return dL/dx (see needsInputGrad), as its buffers were planned. */
  needInputGrad: boolean[];
}

export class Sequential {
  readonly layers: Layer[] = [];
  readonly name: string;
  readonly seed: number;
  readonly backend: Backend;
  /** Set to true (from a callback or a signal handler) to end `fit` after the current batch. */
  stopTraining = false;
  optimizer: Optimizer | null = null;
  loss: CrossEntropy | null = null;
  /** Whether the fast pass rewrites the layers (see src/fast/optimize.ts). */
  readonly optimize: boolean;

  private built = false;
  private readonly rng: Random;
  private paramValues = 0;
  private paramGrads = 0;
  private paramSize = 0;
  private plan: Plan | null = null;
  /** The layers that run: `layers` as the fast pass rewrote them, or `layers` themselves. */
  private steps: Layer[] = [];
  /** Every block of the engine's memory this model owns (parameters, plans, optimizer state). */
  private blocks: number[] = [];
  private optimizerBlocks: number[] = [];
  private planBlocks: number[] = [];
  private fitting = false;
  private disposed = false;

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    checkOptions('Sequential', options, ['seed', 'backend', 'threads', 'name', 'optimize']);
    if (!Array.isArray(layers)) throw new Error('Sequential: the first argument must be an array of layers');
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.rng = new Random(this.seed);
    this.backend = getBackend(options.backend ?? 'wasm', { threads: options.threads });
    this.name = options.name ?? 'sequential';
    this.optimize = options.optimize ?? true;
    for (const layer of layers) this.add(layer);
  }

  add(layer: Layer): void {
    if (this.built) throw new Error(`${this.name}: cannot add a layer after the model is built`);
    if (this.layers.length === 0 && !layer.inputShapeArg) {
      throw new Error(`${this.name}: the first layer needs an inputShape, e.g. new Flatten({ inputShape: [28, 28, 1] })`);
    }
    if (this.layers.length > 0 && layer.inputShapeArg) {
      throw new Error(`${this.name}: only the first layer takes an inputShape (${layer.className} was given one)`);
    }
    this.layers.push(layer);
  }

  /** The layers that run: the fast pass's rewrite of `layers`, or `layers` themselves with `optimize: false`. */
  get runLayers(): readonly Layer[] {
    return this.ensureBuilt().steps;
  }

  get inputShape(): Shape {
    return this.ensureBuilt().layers[0].inputShape;
  }

  get outputShape(): Shape {
    const layers = this.ensureBuilt().layers;
    return layers[layers.length - 1].outputShape;
  }

  /** Infers every shape, names the layers, and allocates and initialises the parameters. */
  build(): this {
    if (this.built) return this;
    if (this.layers.length === 0) throw new Error(`${this.name}: a model needs at least one layer`);
    const counts = new Map<string, number>();
    const used = new Set(this.layers.map((l) => l.name).filter(Boolean));
    let shape: Shape = this.layers[0].inputShapeArg!;
    const specs: ParamSpec[][] = [];
    for (const layer of this.layers) {
      if (!layer.name) layer.name = uniqueName(snakeCase(layer.className), counts, used);
      specs.push(layer.build(shape, this.backend));
      shape = layer.outputShape;
    }
    this.allocateParams(specs.flat().map((s) => product(s.shape)));
    const initRng = this.rng.fork();
    let offset = 0;
    this.layers.forEach((layer, i) => {
      layer.params = specs[i].map((spec) => {
        const size = product(spec.shape);
        const param: Param = { ...spec, size, value: this.paramValues + offset * 4, grad: this.paramGrads + offset * 4 };
        spec.init(this.backend.arena.f32At(param.value, size), initRng);
        offset += alignedSize(size);
        return param;
      });
      if (layer instanceof Dropout) layer.setRandom(this.rng.fork());
    });
    this.steps = this.optimize ? optimizeLayers(this.layers, this.backend) : this.layers;
    this.built = true;
    return this;
  }

  compile(args: CompileArgs): void {
    this.ensureBuilt();
    checkOptions('compile', args, ['optimizer', 'loss', 'metrics']);
    const loss = args.loss instanceof CrossEntropy ? args.loss : lossByName(args.loss);
    for (const metric of args.metrics ?? []) {
      if (metric !== 'accuracy' && metric !== 'acc') throw new Error(`compile: unsupported metric "${metric}" (supported: accuracy)`);
    }
    this.optimizer = args.optimizer;
    this.loss = loss;
    const arena = this.backend.arena;
    for (const block of this.optimizerBlocks) arena.free(block);
    this.optimizerBlocks = arena.collect(() =>
      args.optimizer.attach({ backend: this.backend, values: this.paramValues, grads: this.paramGrads, size: this.paramSize }),
    ).blocks;
  }

  /** Trains on `x` for a number of epochs; returns the per-epoch losses and accuracies. */
  async fit(x: Tensor, y: Labels, args: FitArgs = {}): Promise<History> {
    const { optimizer } = this.ensureCompiled('fit');
    checkOptions('fit', args, ['epochs', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'randomShift', 'verbose', 'onEpochEnd', 'onBatchEnd']);
    const epochs = positiveInt('fit: epochs', args.epochs ?? 1);
    const batchSize = positiveInt('fit: batchSize', args.batchSize ?? 32);
    const randomShift = args.randomShift ?? 0;
    if (!Number.isInteger(randomShift) || randomShift < 0) throw new Error(`fit: randomShift must be a whole number of pixels >= 0, got ${randomShift}`);
    if (randomShift > 0 && this.inputShape.length !== 3) {
      throw new Error(`fit: randomShift needs image inputs [height, width, channels], the model takes [${this.inputShape.join(', ')}]`);
    }
    const labels = this.checkData('fit', x, y);
    let train = { x, labels };
    let validation: { x: Tensor; labels: Int32Array } | null = null;
    if (args.validationData) {
      const [vx, vy] = args.validationData;
      validation = { x: vx, labels: this.checkData('fit: validationData', vx, vy) };
    } else if (args.validationSplit) {
      const split = args.validationSplit;
      if (!(split > 0 && split < 1)) throw new Error(`fit: validationSplit must be in (0, 1), got ${split}`);
      const n = x.shape[0];
      const nTrain = n - Math.floor(n * split);
      if (nTrain === 0 || nTrain === n) throw new Error(`fit: validationSplit ${split} of ${n} samples leaves an empty set`);
      train = { x: x.slice(0, nTrain), labels: labels.subarray(0, nTrain) };
      validation = { x: x.slice(nTrain, n), labels: labels.subarray(nTrain) };
    }

    if (this.fitting) throw new Error(`fit: ${this.name} is already training (one fit at a time per model)`);
    this.ensurePlan(batchSize);
    const arena = this.backend.arena;
    const rowLen = product(this.inputShape);
    const n = train.x.shape[0];
    // The training set and its labels go into WASM memory once; each batch is then gathered there
    // by a kernel. These blocks are fit's own, freed when it ends.
    const { result: buffers, blocks } = arena.collect(() =>
      withHint(`the training set (${n} samples of ${rowLen} values) does not fit beside the model: train on fewer samples`, () => ({
        data: arena.allocF32(n * rowLen, 'the training set'),
        labelData: arena.allocI32(n, 'the training labels'),
        indices: arena.allocI32(batchSize, 'batch indices'),
        // With augmentation the batch is gathered into `unshifted`, then shifted into the input.
        unshifted: randomShift > 0 ? arena.allocF32(batchSize * rowLen, 'unshifted batch') : -1,
        shifts: randomShift > 0 ? arena.allocI32(2 * batchSize, 'shifts') : -1,
      })),
    );
    this.fitting = true;
    try {
      const { data, labelData, indices, unshifted, shifts } = buffers;
      arena.f32.set(train.x.data, data >> 2);
      arena.i32.set(train.labels, labelData >> 2);
      const order = new Int32Array(n).map((_, i) => i);
      const shuffleRng = this.rng.fork();
      const shiftRng = this.rng.fork();
      const history: History = { epoch: [], history: { loss: [], accuracy: [], valLoss: [], valAccuracy: [], seconds: [] } };
      const steps = Math.ceil(n / batchSize);
      let lastYield = performance.now();
      this.stopTraining = false;

      for (let epoch = 0; epoch < epochs && !this.stopTraining; epoch++) {
        const started = performance.now();
        if (args.shuffle ?? true) shuffleRng.shuffle(order);
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        for (let step = 0; step < steps && !this.stopTraining; step++) {
          const start = step * batchSize;
          const batch = Math.min(batchSize, n - start);
          const batchOrder = order.subarray(start, start + batch);
          // Asked for every step: a callback may have made a larger plan (evaluate at a larger batch).
          const plan = this.ensurePlan(batchSize);
          arena.i32.set(batchOrder, indices >> 2);
          this.backend.kernels.gatherRows(data, indices, randomShift > 0 ? unshifted : plan.input, batch, rowLen);
          if (randomShift > 0) {
            const shiftView = arena.i32At(shifts, 2 * batch);
            for (let i = 0; i < 2 * batch; i++) shiftView[i] = shiftRng.int(2 * randomShift + 1) - randomShift;
            const [h, w, c] = this.inputShape;
            this.backend.kernels.translateImages(unshifted, plan.input, shifts, batch, h, w, c);
          }
          this.backend.kernels.gatherRows(labelData, indices, plan.labels, batch, 1); // copies the i32 bits as they are
          const result = this.trainStep(plan, batch, optimizer, epoch, step);
          lossSum += result.loss * batch;
          correct += result.correct;
          seen += batch;
          await args.onBatchEnd?.(step, { loss: result.loss, accuracy: result.correct / batch, size: batch });
          // Let signal handlers and timers run now and then, so Ctrl-C can set stopTraining between
          // batches (every batch would cost the MLP ~10% of its step).
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise((resolve) => setImmediate(resolve));
            lastYield = performance.now();
          }
        }
        if (seen === 0) break;
        const logs: EpochLogs = { loss: lossSum / seen, accuracy: correct / seen, seconds: 0 };
        if (validation) {
          const v = this.evaluate(validation.x, validation.labels, { batchSize });
          logs.valLoss = v.loss;
          logs.valAccuracy = v.accuracy;
        }
        logs.seconds = (performance.now() - started) / 1000;
        history.epoch.push(epoch);
        history.history.loss.push(logs.loss);
        history.history.accuracy.push(logs.accuracy);
        if (logs.valLoss !== undefined) history.history.valLoss.push(logs.valLoss);
        if (logs.valAccuracy !== undefined) history.history.valAccuracy.push(logs.valAccuracy);
        history.history.seconds.push(logs.seconds);
        if (args.verbose) console.log(formatEpochLine(epoch, epochs, logs));
        await args.onEpochEnd?.(epoch, logs);
      }
      return history;
    } finally {
      this.fitting = false;
      for (const block of blocks) arena.free(block);
    }
  }

  /** One step of gradient descent on a single batch; returns its loss and accuracy. */
  trainOnBatch(x: Tensor, y: Labels): { loss: number; accuracy: number } {
    const { optimizer } = this.ensureCompiled('trainOnBatch');
    const labels = this.checkData('trainOnBatch', x, y);
    const batch = x.shape[0];
    const plan = this.ensurePlan(batch);
    this.backend.arena.f32.set(x.data, plan.input >> 2);
    this.backend.arena.i32.set(labels, plan.labels >> 2);
    const result = this.trainStep(plan, batch, optimizer, 0, 0);
    return { loss: result.loss, accuracy: result.correct / batch };
  }

  /** Mean loss and accuracy over a dataset, in inference mode (dropout off). */
  evaluate(x: Tensor, y: Labels, args: { batchSize?: number } = {}): { loss: number; accuracy: number } {
    const { loss } = this.ensureCompiled('evaluate');
    checkOptions('evaluate', args, ['batchSize']);
    const labels = this.checkData('evaluate', x, y);
    const plan = this.ensurePlan(args.batchSize ?? 128);
    const arena = this.backend.arena;
    const classes = product(this.outputShape);
    let lossSum = 0;
    let correct = 0;
    this.forEachBatch(x, plan, (start, batch) => {
      const output = this.forward(plan.input, batch, false);
      arena.i32.set(labels.subarray(start, start + batch), plan.labels >> 2);
      lossSum += loss.compute(this.backend, output, plan.labels, plan.dPred, plan.probs, batch, classes, 0);
      correct += this.countCorrect(plan, output, batch);
    });
    const n = x.shape[0];
    return { loss: lossSum / n, accuracy: correct / n };
  }

  /** The model's outputs (class probabilities for a classifier) for every sample of x. */
  predict(x: Tensor, args: { batchSize?: number } = {}): Tensor {
    checkOptions('predict', args, ['batchSize']);
    this.checkInput('predict', x);
    const bad = x.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`predict: input value ${x.data[bad]} at flat index ${bad} (sample ${Math.floor(bad / product(this.inputShape))}); inputs must be finite numbers`);
    const plan = this.ensurePlan(args.batchSize ?? 128);
    const outSize = product(this.outputShape);
    const out = new Float32Array(x.shape[0] * outSize);
    this.forEachBatch(x, plan, (start, batch) => {
      const y = this.forward(plan.input, batch, false);
      out.set(this.backend.arena.f32At(y, batch * outSize), start * outSize);
    });
    return new Tensor(out, [x.shape[0], ...this.outputShape]);
  }

  /** A Keras-style table of the layers, their output shapes and parameter counts; printed unless told otherwise. */
  summary(print: ((line: string) => void) | null = console.log): string {
    const text = formatSummary(this.ensureBuilt());
    print?.(text);
    return text;
  }

  get countParams(): number {
    return this.ensureBuilt().layers.reduce((n, l) => n + l.paramCount, 0);
  }

  /** Copies of every weight, in Keras order: layer by layer, kernel then bias. */
  getWeights(): Tensor[] {
    const arena = this.ensureBuilt().backend.arena;
    return this.params().map((p) => new Tensor(arena.f32At(p.value, p.size).slice(), p.shape));
  }

  setWeights(weights: readonly Tensor[]): void {
    const params = this.ensureBuilt().params();
    if (weights.length !== params.length) {
      throw new Error(`setWeights: the model has ${params.length} weights, got ${weights.length}`);
    }
    params.forEach((p, i) => {
      const w = weights[i];
      if (w.shape.length !== p.shape.length || w.shape.some((d, j) => d !== p.shape[j])) {
        throw new Error(`setWeights: ${this.weightName(p)} has shape [${p.shape.join(', ')}], got [${w.shape.join(', ')}]`);
      }
    });
    params.forEach((p, i) => this.backend.arena.f32At(p.value, p.size).set(weights[i].data));
  }

  /** Every parameter in Keras order, with its owning layer. */
  params(): Param[] {
    return this.ensureBuilt().layers.flatMap((l) => l.params);
  }

  /** The TF.js weight name of a parameter, e.g. `dense_1/kernel`. */
  weightName(param: Param): string {
    const layer = this.layers.find((l) => l.params.includes(param));
    return `${layer?.name}/${param.name}`;
  }

  async save(dir: string): Promise<void> {
    await saveModel(this, dir);
  }

  // ---- the training step ----

  private trainStep(plan: Plan, batch: number, optimizer: Optimizer, epoch: number, step: number): { loss: number; correct: number } {
    const layers = this.steps;
    const output = this.forward(plan.input, batch, true);
    const lossSum = this.loss!.compute(this.backend, output, plan.labels, plan.dPred, plan.probs, batch, product(this.outputShape), 1 / batch);
    const loss = lossSum / batch;
    if (!Number.isFinite(loss)) {
      throw new Error(
        `fit: the loss became ${loss} at epoch ${epoch + 1}, batch ${step + 1}; training stopped before ` +
          `this batch's update (try a lower learning rate, or check the inputs for NaN)`,
      );
    }
    const needInputGrad = plan.needInputGrad;
    let dy = plan.dPred;
    for (let i = layers.length - 1; i >= 0; i--) {
      dy = layers[i].backward(dy, batch, needInputGrad[i]);
      if (!needInputGrad[i]) break;
    }
    optimizer.step();
    return { loss, correct: this.countCorrect(plan, output, batch) };
  }

  /**
   * Whether each layer must compute dL/dx: only if some layer before it has parameters. Below the
   * first such layer the gradient flows to nobody (a Flatten in front of a Dense, say, would
   * otherwise cost the Dense a whole dx = dz·Wᵀ product per step).
   */
  private needsInputGrad(): boolean[] {
    let paramsBelow = false;
    return this.steps.map((layer) => {
      const need = paramsBelow;
      paramsBelow ||= layer.params.length > 0;
      return need;
    });
  }

  private forward(x: number, batch: number, training: boolean): number {
    for (const layer of this.steps) x = layer.forward(x, batch, training);
    return x;
  }

  private countCorrect(plan: Plan, output: number, batch: number): number {
    this.backend.kernels.argmaxRows(output, plan.predicted, batch, product(this.outputShape));
    const arena = this.backend.arena;
    const predicted = arena.i32At(plan.predicted, batch);
    const labels = arena.i32At(plan.labels, batch);
    let correct = 0;
    for (let i = 0; i < batch; i++) if (predicted[i] === labels[i]) correct++;
    return correct;
  }

  /** Copies x into the plan's input buffer a batch at a time and calls `body(start, batch)`. */
  private forEachBatch(x: Tensor, plan: Plan, body: (start: number, batch: number) => void): void {
    const n = x.shape[0];
    const rowLen = product(this.inputShape);
    for (let start = 0; start < n; start += plan.capacity) {
      const batch = Math.min(plan.capacity, n - start);
      this.backend.arena.f32.set(x.data.subarray(start * rowLen, (start + batch) * rowLen), plan.input >> 2);
      body(start, batch);
    }
  }

  // ---- memory ----

  private allocateParams(sizes: number[]): void {
    this.paramSize = sizes.reduce((n, s) => n + alignedSize(s), 0);
    const arena = this.backend.arena;
    const what = `${this.name}'s ${this.paramSize} parameters`;
    const { blocks } = arena.collect(() =>
      withHint(`the model is too large (its parameters and their gradients need ${(this.paramSize * 8 / 2 ** 20).toFixed(1)} MiB)`, () => {
        this.paramValues = arena.allocF32(this.paramSize, what);
        this.paramGrads = arena.allocF32(this.paramSize, `the gradients of ${what}`);
      }),
    );
    this.blocks.push(...blocks);
    // Padding between parameters stays zero, so optimizers can sweep the whole block.
    arena.f32At(this.paramValues, this.paramSize).fill(0);
    arena.f32At(this.paramGrads, this.paramSize).fill(0);
  }

  /** Reserves every buffer a batch of `capacity` samples needs (once per larger batch size). */
  private ensurePlan(capacity: number): Plan {
    if (this.plan && this.plan.capacity >= capacity) return this.plan;
    const arena = this.ensureBuilt().backend.arena;
    const classes = product(this.outputShape);
    const old = this.planBlocks;
    this.plan = null;
    this.planBlocks = [];
    try {
      const { result: plan, blocks } = arena.collect(() =>
        withHint(`the activations of ${this.name} for batches of ${capacity} do not fit: use a smaller batch size`, () => {
          const plan: Plan = {
            capacity,
            input: arena.allocF32(capacity * product(this.inputShape), 'the input batch'),
            labels: arena.allocI32(capacity, 'the batch labels'),
            dPred: arena.allocF32(capacity * classes, 'dL/doutput'),
            probs: arena.allocF32(capacity * classes, 'probabilities'),
            predicted: arena.allocI32(capacity, 'predicted classes'),
            needInputGrad: this.needsInputGrad(),
          };
          this.steps.forEach((layer, i) => layer.allocate(capacity, plan.needInputGrad[i]));
          return plan;
        }),
      );
      this.plan = plan;
      this.planBlocks = blocks;
      return plan;
    } finally {
      // The old plan's buffers are no longer any layer's (nor, on failure, are the new one's).
      for (const block of old) this.backend.arena.free(block);
    }
  }

  /**
   * Frees every buffer this model holds in the engine's memory (parameters, gradients, activations,
   * optimizer state). The model cannot be used afterwards.
   */
  dispose(): void {
    if (this.disposed) return;
    if (this.fitting) throw new Error(`dispose: ${this.name} is training; stop it first (stopTraining = true)`);
    const arena = this.backend.arena;
    for (const block of [...this.blocks, ...this.planBlocks, ...this.optimizerBlocks]) arena.free(block);
    this.blocks = this.planBlocks = this.optimizerBlocks = [];
    this.plan = null;
    this.disposed = true;
  }

  // ---- checks ----

  private ensureBuilt(): this {
    if (this.disposed) throw new Error(`${this.name} was disposed; its memory is gone`);
    return this.build();
  }

  private ensureCompiled(what: string): { optimizer: Optimizer; loss: CrossEntropy } {
    if (!this.optimizer || !this.loss) throw new Error(`${what}: call model.compile({ optimizer, loss }) first`);
    return { optimizer: this.optimizer, loss: this.loss };
  }

  private checkInput(what: string, x: Tensor): void {
    if (!(x instanceof Tensor)) {
      throw new Error(`${what}: the input must be a Tensor (Tensor.from(data, shape)), got ${Array.isArray(x) ? 'an array' : typeof x}`);
    }
    const expected = this.ensureBuilt().inputShape;
    const got = x.shape;
    if (got.length !== expected.length + 1 || expected.some((d, i) => d !== got[i + 1])) {
      throw new Error(
        `${what}: input of shape [${got.join(', ')}] does not match the model's input [N, ${expected.join(', ')}] ` +
          `(first layer ${this.layers[0].name})`,
      );
    }
    if (got[0] === 0) throw new Error(`${what}: the input has no samples`);
  }

  /** Checks x and y against the model and each other; returns the labels as class indices. */
  private checkData(what: string, x: Tensor, y: Labels): Int32Array {
    this.checkInput(what, x);
    const classes = product(this.outputShape);
    const labels = this.loss?.name === 'categoricalCrossentropy' ? oneHotToLabels(what, y, classes) : sparseLabels(what, y, classes);
    if (labels.length !== x.shape[0]) {
      throw new Error(`${what}: ${x.shape[0]} samples but ${labels.length} labels`);
    }
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i];
      if (!(label >= 0 && label < classes)) {
        throw new Error(`${what}: label ${label} at index ${i} is out of range 0-${classes - 1}`);
      }
    }
    return labels;
  }
}

function sparseLabels(what: string, y: Labels, classes: number): Int32Array {
  if (y instanceof Tensor) {
    if (y.shape.length !== 1) throw new Error(`${what}: sparse labels must be one class index per sample, got shape [${y.shape.join(', ')}]`);
    y = Array.from(y.data);
  }
  const values = y as ArrayLike<number>;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new Error(`${what}: label ${v} at index ${i} is not a class index`);
    // Checked here, before Int32Array would wrap 2**32 + 1 to 1.
    if (v < 0 || v >= classes) throw new Error(`${what}: label ${v} at index ${i} is out of range 0-${classes - 1}`);
  }
  return Int32Array.from(values);
}

/** Categorical cross-entropy takes one-hot rows; the fused kernel wants the hot index. */
function oneHotToLabels(what: string, y: Labels, classes: number): Int32Array {
  if (!(y instanceof Tensor) || y.shape.length !== 2 || y.shape[1] !== classes) {
    throw new Error(`${what}: categoricalCrossentropy needs one-hot labels as a Tensor [N, ${classes}]`);
  }
  const n = y.shape[0];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = y.data.subarray(i * classes, (i + 1) * classes);
    const hot = row.indexOf(1);
    if (hot < 0 || row.some((v, j) => v !== (j === hot ? 1 : 0))) {
      throw new Error(`${what}: label row ${i} is not one-hot: [${Array.from(row).join(', ')}]`);
    }
    labels[i] = hot;
  }
  return labels;
}

function lossByName(name: string): CrossEntropy {
  if (name !== 'sparseCategoricalCrossentropy' && name !== 'categoricalCrossentropy') {
    throw new Error(`compile: unsupported loss "${name}" (supported: sparseCategoricalCrossentropy, categoricalCrossentropy)`);
  }
  return new CrossEntropy(name);
}

/** Runs `body`; an out-of-memory error from it gets `hint` (what was being allocated, and what to do). */
function withHint<T>(hint: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof RangeError && error.message.startsWith('out of WASM memory')) throw new RangeError(`${error.message}: ${hint}`);
    throw error;
  }
}

function positiveInt(what: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** Parameters start on 16-byte boundaries, so SIMD kernels see aligned rows. */
function alignedSize(size: number): number {
  return Math.ceil(size / 4) * 4;
}

/** Keras's layer-name style: MaxPooling2D → max_pooling2d, ReLU → re_lu. */
function snakeCase(className: string): string {
  return className.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Keras naming: dense, dense_1, dense_2, … skipping names the user gave. */
function uniqueName(base: string, counts: Map<string, number>, used: Set<string>): string {
  for (;;) {
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    const name = n === 0 ? base : `${base}_${n}`;
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

export function formatEpochLine(epoch: number, epochs: number, logs: EpochLogs): string {
  const parts = [`Epoch ${epoch + 1}/${epochs}`, `${logs.seconds.toFixed(1)}s`, `loss ${logs.loss.toFixed(4)}`, `accuracy ${logs.accuracy.toFixed(4)}`];
  if (logs.valLoss !== undefined) parts.push(`val_loss ${logs.valLoss.toFixed(4)}`);
  if (logs.valAccuracy !== undefined) parts.push(`val_accuracy ${logs.valAccuracy.toFixed(4)}`);
  return parts.join(' - ');
}
