// npm run evaluate beside a training: it never loses what the training wrote, and a folder it
// cannot write in costs only its page.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MNIST_DIR } from './paths.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');

async function cli(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(ROOT, 'src/cli', script), ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const snapshot = (dir: string) => new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));

describe('npm run evaluate', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-evaluate-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const run = join(tmp, 'run');
  let trained: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    trained = await cli('train.ts', ['--model', 'mlp', '--epochs', '1', '--data-dir', MNIST_DIR, '--limit-train', '2000', '--limit-test', '300', '--out', run]);
  }, 120_000);

  it('train says "1 epoch" and compares the mlp with the Keras MLP', () => {
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(/training mlp for 1 epoch: /);
    expect(trained.stdout).toContain('reference (Keras MLP): 97.54%');
    expect(trained.stdout).toContain('source: the Keras MLP this project started from');
  });

  it('writes evaluation.html beside the training report and changes none of the training’s files', async () => {
    const before = snapshot(run);
    const evaluated = await cli('evaluate.ts', ['--model', run, '--data-dir', MNIST_DIR, '--limit-test', '200', '--no-optimize']);
    expect(evaluated.stderr).toBe('');
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain('test accuracy: ');
    expect(evaluated.stdout).toContain('reference (Keras MLP): 97.54%');
    expect(evaluated.stdout).toContain(`evaluation report: ${join(run, 'evaluation.html')}`);
    const after = snapshot(run);
    for (const [f, bytes] of before) expect(after.get(f)?.equals(bytes), f).toBe(true);
    expect([...after.keys()].filter((f) => !before.has(f)).every((f) => f.startsWith('evaluation'))).toBe(true);
    // The training's curves are still there; the evaluation page shows the training's settings.
    expect(readFileSync(join(run, 'report.html'), 'utf8')).toContain('id="training"');
    const page = readFileSync(join(run, 'evaluation.html'), 'utf8');
    expect(page).toContain('<tr><th>Batch size</th><td>128</td></tr>');
    expect(page).toContain('200 test images');
  });

  it('prints its results and exits 0 when the report cannot be written', async () => {
    // As root a chmod does not stop writes; a folder where the page's file name is taken by a
    // folder fails the same way a read-only one does.
    const blocked = join(tmp, 'blocked');
    cpSync(run, blocked, { recursive: true });
    rmSync(join(blocked, 'evaluation.html'), { force: true });
    mkdirSync(join(blocked, 'evaluation.html'));
    const evaluated = await cli('evaluate.ts', ['--model', blocked, '--data-dir', MNIST_DIR, '--limit-test', '200']);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/test accuracy: 0\.\d{4} \(\d+\/200\)/);
    expect(evaluated.stderr.trim()).toMatch(new RegExp(`^note: the evaluation report could not be written into ${blocked}: .*evaluation\\.html`));
  });

  it.skipIf(process.getuid?.() === 0)('on a read-only model folder (chmod 0555; root writes anyway, hence skipped as root)', async () => {
    const readOnly = join(tmp, 'read-only');
    cpSync(run, readOnly, { recursive: true });
    chmodSync(readOnly, 0o555);
    const evaluated = await cli('evaluate.ts', ['--model', readOnly, '--data-dir', MNIST_DIR, '--limit-test', '200']);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain('test accuracy: ');
    expect(evaluated.stderr).toContain(`note: the evaluation report could not be written into ${readOnly}: `);
  });

  it('train and evaluate take --no-optimize and show it in --help', async () => {
    for (const script of ['train.ts', 'evaluate.ts']) {
      const help = await cli(script, ['--help']);
      expect(help.stdout, script).toMatch(/^ {2}--\[no-\]optimize\s+use the engine's optimised computation \(--no-optimize runs the plain one.*\(default on\)$/m);
    }
    const noOpt = await cli('train.ts', ['--no-optimize', '--epochs', '1', '--data-dir', MNIST_DIR, '--limit-train', '500', '--limit-test', '100', '--out', join(tmp, 'plain'), '--no-report']);
    expect(noOpt.code).toBe(0);
    expect(noOpt.stdout).toContain('not optimised (--no-optimize)');
  }, 120_000);
});
