// Callbacks for `fit({ callbacks: [...] })`, with Keras's names, options and defaults.
//
// fit calls, in order: setModel and setParams (before any training), onTrainBegin; per epoch
// onEpochBegin, per batch onBatchBegin and onBatchEnd, then onEpochEnd with the epoch's logs;
// onTrainEnd when training ends (all epochs done, or stopTraining set). A hook may return a
// promise; fit waits for it. Monitored names may be Keras's ('val_loss', 'val_accuracy', 'acc')
// or the logs' own keys ('valLoss').
import type { BatchLogs, EpochLogs, Sequential } from './model/sequential.ts';
import { checkOptions } from './options.ts';
import { higherIsBetter, logKey, type LogKey } from './model/metrics-fit.ts';

type MaybePromise = void | Promise<void>;

/** The hooks of a callback; a plain object with some of them is a callback too (as in TF.js). */
export interface CallbackHooks {
  onTrainBegin?(): MaybePromise;
  onTrainEnd?(): MaybePromise;
  onEpochBegin?(epoch: number): MaybePromise;
  onEpochEnd?(epoch: number, logs: EpochLogs): MaybePromise;
  onBatchBegin?(batch: number): MaybePromise;
  onBatchEnd?(batch: number, logs: BatchLogs): MaybePromise;
}

export const HOOK_NAMES = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;

/** What fit tells its callbacks before training, as Keras's `set_params`. */
export interface CallbackParams {
  epochs: number;
  /** Batches per epoch. */
  steps: number;
  /** The keys every epoch's logs will hold. */
  metrics: LogKey[];
}

export abstract class Callback implements CallbackHooks {
  protected model: Sequential | null = null;
  protected params: CallbackParams | null = null;

  onTrainBegin?(): MaybePromise;
  onTrainEnd?(): MaybePromise;
  onEpochBegin?(epoch: number): MaybePromise;
  onEpochEnd?(epoch: number, logs: EpochLogs): MaybePromise;
  onBatchBegin?(batch: number): MaybePromise;
  onBatchEnd?(batch: number, logs: BatchLogs): MaybePromise;

  setModel(model: Sequential): void {
    this.model = model;
  }

  /** Receives fit's settings before training; a callback throws here if it cannot work with them. */
  setParams(params: CallbackParams): void {
    this.params = params;
  }

  protected get trainedModel(): Sequential {
    if (!this.model) throw new Error(`${this.constructor.name}: not attached to a model (pass it to fit({ callbacks }))`);
    return this.model;
  }
}

type Mode = 'auto' | 'min' | 'max';

/** Shared by the callbacks that watch one metric: its key, its direction, and the check that fit reports it. */
abstract class MonitorCallback extends Callback {
  readonly monitor: string;
  protected readonly key: LogKey;
  /** Whether a larger value is better. */
  protected readonly higher: boolean;

  constructor(owner: string, monitor: string | undefined, mode: Mode | undefined) {
    super();
    this.monitor = monitor ?? 'val_loss';
    this.key = logKey(`${owner}: monitor`, this.monitor);
    const m = mode ?? 'auto';
    if (m !== 'auto' && m !== 'min' && m !== 'max') throw new Error(`${owner}: mode must be "auto", "min" or "max", got ${JSON.stringify(m)}`);
    this.higher = m === 'auto' ? higherIsBetter(this.key) : m === 'max';
  }

  protected requireMonitor(owner: string, params: CallbackParams): void {
    if (params.metrics.includes(this.key)) return;
    const hint = this.key.startsWith('val') ? ' (validation metrics need validationData or validationSplit)' : ' (add it to compile\'s metrics)';
    throw new Error(`${owner}: monitor "${this.monitor}" is not among this fit's logs: ${params.metrics.join(', ')}${hint}`);
  }

  protected current(logs: EpochLogs): number | undefined {
    return logs[this.key];
  }
}

export interface EarlyStoppingArgs {
  /** Default 'val_loss'. */
  monitor?: string;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement before training stops. Default 0. */
  patience?: number;
  /** 'min', 'max' or 'auto' (max for accuracies, else min). Default 'auto'. */
  mode?: Mode;
  /** Training also stops unless the monitored value beats this. */
  baseline?: number;
  /** At the end of training, put back the weights of the best epoch. Default false. */
  restoreBestWeights?: boolean;
  /** 1: say when training stops and when weights are restored. Default 0. */
  verbose?: 0 | 1;
}

/** Stops training when the monitored metric has stopped improving (Keras's EarlyStopping). */
export class EarlyStopping extends MonitorCallback {
  readonly minDelta: number;
  readonly patience: number;
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly verbose: 0 | 1;
  /** Epochs since the last improvement. */
  wait = 0;
  /** The epoch (0-based) at which training was stopped, or -1. */
  stoppedEpoch = -1;
  best: number | undefined;
  bestEpoch = -1;
  private bestWeights: ReturnType<Sequential['getWeights']> | null = null;

  constructor(args: EarlyStoppingArgs = {}) {
    checkOptions('EarlyStopping', args, ['monitor', 'minDelta', 'patience', 'mode', 'baseline', 'restoreBestWeights', 'verbose']);
    super('EarlyStopping', args.monitor, args.mode);
    this.minDelta = Math.abs(checkFinite('EarlyStopping', 'minDelta', args.minDelta ?? 0));
    this.patience = checkCount('EarlyStopping', 'patience', args.patience ?? 0);
    this.baseline = args.baseline === undefined ? undefined : checkFinite('EarlyStopping', 'baseline', args.baseline);
    this.restoreBestWeights = checkFlag('EarlyStopping', 'restoreBestWeights', args.restoreBestWeights ?? false);
    this.verbose = checkVerbose('EarlyStopping', args.verbose);
  }

  override setParams(params: CallbackParams): void {
    this.requireMonitor('EarlyStopping', params);
    super.setParams(params);
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = -1;
    this.best = undefined;
    this.bestEpoch = -1;
    this.bestWeights = null;
  }

  override onEpochEnd(epoch: number, logs: EpochLogs): void {
    const current = this.current(logs);
    if (current === undefined) return;
    const model = this.trainedModel;
    // As Keras 3: every epoch counts against patience unless it improves on the best (and the baseline).
    this.wait++;
    if (this.improves(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = model.getWeights();
      if (this.baseline === undefined || this.improves(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch >= 0 && this.verbose) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights) {
      if (this.verbose) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.trainedModel.setWeights(this.bestWeights);
    }
  }

  private improves(value: number, reference: number | undefined): boolean {
    if (reference === undefined) return true;
    return this.higher ? value - this.minDelta > reference : value + this.minDelta < reference;
  }
}

export interface ModelCheckpointArgs {
  /**
   * The folder to save to (`model.save(dir)`). May name log values, Keras-style:
   * 'ckpt/epoch-{epoch:02d}-{val_loss:.3f}' (epoch counted from 1).
   */
  filepath: string;
  /** Default 'val_loss'; used with saveBestOnly. */
  monitor?: string;
  /** Save only when the monitored value improves on the best so far. Default false. */
  saveBestOnly?: boolean;
  mode?: Mode;
  /** 1: say when and where the model is saved. Default 0. */
  verbose?: 0 | 1;
}

/** Saves the model at the end of every epoch, or of every epoch that improves (Keras's ModelCheckpoint). */
export class ModelCheckpoint extends MonitorCallback {
  readonly filepath: string;
  readonly saveBestOnly: boolean;
  readonly verbose: 0 | 1;
  best: number | undefined;
  /** The log values the filepath names, in order of appearance. */
  private readonly fields: { text: string; name: string; key: LogKey | 'epoch'; spec: string }[] = [];

  constructor(args: ModelCheckpointArgs) {
    checkOptions('ModelCheckpoint', args, ['filepath', 'monitor', 'saveBestOnly', 'mode', 'verbose']);
    super('ModelCheckpoint', args?.monitor, args?.mode);
    if (typeof args?.filepath !== 'string' || args.filepath === '') {
      throw new Error(`ModelCheckpoint: filepath must name a folder, such as 'checkpoints/epoch-{epoch}', got ${JSON.stringify(args?.filepath)}`);
    }
    this.filepath = args.filepath;
    this.saveBestOnly = checkFlag('ModelCheckpoint', 'saveBestOnly', args.saveBestOnly ?? false);
    this.verbose = checkVerbose('ModelCheckpoint', args.verbose);
    for (const match of this.filepath.matchAll(/\{([^{}:]*)(?::([^{}]*))?\}/g)) {
      const [text, name, spec = ''] = match;
      const key = name === 'epoch' ? 'epoch' : logKey(`ModelCheckpoint: filepath ${JSON.stringify(this.filepath)}`, name);
      if (!/^(0?\d*d|\.\d+f|)$/.test(spec) || (spec.endsWith('d') && key !== 'epoch')) {
        throw new Error(`ModelCheckpoint: unsupported format "${text}" in filepath; use {epoch}, {epoch:02d} or {val_loss:.4f}`);
      }
      this.fields.push({ text, name, key, spec });
    }
  }

  override setParams(params: CallbackParams): void {
    if (this.saveBestOnly) this.requireMonitor('ModelCheckpoint', params);
    for (const { name, key } of this.fields) {
      if (key !== 'epoch' && !params.metrics.includes(key)) {
        throw new Error(`ModelCheckpoint: filepath names "${name}", which is not among this fit's logs: ${params.metrics.join(', ')}`);
      }
    }
    super.setParams(params);
  }

  override onTrainBegin(): void {
    this.best = undefined;
  }

  override async onEpochEnd(epoch: number, logs: EpochLogs): Promise<void> {
    const dir = this.pathFor(epoch, logs);
    if (this.saveBestOnly) {
      const current = this.current(logs)!;
      const improved = this.best === undefined || (this.higher ? current > this.best : current < this.best);
      if (!improved) {
        if (this.verbose) console.log(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best}`);
        return;
      }
      if (this.verbose) console.log(`Epoch ${epoch + 1}: ${this.monitor} improved from ${this.best ?? (this.higher ? '-inf' : 'inf')} to ${current}, saving model to ${dir}`);
      this.best = current;
    } else if (this.verbose) {
      console.log(`Epoch ${epoch + 1}: saving model to ${dir}`);
    }
    await this.trainedModel.save(dir);
  }

  /** The filepath with its fields filled in for this epoch. */
  pathFor(epoch: number, logs: EpochLogs): string {
    let path = this.filepath;
    for (const { text, key, spec } of this.fields) {
      const value = key === 'epoch' ? epoch + 1 : logs[key]!;
      let formatted = String(value);
      if (spec.endsWith('f')) formatted = value.toFixed(Number(spec.slice(1, -1)));
      else if (spec.endsWith('d')) formatted = String(value).padStart(Number(spec.slice(0, -1) || 0), spec.startsWith('0') ? '0' : ' ');
      path = path.replace(text, formatted);
    }
    return path;
  }
}

export interface ReduceLROnPlateauArgs {
  /** Default 'val_loss'. */
  monitor?: string;
  /** The learning rate is multiplied by this, in (0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement before the learning rate is reduced. Default 10. */
  patience?: number;
  mode?: Mode;
  /** The least change that counts as an improvement. Default 1e-4. */
  minDelta?: number;
  /** After a reduction, epochs that do not count towards patience (as Keras counts them, the last one does). Default 0. */
  cooldown?: number;
  /** The learning rate never goes below this. Default 0. */
  minLr?: number;
  /** 1: say when the learning rate changes. Default 0. */
  verbose?: 0 | 1;
}

/** Reduces the optimizer's learning rate when the monitored metric has stopped improving (Keras's ReduceLROnPlateau). */
export class ReduceLROnPlateau extends MonitorCallback {
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  readonly verbose: 0 | 1;
  wait = 0;
  cooldownCounter = 0;
  best: number | undefined;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    checkOptions('ReduceLROnPlateau', args, ['monitor', 'factor', 'patience', 'mode', 'minDelta', 'cooldown', 'minLr', 'verbose']);
    super('ReduceLROnPlateau', args.monitor, args.mode);
    this.factor = args.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor must be in (0, 1), got ${this.factor}`);
    this.patience = checkCount('ReduceLROnPlateau', 'patience', args.patience ?? 10);
    this.minDelta = checkFinite('ReduceLROnPlateau', 'minDelta', args.minDelta ?? 1e-4);
    this.cooldown = checkCount('ReduceLROnPlateau', 'cooldown', args.cooldown ?? 0);
    this.minLr = args.minLr ?? 0;
    if (!(Number.isFinite(this.minLr) && this.minLr >= 0)) throw new Error(`ReduceLROnPlateau: minLr must be a finite number >= 0, got ${this.minLr}`);
    this.verbose = checkVerbose('ReduceLROnPlateau', args.verbose);
  }

  override setParams(params: CallbackParams): void {
    this.requireMonitor('ReduceLROnPlateau', params);
    super.setParams(params);
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.cooldownCounter = 0;
    this.best = undefined;
  }

  override onEpochEnd(epoch: number, logs: EpochLogs): void {
    const current = this.current(logs);
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    const improved = this.best === undefined || (this.higher ? current > this.best + this.minDelta : current < this.best - this.minDelta);
    if (improved) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter === 0 && ++this.wait >= this.patience) {
      const optimizer = this.trainedModel.optimizer!;
      const old = optimizer.learningRate;
      // As Keras: compared with minLr in float32, the precision the rate is used in.
      if (old > Math.fround(this.minLr)) {
        optimizer.learningRate = Math.max(old * this.factor, this.minLr);
        if (this.verbose) console.log(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${optimizer.learningRate}.`);
        this.cooldownCounter = this.cooldown;
        this.wait = 0;
      }
    }
  }
}

/** Sets the learning rate at the start of every epoch to `schedule(epoch, currentRate)` (Keras's LearningRateScheduler). */
export class LearningRateScheduler extends Callback {
  readonly verbose: 0 | 1;

  /** `schedule(epoch, lr)`: epoch counted from 0, lr the optimizer's current rate; returns the new rate. */
  constructor(readonly schedule: (epoch: number, learningRate: number) => number, args: { verbose?: 0 | 1 } = {}) {
    super();
    if (typeof schedule !== 'function') throw new Error(`LearningRateScheduler: schedule must be a function (epoch, learningRate) => learningRate, got ${typeof schedule}`);
    checkOptions('LearningRateScheduler', args, ['verbose']);
    this.verbose = checkVerbose('LearningRateScheduler', args.verbose);
  }

  override onEpochBegin(epoch: number): void {
    const optimizer = this.trainedModel.optimizer!;
    const old = optimizer.learningRate;
    const lr = this.schedule(epoch, old);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new Error(`LearningRateScheduler: schedule(${epoch}, ${old}) returned ${typeof lr === 'number' ? lr : JSON.stringify(lr)}; it must return a learning rate, a finite number >= 0`);
    }
    optimizer.learningRate = lr;
    if (this.verbose) console.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }
}

function checkFinite(owner: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${owner}: ${name} must be a finite number, got ${value}`);
  return value;
}

function checkCount(owner: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${owner}: ${name} must be a whole number >= 0, got ${value}`);
  return value;
}

function checkFlag(owner: string, name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw new Error(`${owner}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function checkVerbose(owner: string, value: number | undefined): 0 | 1 {
  if (value !== undefined && value !== 0 && value !== 1) throw new Error(`${owner}: verbose must be 0 or 1, got ${JSON.stringify(value)}`);
  return value ?? 0;
}
