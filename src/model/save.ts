// A model as the bytes of TensorFlow.js Layers files (model.json + weights.bin): what `save` writes
// to a folder (through the platform: src/platform/node-files.ts does it crash-safe) and what
// `toArtifacts()` hands a browser. No file access here, so a browser can use it.
// Only type imports from sequential.ts: it imports this module.
import { trainingConfigOf } from './training-config.ts';
import type { Sequential } from './sequential.ts';
import { WEIGHTS_BIN, badWeightMessage, firstBadWeight } from './model-format.ts';
import { platform, type ModelFiles, type SaveOptions, type SaveStep } from '../platform/platform.ts';

export type { ModelFiles, SaveOptions, SaveStep };

const GENERATED_BY = 'wasm-mnist-engine (TensorFlow.js Layers format)';

/** A model's two files in memory: model.json's text and weights.bin's bytes. */
export interface ModelArtifacts {
  /** model.json (TF.js Layers format), naming weights.bin. */
  modelJson: string;
  /** weights.bin: every weight as little-endian float32, in manifest order. */
  weights: Uint8Array;
}

/**
 * The model's files, checked: a weight that is NaN, infinite or absurdly large is an error naming
 * it (`action` starts the message), and nothing is written.
 */
export function modelFiles(model: Sequential, action = 'save'): ModelFiles {
  const weights = model.getWeights();
  const params = model.params();
  params.forEach((param, i) => {
    const bad = firstBadWeight(weights[i].data);
    if (bad >= 0) throw new Error(`${action}: ${badWeightMessage(model.weightName(param), weights[i].data, bad)}${action === 'save' ? '; nothing was written' : ''}`);
  });
  const bytes = new Uint8Array(weights.reduce((n, w) => n + w.data.byteLength, 0));
  let offset = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    offset += w.data.byteLength;
  }
  return { modelJson: (weightsPath: string) => modelJson(model, weightsPath), weights: bytes };
}

/** The bytes `save` writes, as model.json's text and weights.bin's bytes. */
export function modelArtifacts(model: Sequential): ModelArtifacts {
  const files = modelFiles(model, 'toArtifacts');
  return { modelJson: files.modelJson(WEIGHTS_BIN), weights: files.weights };
}

/** Writes `model` to the folder `location` (a path or a file:// URL) as model.json + weights.bin. */
export async function saveModel(model: Sequential, location: string | URL, options: SaveOptions = {}): Promise<void> {
  await platform().saveModel(location, modelFiles(model), options);
}

function modelJson(model: Sequential, weightsPath: string): string {
  const layers = model.layers.map((layer, i) => {
    const config: Record<string, unknown> = { ...layer.getConfig(), name: layer.name, trainable: true };
    if (i === 0) Object.assign(config, { batch_input_shape: [null, ...layer.inputShape], dtype: 'float32' });
    return { class_name: layer.className, config };
  });
  const json = {
    format: 'layers-model',
    generatedBy: GENERATED_BY,
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name: model.name, layers },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [
      {
        paths: [weightsPath],
        weights: model.params().map((p) => ({ name: model.weightName(p), shape: [...p.shape], dtype: 'float32' })),
      },
    ],
    // The compile settings, so that a loaded model evaluates and trains on at once.
    ...(model.optimizer && model.loss ? { trainingConfig: trainingConfigOf(model.optimizer, model.loss, model.metrics) } : {}),
  };
  return JSON.stringify(json, null, 1);
}
