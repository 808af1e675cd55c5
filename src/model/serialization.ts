// Model files in the TensorFlow.js Layers format, so that `tf.loadLayersModel` reads what `save`
// writes and `loadModel` reads what TF.js saves:
//   model.json   { format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { layers } },
//                  weightsManifest: [{ paths: ['weights.bin'], weights: [{ name, shape, dtype }] }] }
//   weights.bin  every weight as little-endian float32, in manifest order (Keras order).
// Saving is in save.ts (which sequential.ts imports); loading builds a Sequential, so it lives here.
import { join } from 'node:path';
import { Sequential, type SequentialOptions } from './sequential.ts';
import { Layer } from '../layers/layer.ts';
import { Dense } from '../layers/dense.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { MaxPooling2D } from '../layers/pooling.ts';
import { Flatten } from '../layers/flatten.ts';
import { Dropout } from '../layers/dropout.ts';
import { Activation, LeakyReLU, ReLU, Softmax, type ActivationName } from '../layers/activations.ts';
import { AveragePooling2D, GlobalAveragePooling2D } from '../layers/average-pooling.ts';
import { BatchNormalization } from '../layers/batch-normalization.ts';
import { Reshape } from '../layers/reshape.ts';
import type { PoolWindowArgs } from '../layers/geometry.ts';
import { Tensor } from '../tensor.ts';
import { MODEL_JSON, badWeightMessage, firstBadWeight, modelFolder } from './model-format.ts';
import { parseManifest, readModelJson, readWeights } from './load-files.ts';
import { compileArgsOf } from './training-config.ts';

export { saveModel } from './save.ts';

/**
 * Reads a model saved by `save` or by TensorFlow.js (`model.save('file://dir')`) from a folder
 * path or a file:// URL. Files from anyone are safe to load: see load-files.ts.
 */
export async function loadModel(location: string | URL, options: Omit<SequentialOptions, 'name'> = {}): Promise<Sequential> {
  const dir = modelFolder(location, 'loadModel');
  const modelPath = join(dir, MODEL_JSON);
  const text = await readModelJson(modelPath);
  let json: { format?: unknown; modelTopology?: unknown; weightsManifest?: unknown; trainingConfig?: unknown };
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${modelPath} is not valid JSON (${(error as Error).message}); the file is damaged`);
  }
  const fail = (problem: string) => new Error(`${modelPath}: ${problem}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('is not a JSON object');
  if (json.format !== undefined && json.format !== 'layers-model') throw fail(`format is "${json.format}", expected "layers-model"`);
  const topology = json.modelTopology as { class_name?: string; config?: unknown } | undefined;
  if (!topology || typeof topology !== 'object') throw fail('has no modelTopology');
  if (topology.class_name !== 'Sequential') throw fail(`only Sequential models are supported, got "${topology.class_name}"`);
  const config = topology.config as { name?: string; layers?: unknown } | unknown[];
  const layerConfigs = (Array.isArray(config) ? config : config?.layers) as { class_name: string; config: Record<string, unknown> }[];
  if (!Array.isArray(layerConfigs) || layerConfigs.length === 0) throw fail('modelTopology has no layers');

  const layers: Layer[] = [];
  let inputShape: number[] | undefined;
  for (const [i, entry] of layerConfigs.entries()) {
    const cfg = entry?.config ?? {};
    const batchInputShape = cfg.batch_input_shape as (number | null)[] | undefined;
    if (batchInputShape && !inputShape) inputShape = batchInputShape.slice(1) as number[];
    if (entry?.class_name === 'InputLayer') continue;
    try {
      layers.push(layerFromConfig(entry?.class_name, cfg, layers.length === 0 ? inputShape : undefined));
    } catch (error) {
      throw fail(`layer ${i} (${entry?.class_name} "${cfg.name ?? ''}"): ${(error as Error).message}`);
    }
  }
  if (!inputShape) throw fail('the first layer has no batch_input_shape, so the input shape is unknown');
  const manifest = parseManifest(json.weightsManifest, fail);
  const modelName = Array.isArray(config) ? undefined : config?.name;
  const model = new Sequential(layers, { ...options, name: modelName });
  try {
    model.build();
  } catch (error) {
    throw fail((error as Error).message);
  }

  // TF.js matches weights to layers by name; the engine by order, so both must agree.
  const entries = manifest.flatMap((group) => group.weights);
  const params = model.params();
  if (entries.length !== params.length) {
    throw fail(`weightsManifest lists ${entries.length} weights but the topology has ${params.length}`);
  }
  params.forEach((param, i) => {
    const entry = entries[i];
    const name = model.weightName(param);
    if (entry.name !== name) throw fail(`weightsManifest lists "${entry.name}" where the topology has ${name} (weight ${i})`);
    if (entry.shape.length !== param.shape.length || entry.shape.some((d, j) => d !== param.shape[j])) {
      throw fail(`weight "${entry.name}" has shape [${entry.shape.join(', ')}] but ${name} needs [${param.shape.join(', ')}]`);
    }
  });
  const data = await readWeights(dir, manifest, fail);
  let offset = 0;
  const weights = entries.map((entry, i) => {
    const values = data.subarray(offset, offset + entry.size);
    offset += entry.size;
    const bad = firstBadWeight(values);
    if (bad >= 0) throw fail(badWeightMessage(entry.name, values, bad));
    return new Tensor(values, params[i].shape);
  });
  model.setWeights(weights);
  if (json.trainingConfig != null) {
    try {
      model.compile(compileArgsOf(json.trainingConfig));
    } catch (error) {
      throw fail((error as Error).message);
    }
  }
  return model;
}

// ---- layer configs ----

type Config = Record<string, unknown>;

function layerFromConfig(className: string, cfg: Config, inputShape: number[] | undefined): Layer {
  const base = { name: cfg.name as string | undefined, inputShape };
  const activation = () => cfg.activation as ActivationName | undefined;
  switch (className) {
    case 'Dense':
      requireNull(cfg, ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint']);
      return new Dense({ ...base, units: cfg.units as number, activation: activation(), useBias: (cfg.use_bias as boolean | undefined) ?? true });
    case 'Conv2D':
      requireNull(cfg, ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint']);
      requireChannelsLast(cfg);
      if (cfg.dilation_rate != null && ![1, [1, 1]].some((ok) => JSON.stringify(ok) === JSON.stringify(cfg.dilation_rate))) {
        throw new Error(`unsupported option dilation_rate ${JSON.stringify(cfg.dilation_rate)} (only 1)`);
      }
      return new Conv2D({
        ...base,
        filters: cfg.filters as number,
        kernelSize: cfg.kernel_size as [number, number],
        strides: (cfg.strides as [number, number] | undefined) ?? 1,
        padding: cfg.padding as 'valid' | 'same' | undefined,
        activation: activation(),
        useBias: (cfg.use_bias as boolean | undefined) ?? true,
      });
    case 'MaxPooling2D':
    case 'MaxPool2D':
      requireChannelsLast(cfg);
      return new MaxPooling2D({ ...base, ...poolArgs(cfg) });
    case 'Flatten':
      requireChannelsLast(cfg);
      return new Flatten(base);
    case 'Dropout':
      requireNull(cfg, ['noise_shape']);
      return new Dropout({ ...base, rate: cfg.rate as number, seed: (cfg.seed as number | null | undefined) ?? undefined });
    case 'ReLU':
      if (cfg.max_value != null) throw new Error(`unsupported option max_value ${cfg.max_value}`);
      if (cfg.negative_slope) throw new Error(`unsupported option negative_slope ${cfg.negative_slope}`);
      if (cfg.threshold) throw new Error(`unsupported option threshold ${cfg.threshold}`);
      return new ReLU(base);
    case 'Softmax':
      return new Softmax({ ...base, axis: cfg.axis as number | undefined });
    case 'Activation':
      return new Activation({ ...base, activation: cfg.activation as ActivationName });
    case 'LeakyReLU':
      return new LeakyReLU({ ...base, alpha: (cfg.alpha as number | undefined) ?? undefined });
    case 'BatchNormalization': {
      requireNull(cfg, ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint']);
      // Keras Python may write the axis as a list of one.
      const axis = Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : cfg.axis;
      return new BatchNormalization({
        ...base,
        axis: axis as number | undefined,
        momentum: cfg.momentum as number | undefined,
        epsilon: cfg.epsilon as number | undefined,
        center: cfg.center as boolean | undefined,
        scale: cfg.scale as boolean | undefined,
      });
    }
    case 'AveragePooling2D':
    case 'AvgPool2D':
      requireChannelsLast(cfg);
      return new AveragePooling2D({ ...base, ...poolArgs(cfg) });
    case 'GlobalAveragePooling2D':
      requireChannelsLast(cfg);
      return new GlobalAveragePooling2D(base);
    case 'Reshape':
      return new Reshape({ ...base, targetShape: cfg.target_shape as number[] });
    default:
      throw new Error(
        `unknown layer class "${className}" (supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, ` +
          'BatchNormalization, Flatten, Reshape, Dropout, ReLU, LeakyReLU, Softmax, Activation)',
      );
  }
}

/** A pooling layer's window, from its Keras config. */
function poolArgs(cfg: Config): PoolWindowArgs {
  return {
    poolSize: (cfg.pool_size as [number, number] | undefined) ?? 2,
    strides: (cfg.strides as [number, number] | null | undefined) ?? undefined,
    padding: cfg.padding as 'valid' | 'same' | undefined,
  };
}

function requireNull(cfg: Config, keys: string[]): void {
  for (const key of keys) {
    if (cfg[key] != null) throw new Error(`unsupported option ${key} ${JSON.stringify(cfg[key])}`);
  }
}

function requireChannelsLast(cfg: Config): void {
  if (cfg.data_format != null && cfg.data_format !== 'channels_last') {
    throw new Error(`unsupported option data_format "${cfg.data_format}" (only channels_last)`);
  }
}
