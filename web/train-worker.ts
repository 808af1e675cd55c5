// The playground's training worker: the engine runs here, not on the page, because its kernel
// threads synchronise with Atomics.wait, which a page's main thread may not call. It loads MNIST
// once, trains the preset the page asks for on every thread it has, reports live progress, and at
// the end evaluates on the test set and sends the trained model's files back.
import { init, loadMnist, Adam, Tensor, type Sequential } from '../src/browser.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { accuracyFromConfusion, argmaxRows, confusionMatrix } from '../src/metrics.ts';
import { mnistFromFiles, type Mnist } from './idx-files.ts';
import type { DataSource, FromTrainWorker, LivePoint, ToTrainWorker, TrainRequest } from './protocol.ts';

const BATCH_SIZE = 128;
const VALIDATION_SPLIT = 0.1;
const LEARNING_RATE = 1e-3;
/** Live curve points per epoch (at most). */
const POINTS_PER_EPOCH = 20;
/** Least time between two progress messages. */
const PROGRESS_EVERY_MS = 100;

const post = (message: FromTrainWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

let ready: Promise<{ threads: number; simd: string }> | undefined;
let data: { key: string; mnist: Mnist; source: string } | undefined;
let model: Sequential | undefined;
let stopRequested = false;

function sourceKey(source: DataSource): string {
  return source.kind === 'url' ? `url:${source.baseUrl}` : `files:${source.files.map((f) => `${f.name}:${f.bytes.byteLength}`).join(',')}`;
}

async function getData(source: DataSource): Promise<{ mnist: Mnist; source: string }> {
  const key = sourceKey(source);
  if (data?.key === key) return data;
  data = undefined; // free the old set before loading another
  if (source.kind === 'url') {
    post({ type: 'status', text: `loading MNIST from ${source.baseUrl}…` });
    const mnist = await loadMnist({ baseUrl: source.baseUrl });
    data = { key, mnist, source: `${source.baseUrl} (the server's MNIST folder)` };
  } else {
    post({ type: 'status', text: `reading ${source.files.length} dropped IDX files…` });
    const mnist = await mnistFromFiles(source.files);
    data = { key, mnist, source: `the dropped files (${source.files.map((f) => f.name).join(', ')})` };
  }
  return data;
}

/** The first `n` images of a split (a quick run), sharing nothing with the full set. */
function firstImages(images: Tensor, labels: Uint8Array, n: number): { images: Tensor; labels: Uint8Array } {
  if (n >= labels.length) return { images, labels };
  const per = images.data.length / labels.length;
  return { images: Tensor.from(images.data.slice(0, n * per), [n, ...images.shape.slice(1)]), labels: labels.slice(0, n) };
}

async function train(request: TrainRequest): Promise<void> {
  const { simd } = await ready!;
  stopRequested = false;
  const { mnist, source } = await getData(request.data);
  post({ type: 'data', train: mnist.train.labels.length, test: mnist.test.labels.length, source });
  const trainSet = firstImages(mnist.train.images, mnist.train.labels, request.limitTrain ?? Infinity);

  model?.dispose();
  model = undefined;
  const preset = PRESETS[request.model];
  const net = preset.build(request.seed ?? 1);
  model = net;
  net.compile({ optimizer: new Adam({ learningRate: LEARNING_RATE }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

  const n = trainSet.labels.length;
  const steps = Math.ceil((n - Math.floor(n * VALIDATION_SPLIT)) / BATCH_SIZE);
  const every = Math.ceil(steps / POINTS_PER_EPOCH);
  const pointsPerEpoch = Math.ceil(steps / every);
  post({ type: 'start', model: request.model, epochs: request.epochs, steps, pointsPerEpoch, batchSize: BATCH_SIZE, params: net.countParams() });
  post({ type: 'status', text: `training ${request.model} for ${request.epochs} epoch${request.epochs === 1 ? '' : 's'} on ${n} images (${simd} SIMD)…` });

  // Live figures: the mean loss and accuracy over the batches since the last curve point.
  let epoch = 0;
  let sumLoss = 0;
  let sumAcc = 0;
  let batches = 0;
  let points: LivePoint[] = [];
  let epochStart = performance.now();
  let epochImages = 0;
  let lastPost = 0;
  let lastBatch = { loss: NaN, accuracy: NaN };
  let epochsDone = 0;
  const trainStart = performance.now();

  const stopNow = () => stopRequested || (request.stopFlag !== undefined && Atomics.load(request.stopFlag, 0) !== 0);

  await net.fit(trainSet.images, trainSet.labels, {
    epochs: request.epochs,
    batchSize: BATCH_SIZE,
    validationSplit: VALIDATION_SPLIT,
    shuffle: true,
    randomShift: preset.datasets.mnist.randomShift,
    verbose: 0,
    callbacks: {
      onEpochBegin: (e) => {
        epoch = e;
        epochStart = performance.now();
        epochImages = 0;
      },
      onBatchEnd: (step, logs) => {
        sumLoss += logs.loss;
        sumAcc += logs.accuracy;
        batches++;
        epochImages += logs.size;
        lastBatch = { loss: logs.loss, accuracy: logs.accuracy };
        if ((step + 1) % every === 0 || step + 1 === steps) {
          points.push({ loss: sumLoss / batches, accuracy: sumAcc / batches });
          sumLoss = sumAcc = batches = 0;
        }
        const now = performance.now();
        if (now - lastPost >= PROGRESS_EVERY_MS || step + 1 === steps) {
          lastPost = now;
          const imagesPerSecond = epochImages / Math.max(1e-3, (now - epochStart) / 1000);
          post({ type: 'progress', epoch, step: step + 1, steps, imagesPerSecond, loss: lastBatch.loss, accuracy: lastBatch.accuracy, points });
          points = [];
        }
        // Stop takes effect after this batch (the page's Stop, mid-epoch).
        if (stopNow()) net.stopTraining = true;
      },
      onEpochEnd: (e, logs) => {
        epochsDone = e + 1;
        post({ type: 'epoch', epoch: e, loss: logs.loss, accuracy: logs.accuracy, valLoss: logs.valLoss, valAccuracy: logs.valAccuracy, seconds: logs.seconds });
      },
    },
  });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const stopped = stopNow();
  // fit ends a stopped epoch with onEpochEnd too: count only the epochs trained to the end.
  if (stopped) epochsDone = epoch;
  if (points.length) post({ type: 'progress', epoch, step: steps, steps, imagesPerSecond: NaN, loss: lastBatch.loss, accuracy: lastBatch.accuracy, points });

  post({ type: 'status', text: `${stopped ? 'stopped; ' : ''}evaluating on the ${mnist.test.labels.length} test images…` });
  const probabilities = net.predict(mnist.test.images);
  const predicted = argmaxRows(probabilities.data, probabilities.shape[1]);
  const confusion = confusionMatrix(mnist.test.labels, predicted, 10);
  const testAccuracy = accuracyFromConfusion(confusion);
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  // A copy of the weights that owns its buffer, so that it can be handed over without copying again.
  const files = net.toArtifacts();
  const artifacts = { modelJson: files.modelJson, weights: files.weights.slice() };
  post(
    {
      type: 'done',
      model: request.model,
      stopped,
      epochsDone,
      testAccuracy,
      correct,
      testCount: mnist.test.labels.length,
      confusion,
      trainSeconds,
      artifacts,
    },
    [artifacts.weights.buffer],
  );
}

self.onmessage = (event: MessageEvent<ToTrainWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    stopRequested = true;
    if (model) model.stopTraining = true;
    return;
  }
  if (message.type === 'init') {
    const starting = init({ threads: message.threads });
    ready = starting;
    starting.then(
      ({ threads, simd }) => post({ type: 'ready', threads, simd, isolated: self.crossOriginIsolated === true }),
      (error) => post({ type: 'error', message: `the engine did not start: ${(error as Error).message ?? error}` }),
    );
    return;
  }
  if (message.type === 'train') {
    train(message).catch((error) => post({ type: 'error', message: (error as Error).message ?? String(error) }));
  }
};
