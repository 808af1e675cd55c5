// Model files in the TensorFlow.js Layers format, so that `tf.loadLayersModel` reads what `save`
// writes and the engine reads what TF.js saves:
//   model.json   { format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { layers } },
//                  weightsManifest: [{ paths: ['weights.bin'], weights: [{ name, shape, dtype }] }] }
//   weights.bin  every weight as little-endian float32, in manifest order (Keras order).
// Reading them from bytes: the checks (topology, manifest, names, shapes, sizes, NaN) and building
// the Sequential. No file access here: Node's loadModel (serialization.ts) reads a folder and comes
// through here; a browser hands the bytes to modelFromArtifacts.
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
import { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES, badWeightMessage, firstBadWeight } from './model-format.ts';
import { compileArgsOf } from './training-config.ts';

export type ModelOptions = Omit<SequentialOptions, 'name'>;

export interface ManifestEntry {
  name: string;
  shape: number[];
  /** Number of float32 values. */
  size: number;
}

export interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

export type Fail = (problem: string) => Error;

/** A model built from model.json, its weights not yet set. */
export interface ParsedModel {
  model: Sequential;
  manifest: ManifestGroup[];
  /** Every weight in manifest order. */
  entries: ManifestEntry[];
  trainingConfig: unknown;
  fail: Fail;
}

/**
 * Checks model.json (text or parsed) and builds its model; `where` names it in errors. The
 * manifest must list the topology's weights in order, with their names and shapes.
 */
export function parseModel(text: string | object, where: string, options: ModelOptions = {}): ParsedModel {
  const fail: Fail = (problem) => new Error(`${where}: ${problem}`);
  let json: { format?: unknown; modelTopology?: unknown; weightsManifest?: unknown; trainingConfig?: unknown };
  if (typeof text === 'string') {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${where} is not valid JSON (${(error as Error).message}); the file is damaged`);
    }
  } else {
    json = text as typeof json;
  }
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
  return { model, manifest, entries, trainingConfig: json.trainingConfig, fail };
}

/** Sets the weights (all of them, in manifest order: checked finite and sane) and the saved compile settings. */
export function finishModel(parsed: ParsedModel, data: Float32Array): Sequential {
  const { model, entries, fail } = parsed;
  const params = model.params();
  let offset = 0;
  const weights = entries.map((entry, i) => {
    const values = data.subarray(offset, offset + entry.size);
    offset += entry.size;
    const bad = firstBadWeight(values);
    if (bad >= 0) throw fail(badWeightMessage(entry.name, values, bad));
    return new Tensor(values, params[i].shape);
  });
  model.setWeights(weights);
  if (parsed.trainingConfig != null) {
    try {
      model.compile(compileArgsOf(parsed.trainingConfig));
    } catch (error) {
      throw fail((error as Error).message);
    }
  }
  return model;
}

/**
 * A model from the bytes of its two files: model.json (text or parsed object) and the weights
 * (weights.bin, or a manifest's files concatenated in order). The same checks as loadModel: a
 * damaged or foreign file is an error that names the problem, and no model is made.
 */
export function modelFromArtifacts(modelJson: string | object, weights: ArrayBuffer | ArrayBufferView, options: ModelOptions = {}): Sequential {
  if (typeof modelJson === 'string' && modelJson.length > MAX_MODEL_JSON_BYTES) {
    throw new Error(`modelFromArtifacts: model.json has ${modelJson.length} characters, more than the ${MAX_MODEL_JSON_BYTES / 2 ** 20} MiB a model.json may have`);
  }
  if (typeof modelJson !== 'string' && (typeof modelJson !== 'object' || modelJson === null)) {
    throw new Error(`modelFromArtifacts: model.json must be its text or the parsed object, got ${modelJson === null ? 'null' : typeof modelJson}`);
  }
  const bytes =
    weights instanceof ArrayBuffer
      ? new Uint8Array(weights)
      : ArrayBuffer.isView(weights)
        ? new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)
        : null;
  if (!bytes) throw new Error('modelFromArtifacts: the weights must be an ArrayBuffer or a Uint8Array (the bytes of weights.bin)');
  const parsed = parseModel(modelJson, 'model.json', options);
  const needed = parsed.entries.reduce((n, e) => n + e.size * 4, 0);
  if (bytes.byteLength !== needed) {
    throw new Error(`weights.bin: ${bytes.byteLength} bytes, but the manifest needs ${needed} (the file is truncated or does not belong to this model.json)`);
  }
  const data = new Float32Array(needed / 4);
  new Uint8Array(data.buffer).set(bytes);
  try {
    return finishModel(parsed, data);
  } catch (error) {
    parsed.model.dispose();
    throw error;
  }
}

/** Checks the manifest's form: float32 weights with positive integer shapes, of a total size the engine can hold. */
export function parseManifest(raw: unknown, fail: Fail): ManifestGroup[] {
  if (!Array.isArray(raw)) throw fail('has no weightsManifest');
  let total = 0;
  return raw.map((group: { paths?: unknown; weights?: unknown }, g) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) throw fail(`weightsManifest[${g}] needs "paths" and "weights" lists`);
    const paths = group.paths.map((path) => {
      if (typeof path !== 'string' || path === '') throw fail(`weightsManifest[${g}] has the path ${JSON.stringify(path)}, not a file name`);
      return path;
    });
    if (paths.length === 0 && group.weights.length > 0) throw fail(`weightsManifest[${g}] lists weights but no file paths`);
    const weights = group.weights.map((entry: { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: unknown }, i) => {
      const name = entry?.name;
      if (typeof name !== 'string' || name === '') throw fail(`weightsManifest[${g}].weights[${i}] has no name`);
      if (entry.dtype !== 'float32') throw fail(`weight "${name}" has dtype ${JSON.stringify(entry.dtype)}; only float32 is supported`);
      if (entry.quantization != null) throw fail(`weight "${name}" is quantized; only plain float32 weights are supported`);
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
        throw fail(`weight "${name}" has the shape ${JSON.stringify(shape)}; a shape is a list of positive integers`);
      }
      const size = shape.reduce((n: number, d: number) => n * d, 1);
      total += size * 4;
      if (total > MAX_WEIGHT_BYTES) {
        throw fail(`weight "${name}" brings the weights past ${MAX_WEIGHT_BYTES / 2 ** 30} GiB, more than the engine can hold`);
      }
      return { name, shape: shape as number[], size };
    });
    return { paths, weights };
  });
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
