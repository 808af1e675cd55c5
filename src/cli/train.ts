// npm run train -- [--model mlp|cnn|cnn-bn] [--dataset mnist|fashion-mnist] [--epochs N] [--batch-size B]
//                  [--learning-rate X] [--lr-decay F] [--seed S] [--[no-]augment] [--rotation DEG] [--zoom FRAC]
//                  [--shift PX] [--data-dir DIR] [--no-verify] [--out DIR] [--no-report] [--no-optimize]
// Trains on MNIST or Fashion-MNIST, prints the test accuracy and confusion matrix, and saves the
// model, metrics.json and report.html to --out (claimed before the data is loaded: see outdir.ts).
import { join } from 'node:path';
import { Adam, LearningRateScheduler } from '../index.ts';
import { DATASETS, loadMnist, type DatasetName } from '../data/mnist.ts';
import { writeFileAtomic } from '../atomic.ts';
import { ArgsError, parseArgs, formatHelp, type FlagSpecs, type FlagValues } from './args.ts';
import { ProgressBar } from '../progress.ts';
import { PRESETS, type DatasetDefaults, type PresetName } from './presets.ts';
import { evaluateOnTest, formatTestResult, machineInfo } from './evaluation.ts';
import { claimOutDir } from './outdir.ts';
import { plural, writeRunReport } from './report.ts';
import { DATASET_NAMES, ENGINE_FLAGS, VERIFY_FLAG, dataOptions, runCli, useEngineFlags } from './run.ts';
import type { AugmentOptions, EpochLogs } from '../model/sequential.ts';

/** "mlp 20, cnn 15 on MNIST; mlp 20, cnn 15 on Fashion-MNIST": a preset default per dataset, for --help. */
function defaultsHelp(pick: (d: DatasetDefaults) => number): string {
  return DATASET_NAMES.map(
    (dataset) => `${Object.entries(PRESETS).map(([name, p]) => `${name} ${pick(p.datasets[dataset])}`).join(', ')} on ${DATASETS[dataset].label}`,
  ).join('; ');
}

const FLAGS = {
  model: { type: 'enum', values: ['mlp', 'cnn', 'cnn-bn'], default: 'mlp', help: 'which model to train' },
  dataset: { type: 'enum', values: DATASET_NAMES, default: 'mnist', help: 'what to train on; the defaults of --epochs and --random-shift follow it' },
  epochs: { type: 'int', min: 1, help: `passes over the training set (default: ${defaultsHelp((d) => d.epochs)})` },
  batchSize: { type: 'int', min: 1, default: 128, help: 'samples per gradient step' },
  learningRate: { type: 'float', min: 0, exclusiveMin: true, default: 0.001, help: 'Adam learning rate' },
  lrDecay: { type: 'float', min: 0, exclusiveMin: true, max: 1, valueName: 'F', help: `multiply the learning rate by F after every epoch (default: ${defaultsHelp((d) => d.lrDecay ?? 1)})` },
  seed: { type: 'int', min: 0, default: 1, help: 'seed for weights, shuffling and dropout' },
  randomShift: { type: 'int', min: 0, max: 4, help: `shift training images by up to N pixels, a fresh random shift each epoch (default: ${defaultsHelp((d) => d.randomShift)})` },
  augment: {
    type: 'boolean',
    default: true,
    help: 'randomly rotate, zoom and shift training images, a fresh map per image and step, within --rotation, --zoom and --shift (--no-augment: off)',
  },
  rotation: { type: 'float', min: 0, max: 180, valueName: 'DEG', help: `rotate by up to ±DEG degrees (default: ${defaultsHelp((d) => d.augment?.rotation ?? 0)})` },
  zoom: { type: 'float', min: 0, max: 0.9, valueName: 'FRAC', help: `scale by a factor in [1 − FRAC, 1 + FRAC] (default: ${defaultsHelp((d) => d.augment?.zoom ?? 0)})` },
  shift: { type: 'float', min: 0, max: 8, valueName: 'PX', help: `shift by up to ±PX pixels along each axis (default: ${defaultsHelp((d) => d.augment?.shift ?? 0)})` },
  validationSplit: { type: 'float', min: 0, max: 0.9, default: 0.1, help: 'fraction of training images held out for validation' },
  dataDir: {
    type: 'string',
    valueName: 'DIR',
    help: 'folder with the IDX files of --dataset (default: $MNIST_DIR or $FASHION_MNIST_DIR, else data/<dataset>, downloaded if missing)',
  },
  ...VERIFY_FLAG,
  out: { type: 'string', valueName: 'DIR', help: 'where to write the model, metrics.json and report.html (default: runs/<model>-<date-time>)' },
  report: { type: 'boolean', default: true, help: 'write report.html and its pictures (--no-report skips it)' },
  limitTrain: { type: 'int', min: 1, help: 'use only the first N training images (quick runs)' },
  limitTest: { type: 'int', min: 1, help: 'use only the first N test images (quick runs)' },
  ...ENGINE_FLAGS,
} as const satisfies FlagSpecs;

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run train -- [flags]', description: 'Train a classifier on MNIST or Fashion-MNIST.' }));
    return;
  }
  useEngineFlags(flags);
  const presetName = flags.model as PresetName;
  const dataset = flags.dataset as DatasetName;
  const { label, classNames } = DATASETS[dataset];
  const defaults = PRESETS[presetName].datasets[dataset];
  const epochs = flags.epochs ?? defaults.epochs;
  const augment = augmentFor(flags, defaults);
  // One kind of shift at a time: the affine augmentation has its own (--shift).
  const randomShift = augment ? 0 : (flags.randomShift ?? defaults.randomShift);
  const lrDecay = flags.lrDecay ?? defaults.lrDecay ?? 1;
  const out = flags.out ?? join('runs', `${presetName}-${timestamp()}`);
  // Before anything slow: a bad --out or a second training into the same folder fails now, not
  // after the training.
  const claim = await claimOutDir(out);

  const data = await loadMnist({ ...dataOptions(flags, dataset), limitTrain: flags.limitTrain, limitTest: flags.limitTest });
  const { train, test } = data;
  const model = PRESETS[presetName].build(flags.seed, { threads: flags.threads, optimize: flags.optimize });
  model.summary();
  console.log(`\n${label} from ${data.dataDir}: ${train.images.shape[0]} training, ${test.images.shape[0]} test images`);
  const augmentation = augment
    ? `random rotations ±${augment.rotation}°, zooms ±${augment.zoom * 100}%, shifts ±${augment.shift}px`
    : randomShift > 0 ? `random shifts ±${randomShift}px` : 'no random shifts';
  console.log(
    `training ${presetName} for ${plural(epochs, 'epoch')}: Adam(lr ${flags.learningRate}${lrDecay !== 1 ? `, ×${lrDecay} per epoch` : ''}), batch ${flags.batchSize}, ` +
      `${augmentation}, validation split ${flags.validationSplit}, seed ${flags.seed}, ` +
      `${model.backend.flavor} SIMD, ${plural(model.backend.threads, 'thread')}${flags.optimize ? '' : ', not optimised (--no-optimize)'}\n`,
  );

  model.compile({ optimizer: new Adam({ learningRate: flags.learningRate }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const nTrain = train.images.shape[0] - Math.floor(train.images.shape[0] * flags.validationSplit);
  const progress = new ProgressBar({ epochs, stepsPerEpoch: Math.ceil(nTrain / flags.batchSize) });
  const bar = progress.callbacks();
  const epochLogs: EpochLogs[] = [];
  let interrupted = false;
  let batchesDone = 0; // in the current epoch
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    model.stopTraining = true;
    progress.end();
    console.log('stopping after this batch; the model trained so far will be evaluated and saved (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const started = performance.now();
  try {
    await model.fit(train.images, train.labels, {
      epochs,
      batchSize: flags.batchSize,
      verbose: 0, // the CLI draws its own bar, which Ctrl-C also ends
      validationSplit: flags.validationSplit > 0 ? flags.validationSplit : undefined,
      shuffle: true,
      randomShift,
      augment,
      callbacks: lrDecay !== 1 ? [new LearningRateScheduler((epoch) => flags.learningRate * lrDecay ** epoch)] : [],
      onBatchEnd: (batch, logs) => {
        batchesDone = batch + 1;
        bar.onBatchEnd(batch, logs);
      },
      onEpochEnd: (epoch, logs) => {
        epochLogs.push(logs);
        progress.onEpochEnd(epoch, logs);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    progress.end();
  }
  const trainSeconds = (performance.now() - started) / 1000;
  if (interrupted) {
    console.log(`training stopped by Ctrl-C in epoch ${epochLogs.length} of ${epochs}, after batch ${batchesDone} of ${progress.stepsPerEpoch}`);
  }

  const result = evaluateOnTest(model, test.images, test.labels);
  console.log(`\ntrained in ${trainSeconds.toFixed(1)}s\n`);
  console.log(formatTestResult(result, defaults.reference, classNames));

  await model.save(out);
  const metrics = {
    model: presetName,
    dataset,
    classNames,
    dataVerified: flags.verify,
    testAccuracy: result.accuracy,
    testLoss: result.loss,
    referenceAccuracy: defaults.reference?.accuracy,
    reference: defaults.reference,
    epochs: epochLogs.map((l) => ({ loss: l.loss, accuracy: l.accuracy, valLoss: l.valLoss, valAccuracy: l.valAccuracy, seconds: l.seconds })),
    confusionMatrix: result.confusion,
    trainSeconds,
    stoppedEarly: interrupted,
    config: {
      optimizer: 'Adam',
      learningRate: flags.learningRate,
      batchSize: flags.batchSize,
      epochs,
      seed: flags.seed,
      lrDecay,
      randomShift,
      augment: augment ?? null,
      validationSplit: flags.validationSplit,
      optimize: flags.optimize,
    },
    trainImages: train.images.shape[0],
    testImages: test.images.shape[0],
    params: model.countParams(),
    machine: machineInfo(model),
    date: new Date().toISOString(),
  };
  await writeFileAtomic(join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  console.log(`\nsaved the model (model.json, weights.bin) and metrics.json to ${out}`);
  if (flags.report) {
    const reportPath = await writeRunReport({
      model,
      modelName: presetName,
      dataset,
      outDir: out,
      test,
      result,
      epochLogs,
      trainSeconds,
      reference: defaults.reference,
      config: metrics.config,
      trainImages: train.images.shape[0],
    });
    console.log(`report: ${reportPath}`);
  }
  claim.release();
}

/**
 * The affine augmentation ranges: --rotation, --zoom and --shift over the preset's; undefined when
 * off (--no-augment, or none set and the preset has none).
 */
function augmentFor(flags: FlagValues<typeof FLAGS>, defaults: DatasetDefaults): Required<AugmentOptions> | undefined {
  const given = (['rotation', 'zoom', 'shift'] as const).filter((k) => flags[k] !== undefined);
  if (!flags.augment) {
    if (given.length) throw new ArgsError(`--no-augment turns augmentation off; drop it or drop --${given.join(', --')}`);
    return undefined;
  }
  if (!given.length && !defaults.augment) return undefined;
  if (flags.randomShift !== undefined && flags.randomShift > 0) {
    throw new ArgsError(`--random-shift and the affine augmentation both move the images: use --shift ${flags.randomShift} (or --no-augment)`);
  }
  return {
    rotation: flags.rotation ?? defaults.augment?.rotation ?? 0,
    zoom: flags.zoom ?? defaults.augment?.zoom ?? 0,
    shift: flags.shift ?? defaults.augment?.shift ?? 0,
  };
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

runCli(main);
