// Temporary folders for a test file: each is removed after the test that made it, and the file's
// last check is that none is left behind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';

/** Registers the clean-up hooks; returns the function that makes a folder. */
export function useTempDirs(prefix = 'engine-model-'): () => string {
  const created: string[] = [];
  const pending: string[] = [];
  afterEach(() => {
    for (const dir of pending.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => expect(created.filter((dir) => existsSync(dir))).toEqual([]));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    created.push(dir);
    pending.push(dir);
    return dir;
  };
}
