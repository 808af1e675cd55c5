// npm run train -- [--model mlp|cnn] [--epochs N] [--batch-size B] [--learning-rate X] [--seed S]
//                  [--data-dir DIR] [--out DIR] [--no-report] [--no-optimize]
// Trains on MNIST, prints the test accuracy and confusion matrix, and saves the model,
// metrics.json and report.html to --out (claimed before the data is loaded: see outdir.ts).
import { join } from 'node:path';
import { Adam } from '../index.ts';
import { loadMnist } from '../data/mnist.ts';
import { writeFileAtomic } from '../atomic.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { ProgressBar } from '../progress.ts';
import { PRESETS, type PresetName } from './presets.ts';
import { evaluateOnTest, formatTestResult, machineInfo } from './evaluation.ts';
import { claimOutDir } from './outdir.ts';
import { plural, writeRunReport } from './report.ts';
import { ENGINE_FLAGS, runCli, useEngineFlags } from './run.ts';
import type { EpochLogs } from '../model/sequential.ts';

const FLAGS = {
  model: { type: 'enum', values: ['mlp', 'cnn'], default: 'mlp', help: 'which model to train' },
  epochs: { type: 'int', min: 1, help: 'passes over the training set (default: mlp 20, cnn 15)' },
  batchSize: { type: 'int', min: 1, default: 128, help: 'samples per gradient step' },
  learningRate: { type: 'float', min: 0, exclusiveMin: true, default: 0.001, help: 'Adam learning rate' },
  seed: { type: 'int', min: 0, default: 1, help: 'seed for weights, shuffling and dropout' },
  randomShift: { type: 'int', min: 0, max: 4, help: 'shift training images by up to N pixels, a fresh random shift each epoch (default: 1)' },
  validationSplit: { type: 'float', min: 0, max: 0.9, default: 0.1, help: 'fraction of training images held out for validation' },
  dataDir: { type: 'string', valueName: 'DIR', help: 'folder with the MNIST IDX files (default: $MNIST_DIR, else data/mnist, downloaded if missing)' },
  out: { type: 'string', valueName: 'DIR', help: 'where to write the model, metrics.json and report.html (default: runs/<model>-<date-time>)' },
  report: { type: 'boolean', default: true, help: 'write report.html and its pictures (--no-report skips it)' },
  limitTrain: { type: 'int', min: 1, help: 'use only the first N training images (quick runs)' },
  limitTest: { type: 'int', min: 1, help: 'use only the first N test images (quick runs)' },
  ...ENGINE_FLAGS,
} as const satisfies FlagSpecs;

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run train -- [flags]', description: 'Train an MNIST classifier.' }));
    return;
  }
  useEngineFlags(flags);
  const presetName = flags.model as PresetName;
  const preset = PRESETS[presetName];
  const epochs = flags.epochs ?? preset.epochs;
  const randomShift = flags.randomShift ?? preset.randomShift;
  const out = flags.out ?? join('runs', `${presetName}-${timestamp()}`);
  // Before anything slow: a bad --out or a second training into the same folder fails now, not
  // after the training.
  const claim = await claimOutDir(out);

  const data = await loadMnist({ dataDir: flags.dataDir, limitTrain: flags.limitTrain, limitTest: flags.limitTest });
  const { train, test } = data;
  const model = preset.build(flags.seed, { threads: flags.threads, optimize: flags.optimize });
  model.summary();
  console.log(`\nMNIST from ${data.dataDir}: ${train.images.shape[0]} training, ${test.images.shape[0]} test images`);
  console.log(
    `training ${presetName} for ${plural(epochs, 'epoch')}: Adam(lr ${flags.learningRate}), batch ${flags.batchSize}, ` +
      `random shifts ±${randomShift}px, validation split ${flags.validationSplit}, seed ${flags.seed}, ` +
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
  console.log(formatTestResult(result, preset.reference));

  await model.save(out);
  const metrics = {
    model: presetName,
    testAccuracy: result.accuracy,
    testLoss: result.loss,
    referenceAccuracy: preset.reference.accuracy,
    reference: preset.reference,
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
      randomShift,
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
      outDir: out,
      test,
      result,
      epochLogs,
      trainSeconds,
      reference: preset.reference,
      config: metrics.config,
      trainImages: train.images.shape[0],
    });
    console.log(`report: ${reportPath}`);
  }
  claim.release();
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

runCli(main);
