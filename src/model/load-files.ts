// Reading model files that may come from anyone: model.json and the weight files its manifest
// names are read only if they are regular files of a sane size, and weight paths only inside the
// model folder (after resolving links). A refused weight path gets an error that says nothing about
// what it pointed at, so a model file cannot be used to probe the disk.
import { constants } from 'node:fs';
import { open, realpath, lstat, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MAX_MODEL_JSON_BYTES } from './model-format.ts';
import type { Fail, ManifestGroup } from './artifacts.ts';

/** model.json's text, refusing anything but a regular file of at most MAX_MODEL_JSON_BYTES. */
export async function readModelJson(modelPath: string): Promise<string> {
  const opened = await openRegularFile(modelPath, 'model', () => new Error(`cannot read model: ${modelPath} is not a regular file`));
  try {
    if (opened.size > MAX_MODEL_JSON_BYTES) {
      throw new Error(`cannot read model: ${modelPath} has ${opened.size} bytes, more than the ${MAX_MODEL_JSON_BYTES / 2 ** 20} MiB a model.json may have`);
    }
    const bytes = new Uint8Array(opened.size);
    await readExactly(opened.handle, bytes, modelPath);
    return new TextDecoder().decode(bytes);
  } finally {
    await opened.handle.close();
  }
}

/**
 * All weights, in manifest order, read from each group's files (concatenated, as TF.js shards
 * them) after checking that their sizes add up to what the group's weights need.
 */
export async function readWeights(dir: string, manifest: ManifestGroup[], fail: Fail): Promise<Float32Array> {
  const root = await realpath(dir);
  const total = manifest.reduce((n, group) => n + group.weights.reduce((m, w) => m + w.size, 0), 0);
  const values = new Float32Array(total);
  const bytes = new Uint8Array(values.buffer);
  let offset = 0;
  for (const group of manifest) {
    const needed = group.weights.reduce((n, w) => n + w.size * 4, 0);
    const files: { path: string; handle: FileHandle; size: number }[] = [];
    try {
      for (const path of group.paths) {
        const real = await resolveWeightsPath(root, dir, path, fail);
        const opened = await openRegularFile(real, 'weights', () => fail(`weightsManifest path ${JSON.stringify(path)} ${NOT_REGULAR}`));
        files.push({ path: join(dir, path), ...opened });
      }
      const size = files.reduce((n, f) => n + f.size, 0);
      if (size !== needed) {
        const names = files.map((f) => f.path).join(' + ');
        throw new Error(`${names}: ${size} bytes, but the manifest needs ${needed} (the file is truncated or does not belong to this model.json)`);
      }
      for (const file of files) {
        await readExactly(file.handle, bytes.subarray(offset, offset + file.size), file.path);
        offset += file.size;
      }
    } finally {
      await Promise.all(files.map((f) => f.handle.close()));
    }
  }
  return values;
}

const NOT_REGULAR = 'is not a regular file inside the model folder';

/**
 * The real path of a manifest path, or an error: paths that leave `root` (a real path) lexically
 * or through links, and anything that does not resolve to an existing name inside it.
 */
async function resolveWeightsPath(root: string, dir: string, path: string, fail: Fail): Promise<string> {
  const refuse = (why: string) => fail(`weightsManifest path ${JSON.stringify(path)} ${why}`);
  const lexical = resolve(root, path);
  if (!isInside(root, lexical)) throw refuse('leaves the model folder');
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    // "No such file" only where that reveals nothing outside the folder.
    if (await missingInside(root, lexical)) throw new Error(`cannot read weights: ${join(dir, path)}: no such file`);
    throw refuse(NOT_REGULAR);
  }
  if (!isInside(root, real)) throw refuse(NOT_REGULAR);
  return real;
}

/** Whether `path` is `root` or below it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

/**
 * Whether a path that does not resolve is simply absent: its nearest resolvable ancestor is a real
 * folder inside `root` with no entry of the next name. A dangling link, or a link out of the
 * folder, is not "absent": saying so would tell whether its target exists.
 */
async function missingInside(root: string, path: string): Promise<boolean> {
  let child = path;
  for (;;) {
    const parent = dirname(child);
    const realParent = await realpath(parent).catch(() => null);
    if (realParent !== null) {
      if (!isInside(root, realParent)) return false;
      return lstat(join(realParent, basename(child))).then(
        () => false,
        (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
      );
    }
    if (parent === root) return false;
    child = parent;
  }
}

/**
 * Opens a regular file for reading, refusing FIFOs, devices and folders before opening them (and
 * without blocking if one is swapped in meanwhile: the handle is checked to be the same file).
 */
async function openRegularFile(path: string, what: 'model' | 'weights', notRegular: () => Error): Promise<{ handle: FileHandle; size: number }> {
  const before = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${what}: ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  if (!before.isFile()) throw notRegular();
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const after = await handle.stat();
  if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
    await handle.close();
    throw notRegular();
  }
  return { handle, size: after.size };
}

/** Fills `target` from the start of the file; a file that shrank meanwhile is an error. */
async function readExactly(handle: FileHandle, target: Uint8Array, path: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, done);
    if (bytesRead === 0) throw new Error(`${path}: the file shrank to ${done} bytes while it was read`);
    done += bytesRead;
  }
}
