// npm run evaluate -- --model DIR [--dataset mnist|fashion-mnist] [--data-dir DIR] [--no-verify]
//                     [--no-report] [--no-optimize]
// Accuracy, loss and confusion matrix of a saved model on the test set of the dataset it was
// trained on (as its metrics.json says; MNIST when it says none). The page it writes,
// evaluation.html, sits beside the training's report.html and never replaces it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../model/serialization.ts';
import type { Sequential } from '../model/sequential.ts';
import { DATASETS, loadMnistSplit, type DatasetName } from '../data/mnist.ts';
import type { TrainingConfig } from '../report/index.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { evaluateOnTest, formatTestResult } from './evaluation.ts';
import { referenceFor } from './presets.ts';
import { writeRunReport } from './report.ts';
import { DATASET_NAMES, ENGINE_FLAGS, VERIFY_FLAG, dataOptions, runCli, useEngineFlags } from './run.ts';

const FLAGS = {
  model: { type: 'string', required: true, valueName: 'DIR', help: 'folder with model.json and weights.bin' },
  dataset: {
    type: 'enum',
    values: DATASET_NAMES,
    help: "the test set to use (default: the dataset in the model folder's metrics.json, else mnist)",
  },
  dataDir: {
    type: 'string',
    valueName: 'DIR',
    help: 'folder with the IDX files of the dataset (default: $MNIST_DIR or $FASHION_MNIST_DIR, else data/<dataset>)',
  },
  ...VERIFY_FLAG,
  limitTest: { type: 'int', min: 1, help: 'use only the first N test images' },
  report: {
    type: 'boolean',
    default: true,
    help: "write evaluation.html and its pictures into the model folder, beside the training's report.html (--no-report skips it)",
  },
  ...ENGINE_FLAGS,
} as const satisfies FlagSpecs;

interface TrainingMetrics {
  model?: string;
  /** Absent when metrics.json records none (runs from before --dataset were all MNIST). */
  dataset?: DatasetName;
  config?: TrainingConfig;
  trainImages?: number;
}

/**
 * What the training wrote into metrics.json that the evaluation uses; nothing if it is absent or
 * unreadable. A dataset this engine does not know is an error unless --dataset decides anyway.
 */
async function trainingMetrics(dir: string, datasetFlag: DatasetName | undefined): Promise<TrainingMetrics> {
  const path = join(dir, 'metrics.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {}; // a model saved elsewhere (e.g. by TensorFlow.js) has none
  }
  let metrics: { model?: unknown; dataset?: unknown; config?: unknown; trainImages?: unknown };
  try {
    metrics = JSON.parse(text);
    if (!metrics || typeof metrics !== 'object') throw new Error('not a JSON object');
  } catch (error) {
    const fallback = datasetFlag === undefined ? ' and the model is evaluated on MNIST (pass --dataset for another)' : '';
    console.error(`note: ${path} is not valid JSON (${(error as Error).message}); the page leaves out the training's settings${fallback}`);
    return {};
  }
  const known = (DATASET_NAMES as unknown[]).includes(metrics.dataset);
  if (metrics.dataset !== undefined && !known && datasetFlag === undefined) {
    throw new Error(
      `${path} says the model was trained on dataset ${JSON.stringify(metrics.dataset)}, which is not one of ` +
        `${DATASET_NAMES.join(', ')}: pass --dataset to choose the test set`,
    );
  }
  return {
    model: typeof metrics.model === 'string' ? metrics.model : undefined,
    dataset: known ? (metrics.dataset as DatasetName) : undefined,
    config: metrics.config && typeof metrics.config === 'object' ? (metrics.config as TrainingConfig) : undefined,
    trainImages: typeof metrics.trainImages === 'number' ? metrics.trainImages : undefined,
  };
}

/** A model that cannot take the dataset's images or give one output per class fails before the data is read. */
function checkFits(model: Sequential, dir: string, dataset: DatasetName): void {
  const { label, imageSize, classNames } = DATASETS[dataset];
  const input = [...imageSize, 1];
  if (model.inputShape.join() !== input.join()) {
    throw new Error(`${dir}: the model takes [${model.inputShape.join(', ')}] inputs, not ${label}'s [${input.join(', ')}]`);
  }
  if (model.outputShape.join() !== String(classNames.length)) {
    throw new Error(`${dir}: the model gives [${model.outputShape.join(', ')}] outputs, not one per ${label} class (${classNames.length})`);
  }
}

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run evaluate -- --model DIR [flags]', description: 'Evaluate a saved model on the MNIST or Fashion-MNIST test set.' }));
    return;
  }
  useEngineFlags(flags);
  const model = await loadModel(flags.model, { optimize: flags.optimize });
  model.summary();
  const training = await trainingMetrics(flags.model, flags.dataset);
  const dataset = flags.dataset ?? training.dataset ?? 'mnist';
  checkFits(model, flags.model, dataset);
  const test = await loadMnistSplit('test', { ...dataOptions(flags, dataset), limit: flags.limitTest });
  console.log(`\n${DATASETS[dataset].label} test set from ${test.dataDir}: ${test.images.shape[0]} images`);
  const result = evaluateOnTest(model, test.images, test.labels);
  const modelName = training.model ?? model.name;
  const reference = referenceFor(modelName, dataset);
  console.log(`\n${formatTestResult(result, reference, DATASETS[dataset].classNames)}`);
  if (flags.report) {
    try {
      const path = await writeRunReport({
        model,
        modelName,
        dataset,
        outDir: flags.model,
        test,
        result,
        reference,
        config: training.config,
        trainImages: training.trainImages,
        evaluation: true,
      });
      console.log(`\nevaluation report: ${path}`);
    } catch (error) {
      // The results above are the evaluation; a folder we may not write in (read-only, another
      // user's) only costs the page.
      console.error(`note: the evaluation report could not be written into ${flags.model}: ${(error as Error).message}`);
    }
  }
}

runCli(main);
