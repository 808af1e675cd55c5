// npm run evaluate -- --model DIR [--data-dir DIR] [--no-report] [--no-optimize]
// Accuracy, loss and confusion matrix of a saved model on the MNIST test set. The page it writes,
// evaluation.html, sits beside the training's report.html and never replaces it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../model/serialization.ts';
import { loadMnistSplit } from '../data/mnist.ts';
import type { TrainingConfig } from '../report/index.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { evaluateOnTest, formatTestResult } from './evaluation.ts';
import { referenceFor } from './presets.ts';
import { writeRunReport } from './report.ts';
import { ENGINE_FLAGS, runCli, useEngineFlags } from './run.ts';

const FLAGS = {
  model: { type: 'string', required: true, valueName: 'DIR', help: 'folder with model.json and weights.bin' },
  dataDir: { type: 'string', valueName: 'DIR', help: 'folder with the MNIST IDX files (default: $MNIST_DIR, else data/mnist)' },
  limitTest: { type: 'int', min: 1, help: 'use only the first N test images' },
  report: {
    type: 'boolean',
    default: true,
    help: "write evaluation.html and its pictures into the model folder, beside the training's report.html (--no-report skips it)",
  },
  ...ENGINE_FLAGS,
} as const satisfies FlagSpecs;

/** What the training wrote into metrics.json that the evaluation page shows; nothing if it is absent or unreadable. */
async function trainingMetrics(dir: string): Promise<{ model?: string; config?: TrainingConfig; trainImages?: number }> {
  const path = join(dir, 'metrics.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {}; // a model saved elsewhere (e.g. by TensorFlow.js) has none
  }
  try {
    const metrics = JSON.parse(text) as { model?: unknown; config?: unknown; trainImages?: unknown };
    return {
      model: typeof metrics.model === 'string' ? metrics.model : undefined,
      config: metrics.config && typeof metrics.config === 'object' ? (metrics.config as TrainingConfig) : undefined,
      trainImages: typeof metrics.trainImages === 'number' ? metrics.trainImages : undefined,
    };
  } catch (error) {
    console.error(`note: ${path} is not valid JSON (${(error as Error).message}); the page leaves out the training's settings`);
    return {};
  }
}

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run evaluate -- --model DIR [flags]', description: 'Evaluate a saved model on the MNIST test set.' }));
    return;
  }
  useEngineFlags(flags);
  const model = await loadModel(flags.model, { optimize: flags.optimize });
  model.summary();
  const test = await loadMnistSplit('test', { dataDir: flags.dataDir, limit: flags.limitTest });
  const result = evaluateOnTest(model, test.images, test.labels);
  const training = await trainingMetrics(flags.model);
  const modelName = training.model ?? model.name;
  const reference = referenceFor(modelName);
  console.log(`\n${formatTestResult(result, reference)}`);
  if (flags.report) {
    try {
      const path = await writeRunReport({
        model,
        modelName,
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
