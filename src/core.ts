// The exports both entries share: the engine's core, which runs wherever the platform seam has an
// implementation (src/index.ts: Node; src/browser.ts: browsers). Nothing here imports `node:`.
export { Tensor } from './tensor.ts';
export { Sequential } from './model/sequential.ts';
export type { SequentialOptions, CompileArgs, FitArgs, History, EpochLogs, BatchLogs, EvaluateResult, Labels } from './model/sequential.ts';
export { Loss, SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError } from './losses.ts';
export type { LossName, CrossentropyArgs } from './losses.ts';
export { Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler } from './callbacks.ts';
export type { CallbackHooks, CallbackParams, EarlyStoppingArgs, ModelCheckpointArgs, ReduceLROnPlateauArgs } from './callbacks.ts';
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
export { modelFromArtifacts } from './model/artifacts.ts';
export type { ModelOptions } from './model/artifacts.ts';
export type { ModelArtifacts } from './model/save.ts';
export { DATASETS, MNIST_FILES } from './data/datasets.ts';
export type { DatasetName, DatasetInfo, MnistSplit } from './data/datasets.ts';
export { setPlatform, platform } from './platform/platform.ts';
export type { Platform } from './platform/platform.ts';

export interface InitOptions {
  /**
   * Threads for the kernels, the calling one included: a number, or 'all' for every core. Node's
   * default is its usual one (ENGINE_THREADS, else 1); a browser's is 'all'.
   */
  threads?: number | 'all';
}

export interface InitResult {
  /** Threads the kernels use, the calling one included. */
  threads: number;
  simd: 'relaxed' | 'plain';
}

