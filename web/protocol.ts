// The messages between the page (main.ts) and its two module workers: train-worker.ts (loads
// MNIST, trains on every thread, evaluates) and predict-worker.ts (one thread, reads the drawn
// digit with the current model, so drawing stays live while a model trains).

export type PresetChoice = 'mlp' | 'cnn';

/** A model in the TF.js Layers format: model.json's text and weights.bin's bytes. */
export interface Artifacts {
  modelJson: string;
  weights: Uint8Array;
}

/** Where the training worker gets MNIST: a URL folder, or the IDX files the user dropped. */
export type DataSource = { kind: 'url'; baseUrl: string } | { kind: 'files'; files: { name: string; bytes: ArrayBuffer }[] };

export interface TrainRequest {
  type: 'train';
  model: PresetChoice;
  epochs: number;
  data: DataSource;
  /** Int32Array(1) over a SharedArrayBuffer, set to 1 by Stop (when the page is cross-origin isolated). */
  stopFlag?: Int32Array;
  /** Keep only the first N training images (automation, quick runs); all when absent. */
  limitTrain?: number;
  seed?: number;
}

export type ToTrainWorker = { type: 'init'; threads: number | 'all' } | TrainRequest | { type: 'stop' };

export interface LivePoint {
  loss: number;
  accuracy: number;
}

export type FromTrainWorker =
  | { type: 'ready'; threads: number; simd: string; isolated: boolean }
  | { type: 'status'; text: string }
  | { type: 'data'; train: number; test: number; source: string }
  | { type: 'start'; model: string; epochs: number; steps: number; pointsPerEpoch: number; batchSize: number; params: number }
  | { type: 'progress'; epoch: number; step: number; steps: number; imagesPerSecond: number; loss: number; accuracy: number; points: LivePoint[] }
  | { type: 'epoch'; epoch: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number; seconds: number }
  | {
      type: 'done';
      model: string;
      stopped: boolean;
      epochsDone: number;
      testAccuracy: number;
      correct: number;
      testCount: number;
      confusion: number[][];
      trainSeconds: number;
      artifacts: Artifacts;
    }
  | { type: 'error'; message: string };

export type ToPredictWorker = { type: 'init' } | { type: 'load'; artifacts: Artifacts; origin: string } | { type: 'predict'; id: number; input: Float32Array };

export type FromPredictWorker =
  | { type: 'ready' }
  | { type: 'loaded'; origin: string; name: string; params: number; layers: string[]; artifacts: Artifacts }
  | { type: 'prediction'; id: number; probabilities: number[] }
  | { type: 'error'; message: string; id?: number; during: 'init' | 'load' | 'predict' };
