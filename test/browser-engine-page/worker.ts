// The engine in a module Worker, as a browser app runs it (Atomics.wait is not allowed on a page's
// main thread). Tasks come from page.ts; each reply is one JSON-able object, or { error }.
import * as engine from '../../src/browser.ts';
import { timeCnnSteps } from '../../bench/browser-step.ts';

const { init, loadMnist, Sequential, Flatten, Dense, Adam, SGD, modelFromArtifacts } = engine;

interface TrainTask {
  kind: 'train';
  threads: number;
  steps: number;
}

interface BenchTask {
  kind: 'bench';
  threads: number;
  steps: number;
  repeats: number;
  simd?: 'auto' | 'plain' | 'relaxed';
}

async function train(task: TrainTask) {
  const info = await init({ threads: task.threads });
  const t0 = performance.now();
  const data = await loadMnist({ baseUrl: '/', limitTrain: 128 * task.steps, limitTest: 2000 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const runs = [];
  for (const optimizer of ['adam', 'sgd'] as const) {
    const model = new Sequential(
      [new Flatten({ inputShape: [28, 28, 1] }), new Dense({ units: 128, activation: 'relu' }), new Dense({ units: 10, activation: 'softmax' })],
      { seed: 1 },
    );
    model.compile({
      optimizer: optimizer === 'adam' ? new Adam({ learningRate: 1e-3 }) : new SGD({ learningRate: 0.05, momentum: 0.9 }),
      loss: 'sparseCategoricalCrossentropy',
      metrics: ['accuracy'],
    });
    const before = model.evaluate(data.test.images, data.test.labels);
    const losses: number[] = [];
    const splitBefore = model.backend.pool?.splitCalls ?? 0;
    const started = performance.now();
    await model.fit(data.train.images, data.train.labels, { epochs: 1, batchSize: 128, verbose: 0, shuffle: true, onBatchEnd: (_, logs) => void losses.push(logs.loss) });
    const seconds = (performance.now() - started) / 1000;
    const splitCalls = (model.backend.pool?.splitCalls ?? 0) - splitBefore;
    const after = model.evaluate(data.test.images, data.test.labels);
    // The bytes a download would hold load back into the same model.
    const { modelJson, weights } = model.toArtifacts();
    const again = modelFromArtifacts(modelJson, weights);
    const probe = engine.Tensor.from(data.test.images.data.slice(0, 5 * 784), [5, 28, 28, 1]);
    const same = Array.from(again.predict(probe).data).every((v, i) => v === model.predict(probe).data[i]);
    again.dispose();
    runs.push({ optimizer, steps: losses.length, losses, before, after, seconds, threads: model.backend.threads, splitCalls, artifactsRoundTrip: same, weightsBytes: weights.length });
    model.dispose();
  }
  return { info, workerIsolated: self.crossOriginIsolated, trainImages: data.train.images.shape[0], loadSeconds, runs };
}

let benchData: { steps: number; data: Awaited<ReturnType<typeof loadMnist>> } | undefined;

async function bench(task: BenchTask) {
  const info = await init({ threads: task.threads, simd: task.simd ?? 'auto' });
  if (benchData?.steps !== task.steps) benchData = { steps: task.steps, data: await loadMnist({ baseUrl: '/', limitTrain: 128 * task.steps, limitTest: 1 }) };
  const { data } = benchData;
  const timing = await timeCnnSteps(engine, data.train.images, data.train.labels, { steps: task.steps, repeats: task.repeats });
  return { info, timing, userAgent: navigator.userAgent };
}

self.onmessage = async (event: MessageEvent<TrainTask | BenchTask>) => {
  try {
    const task = event.data;
    self.postMessage(task.kind === 'train' ? await train(task) : await bench(task));
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  }
};
