// The output folder of a training run, claimed before any data is loaded: it must be a folder we
// can write in, and only one training may write into it at a time.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The lock file a training keeps in its output folder while it runs (it holds the pid). */
export const LOCK_FILE = '.training.lock';

/** A claimed output folder: `release()` removes the lock (also done at exit). */
export interface OutDirClaim {
  dir: string;
  release: () => void;
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'the file system does not allow it there',
  ENOTDIR: 'a part of the path is not a folder',
};

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return (e.code && REASONS[e.code]) ?? e.message;
}

function kindOf(s: { isFile(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (s.isFile()) return 'a file';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a pipe';
  if (s.isSocket()) return 'a socket';
  return 'not a folder';
}

/**
 * Creates `dir` if missing, one level at a time (Node's recursive mkdir loops forever where the
 * file system answers ENOENT for an existing parent, as in /proc). Throws naming the path and why.
 */
async function makeFolder(dir: string, flag: string): Promise<void> {
  const missing: string[] = [];
  let path = resolve(dir);
  for (;;) {
    const s = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined; // look further up
      throw new Error(`${flag} ${dir}: cannot use ${path}: ${reason(error)}`);
    });
    if (s) {
      if (!s.isDirectory()) {
        const what = kindOf(s);
        throw new Error(
          path === resolve(dir)
            ? `${flag} ${dir}: this is ${what}, not a folder; give a folder (it is created if missing)`
            : `${flag} ${dir}: ${path} is ${what}, not a folder`,
        );
      }
      break;
    }
    missing.push(path);
    if (dirname(path) === path) break;
    path = dirname(path);
  }
  for (const level of missing.reverse()) {
    await mkdir(level).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return; // made meanwhile by someone else: fine if it is a folder (checked below)
      throw new Error(`${flag} ${dir}: cannot create the folder ${level}: ${reason(error)}`);
    });
  }
  const s = await stat(dir);
  if (!s.isDirectory()) throw new Error(`${flag} ${dir}: this is ${kindOf(s)}, not a folder`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/**
 * Makes `dir` ready for a training run before anything slow happens: creates it, proves it is
 * writable by creating the lock file (flag 'wx', holding our pid), and keeps that lock until
 * `release()` or the process exits (Ctrl-C included). A lock left by a process that is no longer
 * running is taken over, with a note on `log`. `flag` names the option in the messages.
 */
export async function claimOutDir(dir: string, options: { flag?: string; log?: (line: string) => void } = {}): Promise<OutDirClaim> {
  const flag = options.flag ?? '--out';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await makeFolder(dir, flag);
  const lock = join(dir, LOCK_FILE);

  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') throw new Error(`${flag} ${dir}: cannot write in this folder: ${reason(e)}`);
      const text = (() => {
        try {
          return readFileSync(lock, 'utf8');
        } catch {
          return ''; // removed meanwhile: try again
        }
      })();
      const pid = Number.parseInt(text, 10);
      if (Number.isSafeInteger(pid) && pid > 0 && pidAlive(pid)) {
        throw new Error(
          `${flag} ${dir}: another training (pid ${pid}) is writing into this folder; ` +
            `wait for it to finish or give another ${flag} (lock file: ${lock})`,
        );
      }
      if (attempt > 0) throw new Error(`${flag} ${dir}: cannot take the lock ${lock}: another process keeps taking it`);
      if (text) log(`note: ${lock} was left by pid ${text.trim()}, which is no longer running; taking it over`);
      try {
        unlinkSync(lock);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new Error(`${flag} ${dir}: cannot remove the stale lock ${lock}: ${reason(unlinkError)}`);
        }
      }
    }
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } catch (error) {
    closeSync(fd);
    unlinkSync(lock);
    throw new Error(`${flag} ${dir}: cannot write in this folder: ${reason(error)}`);
  }
  closeSync(fd);

  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      unlinkSync(lock);
    } catch {
      // Already gone (the folder was removed): nothing to release.
    }
  };
  // A signal ends the process without 'exit' handlers unless someone listens: remove the lock and
  // exit as the signal would, unless the CLI handles it itself (training stops gracefully on Ctrl-C).
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    release();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', release);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { dir, release };
}
