// npm run evaluate -- --model DIR [--data-dir DIR] [--no-report]
// Accuracy, loss and confusion matrix of a saved model on the MNIST test set.
import { loadModel } from '../model/serialization.ts';
import { loadMnistSplit } from '../data/mnist.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { evaluateOnTest, formatTestResult } from './evaluation.ts';
import { writeRunReport } from './report.ts';
import { ENGINE_FLAGS, runCli, useEngineFlags } from './run.ts';

const FLAGS = {
  model: { type: 'string', required: true, valueName: 'DIR', help: 'folder with model.json and weights.bin' },
  dataDir: { type: 'string', valueName: 'DIR', help: 'folder with the MNIST IDX files (default: $MNIST_DIR, else data/mnist)' },
  limitTest: { type: 'int', min: 1, help: 'use only the first N test images' },
  report: { type: 'boolean', default: true, help: 'write report.html and its pictures into the model folder (--no-report skips it)' },
  ...ENGINE_FLAGS,
} as const satisfies FlagSpecs;

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run evaluate -- --model DIR [flags]', description: 'Evaluate a saved model on the MNIST test set.' }));
    return;
  }
  useEngineFlags(flags);
  const model = await loadModel(flags.model);
  model.summary();
  const test = await loadMnistSplit('test', { dataDir: flags.dataDir, limit: flags.limitTest });
  const result = evaluateOnTest(model, test.images, test.labels);
  console.log(`\n${formatTestResult(result)}`);
  if (flags.report) {
    const path = await writeRunReport({ model, modelName: model.name, outDir: flags.model, test, result });
    console.log(`\nreport: ${path}`);
  }
}

runCli(main);
