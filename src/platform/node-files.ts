// Writing a model folder in Node (the Node platform's saveModel), crash-safe: at every instant the
// folder loads as the old model or the new one, never model.json beside the other model's weights.
// model.json is the commit point; the steps (each file fsynced before its rename, the folder
// fsynced after every rename, so the disk sees them in this order):
//   1. the new weights go to a fresh weights.<tag>.bin (the old weights.bin is still in use);
//   2. model.json is replaced by one naming weights.<tag>.bin: the new model is saved;
//   3. weights.bin is replaced by a hard link to (or a copy of) weights.<tag>.bin;
//   4. model.json is replaced by one naming weights.bin, the form TF.js and users expect;
//   5. weights.<tag>.bin and the leftovers of earlier crashed saves are removed.
// What is written (the bytes of both files, checked) comes from the core, src/model/save.ts.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syncFolder, writeFileDurable } from '../atomic.ts';
import { MODEL_JSON, WEIGHTS_BIN } from '../model/model-format.ts';
import type { ModelFiles, SaveOptions, SaveStep } from './platform.ts';

/** The files a save creates besides model.json and weights.bin, each carrying its save's tag. */
const LEFTOVER = /^(?:weights\.[0-9a-f]{16}\.bin(?:\.tmp)?|(?:weights\.bin|model\.json)\.[0-9a-f]{16}\.tmp)$/;

/** Writes `files` to the folder `location` (a path or a file:// URL) as model.json + weights.bin. */
export async function saveModelFolder(location: string | URL, files: ModelFiles, options: SaveOptions = {}): Promise<void> {
  const dir = modelFolder(location, 'save');
  const bytes = files.weights;
  const modelJson = (weightsPath: string) => files.modelJson(weightsPath);
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
    await writeFileDurable(path(`${MODEL_JSON}.${tag}.tmp`), modelJson(staged));
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
    await writeFileDurable(path(`${MODEL_JSON}.${tag}.tmp`), modelJson(WEIGHTS_BIN));
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


const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * The folder a model location names: a path, or a file:// URL as TensorFlow.js writes them. Other
 * schemes (http://, indexeddb://) belong to TF.js's browser handlers, which this engine has not.
 */
export function modelFolder(location: string | URL, action: string): string {
  const text = location instanceof URL ? location.href : location;
  if (typeof text !== 'string') throw new Error(`${action}: the model location must be a folder path, got ${typeof location}`);
  const scheme = URL_SCHEME.exec(text)?.[1];
  if (scheme === undefined) return text;
  if (scheme.toLowerCase() !== 'file') {
    throw new Error(`${action}: "${text}" uses the ${scheme}:// scheme; only folder paths and file:// URLs are supported`);
  }
  try {
    return fileURLToPath(text);
  } catch (error) {
    throw new Error(`${action}: "${text}" is not a usable file:// URL (${(error as Error).message})`);
  }
}
