// Gathers what a run knows (model, history, test predictions) into the report's input.
import { writeReport, plural, type TrainingConfig } from '../report/index.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { Dropout } from '../layers/dropout.ts';
import type { Sequential, EpochLogs } from '../model/sequential.ts';
import { DATASETS, type DatasetName, type MnistSplit } from '../data/mnist.ts';
import { machineInfo, type TestResult } from './evaluation.ts';
import type { Reference } from './presets.ts';

export { plural };

/** The files of an evaluation's page, beside (never over) the training's report.html. */
export const EVALUATION_FILES = { htmlFile: 'evaluation.html', pngPrefix: 'evaluation-' } as const;

export interface RunReport {
  model: Sequential;
  modelName: string;
  /** What the model was tested on (default mnist): the page's title and class names. */
  dataset?: DatasetName;
  outDir: string;
  test: MnistSplit;
  result: TestResult;
  /** Per-epoch logs of training; absent when only evaluating. */
  epochLogs?: EpochLogs[];
  trainSeconds?: number;
  reference?: Reference;
  /** The training's hyperparameters, as in metrics.json. */
  config?: TrainingConfig;
  trainImages?: number;
  /** Write evaluation.html and evaluation-*.png instead of report.html and its pictures. */
  evaluation?: boolean;
}

export async function writeRunReport(run: RunReport): Promise<string> {
  const { model, test, result, epochLogs } = run;
  const { label, classNames } = DATASETS[run.dataset ?? 'mnist'];
  const [count, height, width] = test.images.shape;
  const firstConv = model.layers.find((l): l is Conv2D => l instanceof Conv2D);
  const kernel = firstConv?.params.find((p) => p.name === 'kernel');
  const history = epochLogs?.length
    ? {
        loss: epochLogs.map((l) => l.loss),
        accuracy: epochLogs.map((l) => l.accuracy),
        valLoss: epochLogs.every((l) => l.valLoss !== undefined) ? epochLogs.map((l) => l.valLoss!) : undefined,
        valAccuracy: epochLogs.every((l) => l.valAccuracy !== undefined) ? epochLogs.map((l) => l.valAccuracy!) : undefined,
        seconds: epochLogs.map((l) => l.seconds),
      }
    : undefined;
  return writeReport({
    outDir: run.outDir,
    title: `${label} ${run.modelName}${run.evaluation ? ' evaluation' : ''} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
    modelName: run.modelName,
    dataset: label,
    classNames,
    summary: model.summary(null),
    history,
    testAccuracy: result.accuracy,
    testLoss: result.loss,
    reference: run.reference,
    config: run.config,
    trainImages: run.trainImages,
    hasDropout: model.layers.some((l) => l instanceof Dropout),
    confusionMatrix: result.confusion,
    trainSeconds: run.trainSeconds,
    machine: machineInfo(model),
    test: { images: test.images.data, labels: test.labels, probabilities: result.probabilities, count, height, width, classes: result.confusion.length },
    firstConvKernel:
      firstConv && kernel
        ? {
            data: model.backend.arena.f32At(kernel.value, kernel.size).slice(),
            kernelH: firstConv.kernelSize[0],
            kernelW: firstConv.kernelSize[1],
            inChannels: firstConv.inputShape[2],
            filters: firstConv.filters,
          }
        : undefined,
    ...(run.evaluation ? EVALUATION_FILES : {}),
  });
}
