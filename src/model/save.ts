// Saving a model as TensorFlow.js Layers files (model.json + weights.bin), crash-safe: at every
// instant the folder loads as the old model or the new one, never model.json beside the other
// model's weights. model.json is the commit point; the steps (each file fsynced before its rename,
// the folder fsynced after every rename, so the disk sees them in this order):
//   1. the new weights go to a fresh weights.<tag>.bin (the old weights.bin is still in use);
//   2. model.json is replaced by one naming weights.<tag>.bin: the new model is saved;
//   3. weights.bin is replaced by a hard link to (or a copy of) weights.<tag>.bin;
//   4. model.json is replaced by one naming weights.bin, the form TF.js and users expect;
//   5. weights.<tag>.bin and the leftovers of earlier crashed saves are removed.
// Only type imports from sequential.ts: it imports this module.
import { trainingConfigOf } from './training-config.ts';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncFolder, writeFileDurable } from '../atomic.ts';
import type { Sequential } from './sequential.ts';
import { MODEL_JSON, WEIGHTS_BIN, badWeightMessage, firstBadWeight, modelFolder } from './model-format.ts';

const GENERATED_BY = 'wasm-mnist-engine (TensorFlow.js Layers format)';

/** The files a save creates besides model.json and weights.bin, each carrying its save's tag. */
const LEFTOVER = /^(?:weights\.[0-9a-f]{16}\.bin(?:\.tmp)?|(?:weights\.bin|model\.json)\.[0-9a-f]{16}\.tmp)$/;

export type SaveStep =
  | 'write new weights'
  | 'rename new weights'
  | 'write model.json naming the new weights'
  | 'commit model.json naming the new weights'
  | 'link weights.bin'
  | 'rename weights.bin'
  | 'write final model.json'
  | 'rename final model.json'
  | 'remove leftovers';

export interface SaveOptions {
  /** For tests: runs before each step; throwing there stands for a crash at that instant. */
  beforeStep?: (step: SaveStep) => void | Promise<void>;
}

/** Writes `model` to the folder `location` (a path or a file:// URL) as model.json + weights.bin. */
export async function saveModel(model: Sequential, location: string | URL, options: SaveOptions = {}): Promise<void> {
  const dir = modelFolder(location, 'save');
  const weights = model.getWeights();
  const params = model.params();
  params.forEach((param, i) => {
    const bad = firstBadWeight(weights[i].data);
    if (bad >= 0) throw new Error(`save: ${badWeightMessage(model.weightName(param), weights[i].data, bad)}; nothing was written`);
  });
  const bytes = new Uint8Array(weights.reduce((n, w) => n + w.data.byteLength, 0));
  let offset = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    offset += w.data.byteLength;
  }

  const tag = randomBytes(8).toString('hex');
  const staged = `weights.${tag}.bin`;
  const path = (name: string) => join(dir, name);
  const step = async (name: SaveStep) => options.beforeStep?.(name);
  // 'old' until model.json names the new weights, 'staged' while it names weights.<tag>.bin.
  let state: 'old' | 'staged' | 'new' = 'old';
  try {
    await mkdir(dir, { recursive: true });
    await refuseFolders(dir);
    await step('write new weights');
    await writeFileDurable(path(`${staged}.tmp`), bytes);
    await step('rename new weights');
    await rename(path(`${staged}.tmp`), path(staged));
    await syncFolder(dir);
    await step('write model.json naming the new weights');
    await writeFileDurable(path(`${MODEL_JSON}.${tag}.tmp`), modelJson(model, staged));
    await step('commit model.json naming the new weights');
    await rename(path(`${MODEL_JSON}.${tag}.tmp`), path(MODEL_JSON));
    state = 'staged';
    await syncFolder(dir);
    await step('link weights.bin');
    await linkOrCopy(path(staged), path(`${WEIGHTS_BIN}.${tag}.tmp`));
    await step('rename weights.bin');
    await rename(path(`${WEIGHTS_BIN}.${tag}.tmp`), path(WEIGHTS_BIN));
    await syncFolder(dir);
    await step('write final model.json');
    await writeFileDurable(path(`${MODEL_JSON}.${tag}.tmp`), modelJson(model, WEIGHTS_BIN));
    await step('rename final model.json');
    await rename(path(`${MODEL_JSON}.${tag}.tmp`), path(MODEL_JSON));
    state = 'new';
    await syncFolder(dir);
    await step('remove leftovers');
    await removeLeftovers(dir);
  } catch (error) {
    // Remove what this save wrote, except the weights model.json now names.
    const keep = state === 'staged' ? staged : null;
    for (const name of [`${staged}.tmp`, staged, `${MODEL_JSON}.${tag}.tmp`, `${WEIGHTS_BIN}.${tag}.tmp`]) {
      if (name !== keep) await rm(path(name), { force: true }).catch(() => {});
    }
    const outcome = {
      old: 'the model saved there before, if any, is unchanged',
      staged: `the new model is saved, as ${MODEL_JSON} + ${staged}`,
      new: 'the new model is saved',
    }[state];
    throw new Error(`cannot save the model to ${dir}: ${(error as Error).message}; ${outcome}`, { cause: error });
  }
}

/**
 * Renames cannot replace a folder, so a folder named model.json or weights.bin would stop the
 * save midway; refuse before writing anything.
 */
async function refuseFolders(dir: string): Promise<void> {
  for (const name of [MODEL_JSON, WEIGHTS_BIN]) {
    const stats = await lstat(join(dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (stats?.isDirectory()) throw new Error(`${join(dir, name)} is a folder, where the model's ${name} file belongs`);
  }
}

/** A second name for the staged weights; a copy (flushed) where the file system has no hard links. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to, constants.COPYFILE_EXCL);
    const copy = await open(to, 'r+');
    try {
      await copy.sync();
    } finally {
      await copy.close();
    }
  }
}

/** Removes this save's weights.<tag>.bin and anything earlier saves left by crashing midway. */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (LEFTOVER.test(name)) await rm(join(dir, name), { force: true });
  }
  await syncFolder(dir);
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
