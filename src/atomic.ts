import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Writes a file so that readers see either the old content or the new, never half of it, even
 * after a crash or power loss: the data goes to a temporary file in the same folder, is flushed to
 * the disk, and only then renamed over the target; the folder is flushed so the rename lasts.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFileDurable(tmp, data);
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncFolder(dir);
}

/**
 * Creates `path` (which must not exist), writes `data` and flushes it to the disk; on failure
 * (a full disk) the partial file is removed.
 */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(path, { force: true });
    throw error;
  }
  await file.close();
}

/** Flushes a folder's entries (files created, renamed or removed in it) to the disk. */
export async function syncFolder(dir: string): Promise<void> {
  // Windows cannot open a folder to fsync it; there a rename lasts as the file system sees fit.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
