// The playground's reading worker: holds the model the page shows (trained here or loaded from
// files) on one thread of its own, and gives the ten probabilities of each drawn digit, so
// drawing stays live while another model trains in train-worker.ts.
import { init, modelFromArtifacts, Tensor, type Sequential } from '../src/browser.ts';
import type { FromPredictWorker, ToPredictWorker } from './protocol.ts';

const post = (message: FromPredictWorker) => (self as unknown as Worker).postMessage(message);

let ready: Promise<unknown> | undefined;
let model: Sequential | undefined;

async function load(modelJson: string, weights: Uint8Array, origin: string): Promise<void> {
  await ready;
  const next = await modelFromArtifacts(modelJson, weights);
  const [h, w, c] = next.inputShape;
  const outputs = next.outputShape[next.outputShape.length - 1];
  if (h !== 28 || w !== 28 || c !== 1 || outputs !== 10) {
    next.dispose();
    throw new Error(`this model takes [${next.inputShape.join(', ')}] inputs and gives ${outputs} outputs, not MNIST's [28, 28, 1] and 10 digits`);
  }
  model?.dispose();
  model = next;
  // The engine's own files for the model (what the page's download links offer): one weights.bin
  // even when the model came as TF.js shards.
  const files = next.toArtifacts();
  post({ type: 'loaded', origin, name: next.name, params: next.countParams(), layers: next.layers.map((l) => l.className), artifacts: files });
}

self.onmessage = (event: MessageEvent<ToPredictWorker>) => {
  const message = event.data;
  if (message.type === 'init') {
    const starting = init({ threads: 1 });
    ready = starting;
    starting.then(
      () => post({ type: 'ready' }),
      (error) => post({ type: 'error', during: 'init', message: (error as Error).message ?? String(error) }),
    );
  } else if (message.type === 'load') {
    load(message.artifacts.modelJson, message.artifacts.weights, message.origin).catch((error) =>
      post({ type: 'error', during: 'load', message: (error as Error).message ?? String(error) }),
    );
  } else if (message.type === 'predict') {
    try {
      if (!model) throw new Error('no model');
      const probabilities = model.predict(Tensor.from(message.input, [1, 28, 28, 1]));
      post({ type: 'prediction', id: message.id, probabilities: Array.from(probabilities.data.subarray(0, 10)) });
    } catch (error) {
      post({ type: 'error', during: 'predict', id: message.id, message: (error as Error).message ?? String(error) });
    }
  }
};
