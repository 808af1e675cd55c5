// Durability, seen through a recording node:fs/promises: every file written is fsynced before it is
// renamed into place, and the folder is fsynced after every rename (otherwise a power loss can undo
// or reorder renames and leave model.json naming weights that never reached the disk). Also a full
// disk while the weights are written.
import { readdirSync } from 'node:fs';
import type * as fsPromises from 'node:fs/promises';

import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useTempDirs } from './temp-dirs.ts';

type Op = ['write' | 'fsync' | 'rename' | 'link', string, string?];
const ops: Op[] = [];
let fullDiskAt: RegExp | null = null;
let noHardLinks = false;
/** The folder fsync (counting from 1) that fails, as a disk error would. */
let failFolderSync = 0;
let folderSyncs = 0;

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof fsPromises>();
  const open: typeof fs.open = async (path, flags, mode) => {
    const handle = await fs.open(path, flags, mode);
    const name = String(path);
    const { sync, writeFile } = handle;
    handle.sync = async () => {
      ops.push(['fsync', name]);
      if ((await handle.stat()).isDirectory() && ++folderSyncs === failFolderSync) {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      }
      return sync.call(handle);
    };
    handle.writeFile = async (data, options) => {
      ops.push(['write', name]);
      if (fullDiskAt?.test(name)) {
        await writeFile.call(handle, data instanceof Uint8Array ? data.subarray(0, 10) : String(data).slice(0, 10));
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      }
      return writeFile.call(handle, data, options);
    };
    return handle;
  };
  const rename: typeof fs.rename = async (from, to) => {
    ops.push(['rename', String(from), String(to)]);
    return fs.rename(from, to);
  };
  const link: typeof fs.link = async (from, to) => {
    if (noHardLinks) throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    ops.push(['link', String(from), String(to)]);
    return fs.link(from, to);
  };
  const copyFile: typeof fs.copyFile = async (from, to, mode) => {
    ops.push(['write', String(to)]);
    return fs.copyFile(from, to, mode);
  };
  const mocked = { open, rename, link, copyFile };
  return { ...fs, ...mocked, default: { ...fs, ...mocked } };
});

const { writeFileAtomic } = await import('../src/atomic.ts');
const { loadModel, Sequential, Dense, Flatten } = await import('../src/index.ts');

const tempDir = useTempDirs();
afterEach(() => {
  ops.length = 0;
  fullDiskAt = null;
  noHardLinks = false;
  failFolderSync = 0;
  folderSyncs = 0;
});

/** The name under which the data now at `name` was written, following renames and links back from op `i`. */
function writtenAs(log: Op[], name: string, i: number): string {
  for (let j = i - 1; j >= 0; j--) {
    const [kind, from, to] = log[j];
    if ((kind === 'rename' || kind === 'link') && to === name) return writtenAs(log, from, j);
  }
  return name;
}

/**
 * Checks the log: the data each rename moves into place was fsynced after its last write, and each
 * rename is followed by an fsync of its folder before any later rename.
 */
function expectDurable(log: Op[]): void {
  const renames = log.flatMap((op, i) => (op[0] === 'rename' ? [i] : []));
  expect(renames.length).toBeGreaterThan(0);
  for (const i of renames) {
    const [, from, to] = log[i];
    const source = writtenAs(log, from, i);
    const lastWrite = log.slice(0, i).map((op) => op[0] === 'write' && op[1] === source).lastIndexOf(true);
    const synced = log.findIndex((op, j) => j > lastWrite && j < i && op[0] === 'fsync' && op[1] === source);
    expect(lastWrite, `write of ${source}`).toBeGreaterThanOrEqual(0);
    expect(synced, `fsync of ${source} before it is renamed to ${to}`).toBeGreaterThan(lastWrite);
    const next = log.findIndex((op, j) => j > i && op[0] === 'rename');
    const folderSynced = log.findIndex((op, j) => j > i && (next < 0 || j < next) && op[0] === 'fsync' && op[1] === dirname(to!));
    expect(folderSynced, `fsync of the folder after renaming to ${to}`).toBeGreaterThan(i);
  }
}

function mlp(seed: number) {
  return new Sequential([new Flatten({ inputShape: [2, 3, 1] }), new Dense({ units: 4, activation: 'softmax' })], { seed });
}

describe('durable writes', () => {
  it('writeFileAtomic fsyncs the file before the rename and the folder after', async () => {
    const dir = tempDir();
    await writeFileAtomic(join(dir, 'metrics.json'), '{}');
    expect(ops.map((op) => op[0])).toEqual(['write', 'fsync', 'rename', 'fsync']);
    expectDurable(ops);
    expect(readdirSync(dir)).toEqual(['metrics.json']);
  });

  it('save fsyncs every file it writes before renaming it, and the folder after every rename', async () => {
    const dir = tempDir();
    await mlp(1).save(dir);
    expect(ops.filter((op) => op[0] === 'rename').length).toBe(4);
    expectDurable(ops);
  });

  it('where hard links fail, save copies the weights and fsyncs the copy', async () => {
    const dir = tempDir();
    noHardLinks = true;
    const model = mlp(1);
    await model.save(dir);
    expect(ops.some((op) => op[0] === 'link')).toBe(false);
    expectDurable(ops);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await loadModel(dir)).getWeights()).toEqual(model.getWeights());
  });

  it('a failed folder fsync, after any rename, leaves the old model or the new one', async () => {
    const [A, B] = [mlp(1), mlp(2)];
    const dir = tempDir();
    await A.save(dir);
    folderSyncs = 0;
    await B.save(dir);
    const perSave = folderSyncs;
    expect(perSave).toBe(5);
    const outcomes = [];
    for (let k = 1; k <= perSave; k++) {
      await A.save(dir);
      [folderSyncs, failFolderSync] = [0, k];
      await expect(B.save(dir)).rejects.toThrow(/EIO: i\/o error, fsync; the (model saved there before|new model is saved)/);
      failFolderSync = 0;
      const weights = (await loadModel(dir)).getWeights();
      outcomes.push(isDeepStrictEqual(weights, A.getWeights()) ? 'A' : isDeepStrictEqual(weights, B.getWeights()) ? 'B' : 'other');
    }
    // The second fsync follows the commit rename of model.json.
    expect(outcomes).toEqual(['A', 'B', 'B', 'B', 'B']);
  });

  it('a full disk while writing the weights leaves the previous model and no partial files', async () => {
    const dir = tempDir();
    const before = mlp(1);
    await before.save(dir);
    fullDiskAt = /weights\.[0-9a-f]+\.bin\.tmp$/;
    await expect(mlp(2).save(dir)).rejects.toThrow(
      `cannot save the model to ${dir}: ENOSPC: no space left on device, write; the model saved there before, if any, is unchanged`,
    );
    expect(ops.some((op) => op[0] === 'write' && fullDiskAt!.test(op[1]))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await loadModel(dir)).getWeights()).toEqual(before.getWeights());
  });
});
