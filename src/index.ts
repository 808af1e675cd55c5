// The public API: a Keras-like deep-learning engine with hand-written backprop and WASM SIMD kernels.
export { Tensor } from './tensor.ts';
export { Sequential } from './model/sequential.ts';
export type { SequentialOptions, CompileArgs, FitArgs, History, EpochLogs, BatchLogs, LossName, Labels } from './model/sequential.ts';
export { loadModel } from './model/serialization.ts';
export { loadMnist } from './data/mnist.ts';
export type { MnistData, MnistSplit, LoadMnistOptions } from './data/mnist.ts';
export { Layer } from './layers/layer.ts';
export { Dense } from './layers/dense.ts';
export { Conv2D } from './layers/conv2d.ts';
export { MaxPooling2D } from './layers/pooling.ts';
export { Flatten } from './layers/flatten.ts';
export { Dropout } from './layers/dropout.ts';
export { ReLU, Softmax } from './layers/activations.ts';
export { SGD } from './optimizers/sgd.ts';
export { Adam } from './optimizers/adam.ts';
export { Optimizer } from './optimizers/optimizer.ts';
export { getBackend, setDefaultThreads, closeThreads } from './backend/index.ts';
export type { Backend, BackendName } from './backend/index.ts';
