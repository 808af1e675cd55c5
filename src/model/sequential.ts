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
import { getLoss, type Loss, type LossName } from '../losses.ts';
import { getOptimizer, type OptimizerName } from '../optimizers/index.ts';
import type { Optimizer } from '../optimizers/optimizer.ts';
import { Callback, HOOK_NAMES, type CallbackHooks, type CallbackParams } from '../callbacks.ts';
import { ProgressBar, type ProgressStream } from '../progress.ts';
import { checkMetrics, epochLogKeys, scoreBatch, type MetricName } from './metrics-fit.ts';
import { checkOptions } from '../options.ts';
import { formatSummary } from './summary.ts';
import { modelArtifacts, saveModel, type ModelArtifacts } from './save.ts';
import { platform } from '../platform/platform.ts';

/**
 * What fit, evaluate and trainOnBatch take as y, as the loss needs: class indices (an array, or a
 * Tensor [N]) for sparseCategoricalCrossentropy; otherwise a Tensor of targets shaped like the
 * output, [N, ...outputShape] (one-hot rows, 0/1 labels or probabilities, real values), or N
 * values when the model has a single output.
 */
export type Labels = Uint8Array | Int32Array | Float32Array | readonly number[] | Tensor;

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
  /** An optimizer object, or a name with Keras's defaults: 'adam' (lr 0.001), 'sgd' (0.01), 'rmsprop' (0.001). */
  optimizer: Optimizer | OptimizerName;
  /** A loss name, or a loss object such as `new SparseCategoricalCrossentropy({ fromLogits: true })`. */
  loss: LossName | 'mse' | Loss;
  /**
   * 'accuracy' (or 'acc'), 'binaryAccuracy', 'mse'. Loss and accuracy are always reported; the
   * others join the logs (and their `val` twins) when asked for.
   */
  metrics?: string[];
}

export interface EpochLogs {
  loss: number;
  accuracy: number;
  binaryAccuracy?: number;
  mse?: number;
  valLoss?: number;
  valAccuracy?: number;
  valBinaryAccuracy?: number;
  valMse?: number;
  /** Wall-clock seconds the epoch took (training and validation). */
  seconds: number;
}

export interface BatchLogs {
  loss: number;
  accuracy: number;
  /** Samples in this batch. */
  size: number;
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
  binaryAccuracy?: number;
  mse?: number;
}

/** Ranges of fit's random affine augmentation; each omitted one is 0 (off). */
export interface AugmentOptions {
  /** Rotation by up to ±rotation degrees (at most 180). */
  rotation?: number;
  /** Scaling by a factor in [1 − zoom, 1 + zoom] (zoom < 1). */
  zoom?: number;
  /** Shifts of up to ±shift pixels along each axis (not only whole ones). */
  shift?: number;
}

/** fit's augment options, checked; undefined when augmentation is off. */
function checkAugment(augment: unknown): Required<AugmentOptions> | undefined {
  if (augment === undefined) return undefined;
  checkOptions('fit: augment', augment, ['rotation', 'zoom', 'shift']);
  const { rotation = 0, zoom = 0, shift = 0 } = augment as AugmentOptions;
  const check = (name: string, value: number, ok: boolean, range: string) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok) throw new Error(`fit: augment.${name} must be ${range}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  };
  check('rotation', rotation, rotation >= 0 && rotation <= 180, 'a number of degrees in [0, 180]');
  check('zoom', zoom, zoom >= 0 && zoom < 1, 'a fraction in [0, 1)');
  check('shift', shift, shift >= 0, 'a number of pixels >= 0');
  return { rotation, zoom, shift };
}

/**
 * Draws one random map per image and writes its inverse, the 6 params of the affineImages kernel,
 * into out[6i..6i + 6]. The image is rotated by θ, scaled by z about its centre, then shifted by
 * (sx, sy); the kernel needs the source of each output point: (1/z)·R(−θ)·(p − t).
 */
export function drawAffineParams(rng: Random, augment: Required<AugmentOptions>, out: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const theta = (rng.uniform(-augment.rotation, augment.rotation) * Math.PI) / 180;
    const z = rng.uniform(1 - augment.zoom, 1 + augment.zoom);
    const sx = rng.uniform(-augment.shift, augment.shift);
    const sy = rng.uniform(-augment.shift, augment.shift);
    const a = Math.cos(theta) / z, b = Math.sin(theta) / z;
    // [a, b, tx, c, d, ty] with c = −b, d = a.
    out.set([a, b, -(a * sx + b * sy), -b, a, -(-b * sx + a * sy)], 6 * i);
  }
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
  /**
   * Data augmentation for image inputs [h, w, c]: every training image gets a fresh random
   * rotation, zoom and shift at every step, resampled bilinearly (0 outside the image). Not
   * together with randomShift (use `shift` here instead).
   */
  augment?: AugmentOptions;
  /** As Keras: 1 (default) a progress bar on stdout (one line per epoch when it is not a terminal); 2 one line per epoch; 0 silent. */
  verbose?: 0 | 1 | 2;
  /** EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, or objects with hooks (see callbacks.ts). */
  callbacks?: (Callback | CallbackHooks)[] | CallbackHooks;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

export interface History {
  epoch: number[];
  history: {
    loss: number[];
    accuracy: number[];
    valLoss: number[];
    valAccuracy: number[];
    seconds: number[];
    binaryAccuracy?: number[];
    mse?: number[];
    valBinaryAccuracy?: number[];
    valMse?: number[];
  };
}

/** Targets checked against the model and its loss: `width` values per sample (1 for class indices). */
interface Targets {
  data: Int32Array | Float32Array;
  width: number;
}

/** How often fit lets the event loop run (signal handlers, timers) between batches. */
const YIELD_EVERY_MS = 25;

/** The per-batch buffers of a memory plan, sized for `capacity` samples. */
interface Plan {
  capacity: number;
  input: number;
  /** The batch's targets: class indices (i32) or output-shaped values (f32), room for either. */
  targets: number;
  /** dL/dŷ, where backpropagation starts. */
  dPred: number;
  /** softmax of the outputs, for a loss from logits. */
  probs: number;
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
  loss: Loss | null = null;
  /** The metric names given to compile, as given. */
  metrics: string[] = [];
  /** Whether the fast pass rewrites the layers (see src/fast/optimize.ts). */
  readonly optimize: boolean;

  private built = false;
  private readonly rng: Random;
  private paramValues = 0;
  private paramGrads = 0;
  private paramSize = 0;
  /** The trainable parameters: the first `trainableSize` floats of the block. */
  private trainableSize = 0;
  private plan: Plan | null = null;
  /** The layers that run: `layers` as the fast pass rewrote them, or `layers` themselves. */
  private steps: Layer[] = [];
  /** Every block of the engine's memory this model owns (parameters, plans, optimizer state). */
  private blocks: number[] = [];
  private optimizerBlocks: number[] = [];
  private planBlocks: number[] = [];
  /** The metrics reported beyond loss and accuracy (always reported), from compile's names. */
  private extraMetrics: MetricName[] = [];
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
    // Trainable parameters first, then the others (BatchNormalization's moving statistics), so the
    // optimizer's one sweep covers exactly the trainable ones.
    const blockSize = (trainable: boolean) =>
      specs.flat().filter((s) => (s.trainable !== false) === trainable).reduce((n, s) => n + alignedSize(product(s.shape)), 0);
    this.trainableSize = blockSize(true);
    this.allocateParams(this.trainableSize + blockSize(false));
    const initRng = this.rng.fork();
    const offset = { trainable: 0, fixed: this.trainableSize };
    this.layers.forEach((layer, i) => {
      layer.params = specs[i].map((spec) => {
        const size = product(spec.shape);
        const at = spec.trainable === false ? offset.fixed : offset.trainable;
        const param: Param = { ...spec, size, value: this.paramValues + at * 4, grad: this.paramGrads + at * 4 };
        spec.init(this.backend.arena.f32At(param.value, size), initRng);
        if (spec.trainable === false) offset.fixed += alignedSize(size);
        else offset.trainable += alignedSize(size);
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
    const optimizer = getOptimizer('compile', args.optimizer);
    const loss = getLoss('compile', args.loss);
    loss.checkOutputShape(`compile (${this.name}, last layer ${this.layers[this.layers.length - 1].name})`, this.outputShape);
    const extraMetrics = checkMetrics('compile', args.metrics, loss);
    this.optimizer = optimizer;
    this.loss = loss;
    this.metrics = [...(args.metrics ?? [])];
    this.extraMetrics = extraMetrics;
    const arena = this.backend.arena;
    for (const block of this.optimizerBlocks) arena.free(block);
    this.optimizerBlocks = arena.collect(() =>
      optimizer.attach({ backend: this.backend, values: this.paramValues, grads: this.paramGrads, size: this.trainableSize }),
    ).blocks;
  }

  /** Trains on `x` for a number of epochs; returns the per-epoch losses and metrics. */
  async fit(x: Tensor, y: Labels, args: FitArgs = {}): Promise<History> {
    const { optimizer } = this.ensureCompiled('fit');
    checkOptions('fit', args, ['epochs', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'randomShift', 'augment', 'verbose', 'callbacks', 'onEpochEnd', 'onBatchEnd']);
    const epochs = positiveInt('fit: epochs', args.epochs ?? 1);
    const batchSize = positiveInt('fit: batchSize', args.batchSize ?? 32);
    const verbose = args.verbose ?? 1;
    if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new Error(`fit: verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), got ${JSON.stringify(verbose)}`);
    const randomShift = args.randomShift ?? 0;
    if (!Number.isInteger(randomShift) || randomShift < 0) throw new Error(`fit: randomShift must be a whole number of pixels >= 0, got ${randomShift}`);
    if (randomShift > 0 && this.inputShape.length !== 3) {
      throw new Error(`fit: randomShift needs image inputs [height, width, channels], the model takes [${this.inputShape.join(', ')}]`);
    }
    const augment = checkAugment(args.augment);
    if (augment && this.inputShape.length !== 3) {
      throw new Error(`fit: augment needs image inputs [height, width, channels], the model takes [${this.inputShape.join(', ')}]`);
    }
    if (augment && randomShift > 0) throw new Error(`fit: randomShift (${randomShift}) and augment both move the images; give augment.shift instead`);
    const augmenting = randomShift > 0 || augment !== undefined;
    const targets = this.checkData('fit', x, y);
    let train = { x, targets };
    let validation: { x: Tensor; targets: Targets } | null = null;
    if (args.validationData) {
      const [vx, vy] = args.validationData;
      validation = { x: vx, targets: this.checkData('fit: validationData', vx, vy) };
    } else if (args.validationSplit) {
      const split = args.validationSplit;
      if (!(split > 0 && split < 1)) throw new Error(`fit: validationSplit must be in (0, 1), got ${split}`);
      const n = x.shape[0];
      const nTrain = n - Math.floor(n * split);
      if (nTrain === 0 || nTrain === n) throw new Error(`fit: validationSplit ${split} of ${n} samples leaves an empty set`);
      train = { x: x.slice(0, nTrain), targets: sliceTargets(targets, 0, nTrain) };
      validation = { x: x.slice(nTrain, n), targets: sliceTargets(targets, nTrain, n) };
    }
    const n = train.x.shape[0];
    const steps = Math.ceil(n / batchSize);
    if (this.fitting) throw new Error(`fit: ${this.name} is already training (one fit at a time per model)`);
    const callbacks = this.startCallbacks(args, { epochs, steps, metrics: epochLogKeys(this.extraMetrics, validation !== null) });

    this.ensurePlan(batchSize);
    const arena = this.backend.arena;
    const rowLen = product(this.inputShape);
    const width = train.targets.width;
    // The training set and its targets go into WASM memory once; each batch is then gathered there
    // by a kernel. These blocks are fit's own, freed when it ends.
    const { result: buffers, blocks } = arena.collect(() =>
      withHint(`the training set (${n} samples of ${rowLen} values) does not fit beside the model: train on fewer samples`, () => ({
        data: arena.allocF32(n * rowLen, 'the training set'),
        targetData: arena.allocI32(n * width, 'the training targets'),
        indices: arena.allocI32(batchSize, 'batch indices'),
        // With augmentation the batch is gathered into `unshifted`, then moved into the input.
        unshifted: augmenting ? arena.allocF32(batchSize * rowLen, 'unshifted batch') : -1,
        shifts: randomShift > 0 ? arena.allocI32(2 * batchSize, 'shifts') : -1,
        affine: augment ? arena.allocF32(6 * batchSize, 'affine params') : -1,
      })),
    );
    const progress = verbose === 0 ? null : new ProgressBar({ epochs, stepsPerEpoch: steps, stream: progressStream(), tty: verbose === 2 ? false : undefined });
    this.fitting = true;
    try {
      const { data, targetData, indices, unshifted, shifts, affine } = buffers;
      arena.f32.set(train.x.data, data >> 2);
      copyTargets(arena, train.targets.data, targetData);
      const order = new Int32Array(n).map((_, i) => i);
      const shuffleRng = this.rng.fork();
      const shiftRng = this.rng.fork();
      const history: History = { epoch: [], history: { loss: [], accuracy: [], valLoss: [], valAccuracy: [], seconds: [] } };
      let lastYield = performance.now();
      this.stopTraining = false;
      for (const c of callbacks) await c.onTrainBegin?.();

      for (let epoch = 0; epoch < epochs && !this.stopTraining; epoch++) {
        const started = performance.now();
        for (const c of callbacks) await c.onEpochBegin?.(epoch);
        progress?.onEpochBegin(epoch);
        if (args.shuffle ?? true) shuffleRng.shuffle(order);
        let lossSum = 0;
        const sums = new Map<MetricName, number>();
        let seen = 0;
        for (let step = 0; step < steps && !this.stopTraining; step++) {
          for (const c of callbacks) if (c.onBatchBegin) await c.onBatchBegin(step); // no await (a microtask turn) for an absent hook
          const start = step * batchSize;
          const batch = Math.min(batchSize, n - start);
          const batchOrder = order.subarray(start, start + batch);
          // Asked for every step: a callback may have made a larger plan (evaluate at a larger batch).
          const plan = this.ensurePlan(batchSize);
          arena.i32.set(batchOrder, indices >> 2);
          this.backend.kernels.gatherRows(data, indices, augmenting ? unshifted : plan.input, batch, rowLen);
          if (augment) {
            drawAffineParams(shiftRng, augment, arena.f32At(affine, 6 * batch), batch);
            const [h, w, c] = this.inputShape;
            this.backend.kernels.affineImages(unshifted, plan.input, affine, batch, h, w, c);
          } else if (randomShift > 0) {
            const shiftView = arena.i32At(shifts, 2 * batch);
            for (let i = 0; i < 2 * batch; i++) shiftView[i] = shiftRng.int(2 * randomShift + 1) - randomShift;
            const [h, w, c] = this.inputShape;
            this.backend.kernels.translateImages(unshifted, plan.input, shifts, batch, h, w, c);
          }
          this.backend.kernels.gatherRows(targetData, indices, plan.targets, batch, width); // copies the 32-bit words as they are
          const result = this.trainStep(plan, batch, optimizer, epoch, step);
          lossSum += result.loss * batch;
          for (const [metric, score] of result.scores) sums.set(metric, (sums.get(metric) ?? 0) + score);
          seen += batch;
          const batchLogs: BatchLogs = { loss: result.loss, accuracy: result.scores.get('accuracy')! / batch, size: batch };
          progress?.onBatchEnd(epoch, step, batchLogs);
          for (const c of callbacks) if (c.onBatchEnd) await c.onBatchEnd(step, batchLogs);
          // Let signal handlers and timers run now and then, so Ctrl-C can set stopTraining between
          // batches (every batch would cost the MLP ~10% of its step).
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await platform().yieldToEventLoop();
            lastYield = performance.now();
          }
        }
        if (seen === 0) break;
        const logs: EpochLogs = { loss: lossSum / seen, accuracy: sums.get('accuracy')! / seen, seconds: 0 };
        for (const metric of this.extraMetrics) logs[metric] = sums.get(metric)! / seen;
        if (validation) {
          const v = this.evaluateTargets(validation.x, validation.targets, batchSize);
          logs.valLoss = v.loss;
          logs.valAccuracy = v.accuracy;
          for (const metric of this.extraMetrics) logs[valKey(metric)] = v[metric];
        }
        logs.seconds = (performance.now() - started) / 1000;
        history.epoch.push(epoch);
        for (const [key, value] of Object.entries(logs) as [keyof EpochLogs, number][]) (history.history[key] ??= []).push(value);
        progress?.onEpochEnd(epoch, logs);
        for (const c of callbacks) await c.onEpochEnd?.(epoch, logs);
      }
      for (const c of callbacks) await c.onTrainEnd?.();
      return history;
    } finally {
      progress?.end();
      this.fitting = false;
      for (const block of blocks) arena.free(block);
    }
  }

  /** One step of gradient descent on a single batch; returns its loss and metrics. */
  trainOnBatch(x: Tensor, y: Labels): EvaluateResult {
    const { optimizer } = this.ensureCompiled('trainOnBatch');
    const targets = this.checkData('trainOnBatch', x, y);
    const batch = x.shape[0];
    const plan = this.ensurePlan(batch);
    this.backend.arena.f32.set(x.data, plan.input >> 2);
    copyTargets(this.backend.arena, targets.data, plan.targets);
    const result = this.trainStep(plan, batch, optimizer, 0, 0);
    const out: EvaluateResult = { loss: result.loss, accuracy: 0 };
    for (const [metric, score] of result.scores) out[metric] = score / batch;
    return out;
  }

  /** Mean loss and metrics over a dataset, in inference mode (dropout off). */
  evaluate(x: Tensor, y: Labels, args: { batchSize?: number } = {}): EvaluateResult {
    this.ensureCompiled('evaluate');
    checkOptions('evaluate', args, ['batchSize']);
    const targets = this.checkData('evaluate', x, y);
    return this.evaluateTargets(x, targets, positiveInt('evaluate: batchSize', args.batchSize ?? 128));
  }

  private evaluateTargets(x: Tensor, targets: Targets, batchSize: number): EvaluateResult {
    const loss = this.loss!;
    const plan = this.ensurePlan(batchSize);
    const arena = this.backend.arena;
    const cols = product(this.outputShape);
    let lossSum = 0;
    const sums = new Map<MetricName, number>();
    this.forEachBatch(x, plan, (start, batch) => {
      const output = this.forward(plan.input, batch, false);
      copyTargets(arena, targets.data.subarray(start * targets.width, (start + batch) * targets.width), plan.targets);
      lossSum += loss.compute(this.backend, output, plan.targets, plan.dPred, plan.probs, batch, cols, 0);
      for (const [metric, score] of this.score(plan, output, batch)) sums.set(metric, (sums.get(metric) ?? 0) + score);
    });
    const n = x.shape[0];
    const out: EvaluateResult = { loss: lossSum / n, accuracy: 0 };
    for (const [metric, score] of sums) out[metric] = score / n;
    return out;
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

  /** The number of weights (as Keras's model.countParams()). */
  countParams(): number {
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

  /** Every parameter in TF.js's order: the trainable ones layer by layer, then the others (moving statistics). */
  params(): Param[] {
    const all = this.ensureBuilt().layers.flatMap((l) => l.params);
    return [...all.filter((p) => p.trainable !== false), ...all.filter((p) => p.trainable === false)];
  }

  /** The TF.js weight name of a parameter, e.g. `dense_1/kernel`. */
  weightName(param: Param): string {
    const layer = this.layers.find((l) => l.params.includes(param));
    return `${layer?.name}/${param.name}`;
  }

  async save(dir: string): Promise<void> {
    await saveModel(this, dir);
  }

  /**
   * The model as the bytes `save` writes: model.json's text (naming weights.bin) and weights.bin.
   * Load them back with modelFromArtifacts (in Node too), or offer them as downloads in a browser.
   */
  toArtifacts(): ModelArtifacts {
    return modelArtifacts(this);
  }

  // ---- the training step ----

  private trainStep(plan: Plan, batch: number, optimizer: Optimizer, epoch: number, step: number): { loss: number; scores: Map<MetricName, number> } {
    const layers = this.steps;
    const output = this.forward(plan.input, batch, true);
    const lossSum = this.loss!.compute(this.backend, output, plan.targets, plan.dPred, plan.probs, batch, product(this.outputShape), 1 / batch);
    const loss = lossSum / batch;
    if (!Number.isFinite(loss)) {
      throw new Error(
        `fit: the loss became ${loss} at epoch ${epoch + 1}, batch ${step + 1}; training stopped before ` +
          `this batch's update (try a lower learning rate, or check the inputs for NaN)`,
      );
    }
    const scores = this.score(plan, output, batch);
    const needInputGrad = plan.needInputGrad;
    let dy = plan.dPred;
    for (let i = layers.length - 1; i >= 0; i--) {
      dy = layers[i].backward(dy, batch, needInputGrad[i]);
      if (!needInputGrad[i]) break;
    }
    optimizer.step();
    return { loss, scores };
  }

  /** Σ over the batch of each sample's accuracy and of the other metrics compile asked for. */
  private score(plan: Plan, output: number, batch: number): Map<MetricName, number> {
    const loss = this.loss!;
    const cols = product(this.outputShape);
    const arena = this.backend.arena;
    const pred = arena.f32At(output, batch * cols);
    const y = loss.targets === 'classes' ? arena.i32At(plan.targets, batch) : arena.f32At(plan.targets, batch * cols);
    const scores = new Map<MetricName, number>();
    for (const metric of ['accuracy', ...this.extraMetrics] as const) scores.set(metric, scoreBatch(metric, loss, pred, y, batch, cols));
    return scores;
  }

  /** Checks fit's callbacks and hands them the model and fit's settings; returns every hook holder in call order. */
  private startCallbacks(args: FitArgs, params: CallbackParams): CallbackHooks[] {
    const given = args.callbacks === undefined ? [] : Array.isArray(args.callbacks) ? args.callbacks : [args.callbacks];
    given.forEach((c, i) => {
      if (c instanceof Callback) return;
      const what = `fit: callbacks[${i}]`;
      if (c === null || typeof c !== 'object') {
        throw new Error(`${what} must be a callback (new EarlyStopping(...)) or an object of hooks such as { onEpochEnd }, got ${c === null ? 'null' : typeof c}`);
      }
      // A plain object holds hooks only, so a misspelt one is caught; an instance of a class of one's own may hold state too.
      if (Object.getPrototypeOf(c) === Object.prototype) checkOptions(what, c, HOOK_NAMES);
      else if (!HOOK_NAMES.some((hook) => hook in c)) throw new Error(`${what} has none of the hooks ${HOOK_NAMES.join(', ')}`);
      for (const hook of HOOK_NAMES) {
        if (c[hook] !== undefined && typeof c[hook] !== 'function') throw new Error(`${what}.${hook} must be a function, got ${typeof c[hook]}`);
      }
    });
    for (const c of given) {
      if (!(c instanceof Callback)) continue;
      c.setModel(this);
      c.setParams(params);
    }
    const legacy: CallbackHooks = { onEpochEnd: args.onEpochEnd, onBatchEnd: args.onBatchEnd };
    return [legacy, ...given];
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

  /** Reserves the parameter block and its gradients: `size` floats each. */
  private allocateParams(size: number): void {
    this.paramSize = size;
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
            targets: arena.allocI32(capacity * classes, 'the batch targets'),
            dPred: arena.allocF32(capacity * classes, 'dL/doutput'),
            probs: arena.allocF32(capacity * classes, 'probabilities'),
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

  private ensureCompiled(what: string): { optimizer: Optimizer; loss: Loss } {
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

  /** Checks x and y against the model, its loss and each other; returns the targets as the loss takes them. */
  private checkData(what: string, x: Tensor, y: Labels): Targets {
    this.checkInput(what, x);
    const loss = this.loss!;
    const targets = loss.targets === 'classes' ? classTargets(what, y, product(this.outputShape)) : valueTargets(what, y, this.outputShape, loss);
    const count = targets.data.length / targets.width;
    if (count !== x.shape[0]) {
      throw new Error(`${what}: ${x.shape[0]} samples but ${count} ${loss.targets === 'classes' ? 'labels' : 'targets'}`);
    }
    return targets;
  }
}

/** Class indices, from an array or a Tensor [N] (or [N, 1], as Keras takes them). */
function classTargets(what: string, y: Labels, classes: number): Targets {
  let values: ArrayLike<number>;
  if (y instanceof Tensor) {
    if (y.shape.length !== 1 && !(y.shape.length === 2 && y.shape[1] === 1)) {
      const oneHot = y.shape.length === 2 && y.shape[1] === classes ? ' (one-hot rows need categoricalCrossentropy)' : '';
      throw new Error(`${what}: sparseCategoricalCrossentropy takes one class index per sample, got a Tensor of shape [${y.shape.join(', ')}]${oneHot}`);
    }
    values = y.data;
  } else {
    values = arrayLabels(what, y);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new Error(`${what}: label ${v} at index ${i} is not a class index`);
    // Checked here, before Int32Array would wrap 2**32 + 1 to 1.
    if (v < 0 || v >= classes) throw new Error(`${what}: label ${v} at index ${i} is out of range 0-${classes - 1}`);
  }
  return { data: Int32Array.from(values), width: 1 };
}

/**
 * Targets shaped like the output: a Tensor [N, ...outputShape], or for a single output also a
 * Tensor [N] or N numbers. Every value must be finite; the cross-entropies also want them in
 * [0, 1], and categorical rows that sum to 1.
 */
function valueTargets(what: string, y: Labels, outputShape: Shape, loss: Loss): Targets {
  const width = product(outputShape);
  const expected = `[N, ${outputShape.join(', ')}]${width === 1 ? ' (or N values)' : ''}`;
  let data: Float32Array;
  if (y instanceof Tensor) {
    const shape = y.shape;
    const matches = shape.length === outputShape.length + 1 && outputShape.every((d, i) => d === shape[i + 1]);
    if (!matches && !(width === 1 && shape.length === 1)) {
      const sparse = shape.length === 1 && loss.name === 'categoricalCrossentropy' ? ' (class indices need sparseCategoricalCrossentropy)' : '';
      throw new Error(`${what}: ${loss.name} needs targets of the model's output shape ${expected}, got a Tensor of shape [${shape.join(', ')}]${sparse}`);
    }
    data = y.data;
  } else {
    const values = arrayLabels(what, y);
    if (width !== 1) {
      const sparse = loss.name === 'categoricalCrossentropy' ? ' (class indices need sparseCategoricalCrossentropy)' : '';
      throw new Error(`${what}: ${loss.name} needs a Tensor of targets ${expected}, got an array of ${values.length} numbers${sparse}`);
    }
    data = Float32Array.from(values);
  }
  const bounded = loss.name === 'binaryCrossentropy' || loss.name === 'categoricalCrossentropy';
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const where = `at index ${i} (sample ${Math.floor(i / width)})`;
    if (!Number.isFinite(v)) throw new Error(`${what}: target ${v} ${where} is not a finite number`);
    if (bounded && !(v >= 0 && v <= 1)) {
      throw new Error(`${what}: target ${v} ${where} is outside [0, 1]; ${loss.name} takes ${loss.name === 'binaryCrossentropy' ? '0/1 labels or probabilities' : 'one-hot rows or probabilities'}`);
    }
  }
  if (loss.name === 'categoricalCrossentropy') {
    for (let b = 0; b < data.length / width; b++) {
      let sum = 0;
      for (let c = 0; c < width; c++) sum += data[b * width + c];
      if (Math.abs(sum - 1) > 1e-3) {
        throw new Error(`${what}: target row ${b} sums to ${sum}, not 1: [${Array.from(data.subarray(b * width, (b + 1) * width)).join(', ')}]; categoricalCrossentropy takes one-hot rows or probabilities`);
      }
    }
  }
  return { data, width };
}

function arrayLabels(what: string, y: Labels): ArrayLike<number> {
  if (Array.isArray(y) || ArrayBuffer.isView(y)) return y as ArrayLike<number>;
  throw new Error(`${what}: the labels must be an array, a typed array or a Tensor, got ${y === null ? 'null' : typeof y}`);
}

function sliceTargets(targets: Targets, start: number, end: number): Targets {
  return { data: targets.data.subarray(start * targets.width, end * targets.width), width: targets.width };
}

/** Writes targets into the engine's memory at `ptr`, as i32 class indices or f32 values. */
function copyTargets(arena: Backend['arena'], data: Int32Array | Float32Array, ptr: number): void {
  (data instanceof Int32Array ? arena.i32 : arena.f32).set(data, ptr >> 2);
}

/** The log key of a metric on the validation data: mse → valMse. */
function valKey(metric: MetricName): 'valBinaryAccuracy' | 'valMse' | 'valAccuracy' {
  return `val${metric[0].toUpperCase()}${metric.slice(1)}` as 'valBinaryAccuracy' | 'valMse' | 'valAccuracy';
}

/** Where fit's progress goes: stdout, or the console where there is no process (a browser). */
function progressStream(): ProgressStream {
  if (typeof process !== 'undefined' && process.stdout) return process.stdout;
  return { write: (chunk: string) => console.log(chunk.replace(/\n$/, '')) };
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
