// Callbacks in fit: the order of the hooks, Keras's EarlyStopping, ModelCheckpoint,
// ReduceLROnPlateau and LearningRateScheduler worked through by hand on given logs and in real
// fits, the Keras log names they monitor, and the refusals of bad options.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Dense, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, SGD, Sequential, Tensor,
  type CallbackParams, type EpochLogs,
} from '../src/index.ts';

function model(seed = 1): Sequential {
  const m = new Sequential([new Dense({ units: 4, activation: 'relu', inputShape: [2] }), new Dense({ units: 2, activation: 'softmax' })], { seed });
  m.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

const x = Tensor.from([0, 1, 1, 0, 0.5, 0.5, -1, 0, 0, -1, 1, 1, -0.5, 0.2], [7, 2]);
const y = [0, 1, 1, 0, 0, 1, 0];

const PARAMS: CallbackParams = { epochs: 10, steps: 1, metrics: ['loss', 'accuracy', 'valLoss', 'valAccuracy'] };

/** Epoch logs with the given validation loss (and a fixed rest). */
const logs = (valLoss: number, valAccuracy = 0.5): EpochLogs => ({ loss: 1, accuracy: 0.5, valLoss, valAccuracy, seconds: 0 });

/** Feeds `values` of val_loss to a callback as fit would; returns the epoch at which it stopped training, or -1. */
function drive(cb: EarlyStopping | ReduceLROnPlateau, m: Sequential, values: number[], each?: (epoch: number) => void): number {
  cb.setModel(m);
  cb.setParams(PARAMS);
  cb.onTrainBegin();
  m.stopTraining = false;
  for (let epoch = 0; epoch < values.length; epoch++) {
    each?.(epoch);
    cb.onEpochEnd(epoch, logs(values[epoch]));
    if (m.stopTraining) return epoch;
  }
  return -1;
}

describe('fit calls the hooks in order', () => {
  it('onTrainBegin, per epoch onEpochBegin, per batch onBatchBegin/onBatchEnd, onEpochEnd; then onTrainEnd. Legacy onEpochEnd first', async () => {
    const calls: string[] = [];
    await model().fit(x, y, {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
      onEpochEnd: (e) => void calls.push(`legacy epoch ${e}`),
      callbacks: [
        {
          onTrainBegin: () => void calls.push('train begin'),
          onEpochBegin: (e) => void calls.push(`epoch ${e} begin`),
          onBatchBegin: (b) => void calls.push(`batch ${b} begin`),
          onBatchEnd: (b, l) => void calls.push(`batch ${b} end (${l.size})`),
          onEpochEnd: async (e, l) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            calls.push(`epoch ${e} end, loss ${l.loss > 0}`);
          },
          onTrainEnd: () => void calls.push('train end'),
        },
      ],
    });
    expect(calls).toEqual([
      'train begin',
      'epoch 0 begin', 'batch 0 begin', 'batch 0 end (4)', 'batch 1 begin', 'batch 1 end (3)', 'legacy epoch 0', 'epoch 0 end, loss true',
      'epoch 1 begin', 'batch 0 begin', 'batch 0 end (4)', 'batch 1 begin', 'batch 1 end (3)', 'legacy epoch 1', 'epoch 1 end, loss true',
      'train end',
    ]);
  });

  it('a single hooks object is taken too; misspelt hooks and non-callbacks are refused by name', async () => {
    let epochs = 0;
    await model().fit(x, y, { epochs: 2, verbose: 0, callbacks: { onEpochEnd: () => void epochs++ } });
    expect(epochs).toBe(2);
    await expect(model().fit(x, y, { verbose: 0, callbacks: [{ onEpochEnds: () => {} } as never] })).rejects.toThrow(
      /fit: callbacks\[0\]: unknown option "onEpochEnds" \(did you mean "onEpochEnd"\?\)/,
    );
    // An object of one's own class may keep state beside its hooks.
    class Counter {
      epochs = 0;
      onEpochEnd() {
        this.epochs++;
      }
    }
    const counter = new Counter();
    await model().fit(x, y, { epochs: 3, verbose: 0, callbacks: [counter] });
    expect(counter.epochs).toBe(3);
    await expect(model().fit(x, y, { verbose: 0, callbacks: [new Map() as never] })).rejects.toThrow(/fit: callbacks\[0\] has none of the hooks onTrainBegin, onTrainEnd, onEpochBegin, onEpochEnd, onBatchBegin, onBatchEnd/);
    await expect(model().fit(x, y, { verbose: 0, callbacks: [null as never] })).rejects.toThrow(/fit: callbacks\[0\] must be a callback \(new EarlyStopping\(\.\.\.\)\) or an object of hooks such as \{ onEpochEnd \}, got null/);
    await expect(model().fit(x, y, { verbose: 0, callbacks: [{ onEpochEnd: 3 } as never] })).rejects.toThrow(/fit: callbacks\[0\]\.onEpochEnd must be a function, got number/);
  });
});

describe('EarlyStopping', () => {
  it('stops once patience epochs in a row fail to improve on the best (Keras 3)', () => {
    const m = model();
    expect(drive(new EarlyStopping({ patience: 2 }), m, [1, 0.9, 0.95, 0.92, 0.91, 0.5])).toBe(3);
    // patience 0 (the default) stops at the first epoch without improvement, never at the first epoch.
    expect(drive(new EarlyStopping(), m, [1, 1.1])).toBe(1);
    expect(drive(new EarlyStopping(), m, [1, 0.9, 0.8, 0.7])).toBe(-1);
    // minDelta: 0.96 is not 0.05 better than 1.
    expect(drive(new EarlyStopping({ minDelta: 0.05, patience: 1 }), m, [1, 0.96, 0.9])).toBe(1);
    // Epochs that improve on the best but not on the baseline still count against patience.
    expect(drive(new EarlyStopping({ patience: 2 }), m, [1, 0.9, 0.95])).toBe(-1);
    expect(drive(new EarlyStopping({ baseline: 0.5, patience: 2 }), m, [1, 0.9, 0.95])).toBe(2);
  });

  it("'auto' mode maximises accuracies; mode 'max' and 'min' force the direction", () => {
    const m = model();
    const stop = (cb: EarlyStopping, accuracies: number[]) => {
      cb.setModel(m);
      cb.setParams(PARAMS);
      cb.onTrainBegin();
      m.stopTraining = false;
      for (let e = 0; e < accuracies.length; e++) {
        cb.onEpochEnd(e, logs(1, accuracies[e]));
        if (m.stopTraining) return e;
      }
      return -1;
    };
    expect(stop(new EarlyStopping({ monitor: 'val_accuracy' }), [0.5, 0.6, 0.7])).toBe(-1);
    expect(stop(new EarlyStopping({ monitor: 'val_acc' }), [0.5, 0.4])).toBe(1);
    expect(stop(new EarlyStopping({ monitor: 'valAccuracy', mode: 'min' }), [0.5, 0.6])).toBe(1);
  });

  it('restoreBestWeights puts back the weights of the best epoch when training ends', () => {
    const m = model();
    const cb = new EarlyStopping({ patience: 1, restoreBestWeights: true });
    const stamp = (v: number) => m.setWeights(m.getWeights().map((w) => new Tensor(new Float32Array(w.size).fill(v), w.shape)));
    expect(drive(cb, m, [1, 0.5, 0.7, 0.6], (epoch) => stamp(epoch))).toBe(2);
    cb.onTrainEnd();
    expect(cb.bestEpoch).toBe(1);
    expect(m.getWeights().every((w) => w.data.every((v) => v === 1))).toBe(true);
  });

  it('in fit: a loss that stops improving ends training, and the history says where', async () => {
    const m = model();
    m.optimizer!.learningRate = 0; // the same loss every epoch
    const history = await m.fit(x, y, { epochs: 10, batchSize: 7, shuffle: false, verbose: 0, callbacks: [new EarlyStopping({ monitor: 'loss', patience: 2 })] });
    expect(history.epoch).toEqual([0, 1, 2]);
  });

  it('a monitor fit does not log is refused before training, saying how to get it', async () => {
    const m = model();
    const before = m.getWeights();
    const onEpochEnd = vi.fn();
    await expect(m.fit(x, y, { epochs: 2, verbose: 0, onEpochEnd, callbacks: [new EarlyStopping()] })).rejects.toThrow(
      /EarlyStopping: monitor "val_loss" is not among this fit's logs: loss, accuracy \(validation metrics need validationData or validationSplit\)/,
    );
    await expect(m.fit(x, y, { verbose: 0, callbacks: [new EarlyStopping({ monitor: 'mse' })] })).rejects.toThrow(/monitor "mse" is not among this fit's logs: loss, accuracy \(add it to compile's metrics\)/);
    expect(onEpochEnd).not.toHaveBeenCalled();
    expect(m.getWeights()).toEqual(before);
  });

  it('bad options are refused, naming them', () => {
    expect(() => new EarlyStopping({ patients: 3 } as never)).toThrow(/EarlyStopping: unknown option "patients" \(did you mean "patience"\?\)/);
    expect(() => new EarlyStopping({ monitor: 'val_los' })).toThrow(/EarlyStopping: monitor: unknown metric "val_los"; the names are loss, val_loss, valLoss, accuracy, acc/);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/EarlyStopping: patience must be a whole number >= 0, got -1/);
    expect(() => new EarlyStopping({ mode: 'best' as never })).toThrow(/EarlyStopping: mode must be "auto", "min" or "max", got "best"/);
    expect(() => new EarlyStopping({ restoreBestWeights: 1 as never })).toThrow(/EarlyStopping: restoreBestWeights must be true or false, got 1/);
    expect(() => new EarlyStopping({ minDelta: NaN })).toThrow(/EarlyStopping: minDelta must be a finite number, got NaN/);
  });
});

describe('ModelCheckpoint', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('saves the model at every epoch end to a path filled with the epoch and log values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-checkpoint-'));
    dirs.push(dir);
    const m = model();
    const history = await m.fit(x, y, {
      epochs: 2,
      verbose: 0,
      validationSplit: 0.3,
      callbacks: [new ModelCheckpoint({ filepath: join(dir, 'epoch-{epoch:02d}-{val_loss:.3f}') })],
    });
    const names = history.history.valLoss.map((v, i) => `epoch-0${i + 1}-${v.toFixed(3)}`);
    expect(readdirSync(dir).sort()).toEqual(names);
    for (const name of names) expect(existsSync(join(dir, name, 'model.json'))).toBe(true);
  });

  it('saveBestOnly saves only the epochs that improve on the best so far', async () => {
    const m = model();
    const save = vi.spyOn(m, 'save').mockResolvedValue();
    const cb = new ModelCheckpoint({ filepath: 'ckpt/{epoch}', saveBestOnly: true });
    cb.setModel(m);
    cb.setParams(PARAMS);
    cb.onTrainBegin();
    for (const [epoch, v] of [1, 0.8, 0.9, 0.8, 0.7].entries()) await cb.onEpochEnd(epoch, logs(v));
    expect(save.mock.calls).toEqual([['ckpt/1'], ['ckpt/2'], ['ckpt/5']]);
  });

  it('bad options are refused, naming them', () => {
    expect(() => new ModelCheckpoint({} as never)).toThrow(/ModelCheckpoint: filepath must name a folder, such as 'checkpoints\/epoch-\{epoch\}', got undefined/);
    expect(() => new ModelCheckpoint({ filepath: 'a/{val_los}' })).toThrow(/ModelCheckpoint: filepath "a\/\{val_los\}": unknown metric "val_los"/);
    expect(() => new ModelCheckpoint({ filepath: 'a/{epoch:x}' })).toThrow(/ModelCheckpoint: unsupported format "\{epoch:x\}" in filepath; use \{epoch\}, \{epoch:02d\} or \{val_loss:.4f\}/);
    expect(() => new ModelCheckpoint({ filepath: 'a', saveBest: true } as never)).toThrow(/ModelCheckpoint: unknown option "saveBest"/);
    const cb = new ModelCheckpoint({ filepath: 'a/{val_loss}' });
    expect(() => cb.setParams({ ...PARAMS, metrics: ['loss', 'accuracy'] })).toThrow(/ModelCheckpoint: filepath names "val_loss", which is not among this fit's logs: loss, accuracy/);
  });
});

describe('ReduceLROnPlateau', () => {
  it('multiplies the learning rate by factor after patience epochs without a minDelta improvement, then cools down', () => {
    const m = model();
    const rates: number[] = [];
    const cb = new ReduceLROnPlateau({ factor: 0.5, patience: 2, cooldown: 2, minLr: 0.02 });
    // Epochs: 0 best; 1, 2 no better → 0.05; 3 in cooldown; 4 ends it and counts (as in Keras), 5 → 0.025;
    // 6 cooldown; 7, 8 → 0.02 (minLr), where it stays.
    drive(cb, m, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], () => rates.push(m.optimizer!.learningRate));
    rates.push(m.optimizer!.learningRate);
    expect(rates).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02]);
    // An improvement of less than minDelta (1e-4) does not count.
    m.optimizer!.learningRate = 0.1;
    drive(new ReduceLROnPlateau({ patience: 2 }), m, [1, 0.99995, 0.99992]);
    expect(m.optimizer!.learningRate).toBeCloseTo(0.01, 12);
  });

  it('bad options are refused, naming them', () => {
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(/ReduceLROnPlateau: factor must be in \(0, 1\), got 1/);
    expect(() => new ReduceLROnPlateau({ minLR: 0.1 } as never)).toThrow(/ReduceLROnPlateau: unknown option "minLR" \(did you mean "minLr"\?\)/);
    expect(() => new ReduceLROnPlateau({ minLr: -1 })).toThrow(/ReduceLROnPlateau: minLr must be a finite number >= 0, got -1/);
    expect(() => new ReduceLROnPlateau({ cooldown: 0.5 })).toThrow(/ReduceLROnPlateau: cooldown must be a whole number >= 0, got 0.5/);
  });
});

describe('LearningRateScheduler', () => {
  it('sets the rate from schedule(epoch, lr) at the start of every epoch', async () => {
    const m = model();
    const seen: number[] = [];
    await m.fit(x, y, {
      epochs: 4,
      verbose: 0,
      callbacks: [new LearningRateScheduler((epoch, lr) => (epoch < 2 ? lr : lr / 2)), { onEpochEnd: () => void seen.push(m.optimizer!.learningRate) }],
    });
    expect(seen).toEqual([0.1, 0.1, 0.05, 0.025]);
  });

  it('a schedule that returns no learning rate stops fit, naming the epoch and the value', async () => {
    const m = model();
    await expect(m.fit(x, y, { epochs: 3, verbose: 0, callbacks: [new LearningRateScheduler((epoch) => (epoch === 1 ? NaN : 0.1))] })).rejects.toThrow(
      /LearningRateScheduler: schedule\(1, 0.1\) returned NaN; it must return a learning rate, a finite number >= 0/,
    );
    expect(() => new LearningRateScheduler(0.1 as never)).toThrow(/LearningRateScheduler: schedule must be a function \(epoch, learningRate\) => learningRate, got number/);
    expect(() => new LearningRateScheduler(() => 1, { verbos: 1 } as never)).toThrow(/LearningRateScheduler: unknown option "verbos" \(did you mean "verbose"\?\)/);
  });
});
