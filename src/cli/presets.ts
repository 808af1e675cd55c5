// The two models `npm run train` knows: the reference Keras MLP and the Keras MNIST convnet.
import { Sequential, Flatten, Dense, Conv2D, MaxPooling2D, Dropout } from '../index.ts';

export type PresetName = 'mlp' | 'cnn';

/** A published test accuracy a preset is measured against, and where it comes from. */
export interface Reference {
  accuracy: number;
  /** Short name for the terminal and the charts. */
  name: string;
  /** Where the number comes from. */
  source: string;
}

export interface Preset {
  build: (seed: number, options?: { threads?: number | 'all'; optimize?: boolean }) => Sequential;
  reference: Reference;
  /** Epochs that reach the accuracy goals (MLP >= 98.0%, CNN >= 99.2% test accuracy). */
  epochs: number;
  /**
   * Random shifts of up to this many pixels while training. The 128-unit MLP plateaus near
   * 97.8% on the plain images; shifting by one pixel takes it past 98%.
   */
  randomShift: number;
  description: string;
}

export const PRESETS: Record<PresetName, Preset> = {
  mlp: {
    description: 'Flatten → Dense(128, relu) → Dense(10, softmax): the reference Keras MLP',
    epochs: 20,
    randomShift: 1,
    reference: {
      accuracy: 0.9754,
      name: 'Keras MLP',
      source: 'the Keras MLP this project started from (the same layers)',
    },
    build: (seed, options = {}) =>
      new Sequential(
        [
          new Flatten({ inputShape: [28, 28, 1] }),
          new Dense({ units: 128, activation: 'relu' }),
          new Dense({ units: 10, activation: 'softmax' }),
        ],
        { seed, name: 'mlp', ...options },
      ),
  },
  cnn: {
    description: 'the Keras MNIST convnet: Conv2D(32) → MaxPool → Conv2D(64) → MaxPool → Dropout(0.5) → Dense(10)',
    epochs: 15,
    randomShift: 1,
    reference: {
      accuracy: 0.9922,
      name: 'Keras "Simple MNIST convnet"',
      source: 'keras.io/examples/vision/mnist_convnet (the same model), "Test accuracy: 0.9922000169754028"',
    },
    build: (seed, options = {}) =>
      new Sequential(
        [
          new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
          new MaxPooling2D({ poolSize: 2 }),
          new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
          new MaxPooling2D({ poolSize: 2 }),
          new Flatten(),
          new Dropout({ rate: 0.5 }),
          new Dense({ units: 10, activation: 'softmax' }),
        ],
        { seed, name: 'cnn', ...options },
      ),
  },
};

/** The reference of a model saved from a preset (its name is the preset's), else undefined. */
export function referenceFor(modelName: string): Reference | undefined {
  return Object.hasOwn(PRESETS, modelName) ? PRESETS[modelName as PresetName].reference : undefined;
}
