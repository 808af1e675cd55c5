// --out is claimed before anything slow: a bad folder fails at once with the path and the reason,
// and a second training into the same folder is refused while the first runs.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { claimOutDir, LOCK_FILE, type OutDirClaim } from '../src/cli/outdir.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const isRoot = process.getuid?.() === 0;

async function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(ROOT, 'src/cli/train.ts'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('claimOutDir', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-outdir-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const claims: OutDirClaim[] = [];
  afterEach(() => {
    for (const c of claims.splice(0)) c.release();
  });
  const claim = async (dir: string, log?: (line: string) => void) => {
    const c = await claimOutDir(dir, { log });
    claims.push(c);
    return c;
  };

  it('creates missing folders and holds a lock with our pid until released', async () => {
    const dir = join(tmp, 'a', 'b', 'c');
    const c = await claim(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    c.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses an existing file, a device and a path under a file, naming the path', async () => {
    const file = join(tmp, 'file');
    writeFileSync(file, 'x');
    await expect(claimOutDir(file)).rejects.toThrow(`--out ${file}: this is a file, not a folder; give a folder (it is created if missing)`);
    await expect(claimOutDir('/dev/null')).rejects.toThrow('--out /dev/null: this is a device, not a folder');
    await expect(claimOutDir(join(file, 'sub'))).rejects.toThrow(`--out ${join(file, 'sub')}: ${file} is a file, not a folder`);
  });

  it.runIf(process.platform === 'linux')('fails at once, not forever, where the file system refuses a new folder (/proc/x)', async () => {
    await expect(claimOutDir('/proc/x')).rejects.toThrow('--out /proc/x: cannot create the folder /proc/x: the file system does not allow it there');
  }, 5000);

  it.runIf(process.platform === 'linux')('refuses a folder it cannot write in (/sys: even root cannot create files there)', async () => {
    await expect(claimOutDir('/sys')).rejects.toThrow('--out /sys: cannot write in this folder: permission denied');
  });

  // Root writes into a 0555 folder anyway, so this case only means something for other users;
  // the /sys case above covers a folder without write access when the tests run as root.
  it.skipIf(isRoot)('refuses a read-only folder (chmod 0555)', async () => {
    const dir = join(tmp, 'read-only');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    await expect(claimOutDir(dir)).rejects.toThrow(`--out ${dir}: cannot write in this folder: permission denied`);
    await expect(claimOutDir(join(dir, 'sub'))).rejects.toThrow(`--out ${join(dir, 'sub')}: cannot create the folder ${join(dir, 'sub')}: permission denied`);
  });

  it('refuses a folder another live process holds, and takes over the lock of a dead one with a note', async () => {
    const dir = join(tmp, 'busy');
    mkdirSync(dir);
    const lock = join(dir, LOCK_FILE);
    writeFileSync(lock, '1\n'); // pid 1 is always alive
    await expect(claimOutDir(dir)).rejects.toThrow(
      `--out ${dir}: another training (pid 1) is writing into this folder; wait for it to finish or give another --out (lock file: ${lock})`,
    );
    expect(readFileSync(lock, 'utf8')).toBe('1\n'); // not taken

    const pid = deadPid();
    writeFileSync(lock, `${pid}\n`);
    const notes: string[] = [];
    await claim(dir, (line) => notes.push(line));
    expect(notes).toEqual([`note: ${lock} was left by pid ${pid}, which is no longer running; taking it over`]);
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('is exclusive within one process too', async () => {
    const dir = join(tmp, 'twice');
    await claim(dir);
    await expect(claimOutDir(dir)).rejects.toThrow(`another training (pid ${process.pid})`);
  });
});

describe('npm run train checks --out before loading any data', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-outdir-cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // A data folder that does not exist: had --out been checked after loading, this would be the error.
  const noData = join(tmp, 'no-mnist-here');

  it('an existing file as --out fails at once with the path and the reason', async () => {
    const file = join(tmp, 'model.txt');
    writeFileSync(file, 'precious');
    const run = await train(['--out', file, '--data-dir', noData, '--epochs', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`error: --out ${file}: this is a file, not a folder; give a folder (it is created if missing)`);
    expect(readFileSync(file, 'utf8')).toBe('precious');
  });

  it.runIf(process.platform === 'linux')('/proc/x and /dev/null fail at once', async () => {
    const proc = await train(['--out', '/proc/x', '--data-dir', noData]);
    expect(proc.stderr.trim()).toBe('error: --out /proc/x: cannot create the folder /proc/x: the file system does not allow it there');
    const devNull = await train(['--out', '/dev/null', '--data-dir', noData]);
    expect(devNull.stderr.trim()).toBe('error: --out /dev/null: this is a device, not a folder; give a folder (it is created if missing)');
  });

  it('a second training into the same --out is refused at the start', async () => {
    const dir = join(tmp, 'shared-out');
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`); // this test process plays the first training
    const run = await train(['--out', dir, '--data-dir', noData]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `error: --out ${dir}: another training (pid ${process.pid}) is writing into this folder; ` +
        `wait for it to finish or give another --out (lock file: ${join(dir, LOCK_FILE)})`,
    );
  });

  it('the lock is gone when a run ends, also on an error after the claim', async () => {
    const dir = join(tmp, 'released');
    const run = await train(['--out', dir, '--data-dir', noData]);
    expect(run.stderr).toMatch(/no-mnist-here/); // got past the claim, then failed on the data
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});
