// What the save and load sides of the model files share: file names, limits, the check on weight
// values. Nothing here imports the model, so either side can use it without an import cycle; and
// nothing here touches files (how a location names a folder is the Node platform's: node-files.ts).
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** model.json holds the topology and manifest only; real ones are a few KiB. */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

/** More weights than this cannot fit the engine's 2 GiB memory beside their gradients and activations. */
export const MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;

/** Trained weights stay far below this; larger ones are damage or an attempt to overflow float32 sums. */
export const MAX_ABS_WEIGHT = 1e6;

/** Index of the first value that is NaN, infinite or beyond ±MAX_ABS_WEIGHT, or -1. */
export function firstBadWeight(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    // Written so that NaN fails the test too.
    if (!(Math.abs(data[i]) <= MAX_ABS_WEIGHT)) return i;
  }
  return -1;
}

export function badWeightMessage(name: string, data: Float32Array, index: number): string {
  return `weight "${name}" has the value ${data[index]} at index ${index} (weights must be finite, within ±${MAX_ABS_WEIGHT})`;
}
