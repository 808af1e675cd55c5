// The public API in Node: a Keras-like deep-learning engine with hand-written backprop and WASM SIMD
// kernels. (src/browser.ts is the browser's entry: the same core, with init, fetch-based MNIST and
// artifacts instead of folders.)
import { nodePlatform } from './platform/node.ts';
import { setPlatform } from './platform/platform.ts';
import { getBackend as backendFor, setDefaultThreads as setThreads } from './backend/index.ts';

setPlatform(nodePlatform);

export interface InitOptions {
  /** Threads for the kernels, the calling one included: a number, or 'all' for every core. Default: as before (ENGINE_THREADS, else 1). */
  threads?: number | 'all';
}

export interface InitResult {
  threads: number;
  simd: 'relaxed' | 'plain';
}

/**
 * Compiles the kernels and starts the kernel threads now rather than on first use. Optional in
 * Node (it exists so code can be shared with the browser entry, where it must be awaited first).
 */
export async function init(options: InitOptions = {}): Promise<InitResult> {
  if (options.threads !== undefined) setThreads(options.threads);
  const backend = backendFor('wasm');
  return { threads: backend.threads, simd: backend.flavor as 'relaxed' | 'plain' };
}
export { Tensor } from './tensor.ts';
export { Sequential } from './model/sequential.ts';
export type { SequentialOptions, CompileArgs, FitArgs, History, EpochLogs, BatchLogs, EvaluateResult, Labels } from './model/sequential.ts';
export { Loss, SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError } from './losses.ts';
export type { LossName, CrossentropyArgs } from './losses.ts';
export { Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler } from './callbacks.ts';
export type { CallbackHooks, CallbackParams, EarlyStoppingArgs, ModelCheckpointArgs, ReduceLROnPlateauArgs } from './callbacks.ts';
export { loadModel } from './model/serialization.ts';
export { modelFromArtifacts } from './model/artifacts.ts';
export type { ModelArtifacts } from './model/save.ts';
export { setPlatform, platform } from './platform/platform.ts';
export type { Platform } from './platform/platform.ts';
export { loadMnist } from './data/mnist.ts';
export type { MnistData, MnistSplit, LoadMnistOptions } from './data/mnist.ts';
export { Layer } from './layers/layer.ts';
export { Dense } from './layers/dense.ts';
export { Conv2D } from './layers/conv2d.ts';
export { MaxPooling2D } from './layers/pooling.ts';
export { Flatten } from './layers/flatten.ts';
export { Dropout } from './layers/dropout.ts';
export { ReLU, Softmax, Activation, LeakyReLU, ACTIVATION_NAMES } from './layers/activations.ts';
export type { ActivationName } from './layers/activations.ts';
export { BatchNormalization } from './layers/batch-normalization.ts';
export type { BatchNormalizationArgs } from './layers/batch-normalization.ts';
export { AveragePooling2D, GlobalAveragePooling2D } from './layers/average-pooling.ts';
export type { AveragePooling2DArgs } from './layers/average-pooling.ts';
export { Reshape } from './layers/reshape.ts';
export type { ReshapeArgs } from './layers/reshape.ts';
export { SGD } from './optimizers/sgd.ts';
export { Adam } from './optimizers/adam.ts';
export { RMSprop } from './optimizers/rmsprop.ts';
export { Optimizer } from './optimizers/optimizer.ts';
export type { SGDArgs } from './optimizers/sgd.ts';
export type { AdamArgs } from './optimizers/adam.ts';
export type { RMSpropArgs } from './optimizers/rmsprop.ts';
export type { OptimizerName } from './optimizers/index.ts';
export { getBackend, setDefaultThreads, closeThreads } from './backend/index.ts';
export type { Backend, BackendName } from './backend/index.ts';
