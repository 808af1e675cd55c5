// --dataset and --no-verify in train and evaluate: Fashion-MNIST end to end on a small slice (its
// class names in the terminal, metrics.json and the report), each dataset's files refused as the
// other's with the flag that fixes it, and the per-dataset defaults of the presets.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, onTestFinished, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from '../src/data/mnist.ts';
import { PRESETS, referenceFor } from '../src/cli/presets.ts';
import { Dense, Flatten, Sequential } from '../src/index.ts';
import { MNIST_DIR } from './paths.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');
/** Debian's dataset-fashion-mnist package (.ci/run installs it). */
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const NAMES = DATASETS['fashion-mnist'].classNames;

async function cli(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(ROOT, 'src/cli', script), ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('preset defaults per dataset', () => {
  it('gives every preset its own defaults on every dataset', () => {
    for (const [name, preset] of Object.entries(PRESETS)) {
      expect(Object.keys(preset.datasets).sort(), name).toEqual(Object.keys(DATASETS).sort());
    }
  });

  it('trains the cnn on Fashion-MNIST without random shifts, and compares it with no MNIST reference', () => {
    expect(PRESETS.cnn.datasets['fashion-mnist']).toEqual({ epochs: 20, randomShift: 0 });
    expect(PRESETS.cnn.datasets.mnist).toMatchObject({ epochs: 15, randomShift: 1 });
    expect(referenceFor('cnn', 'fashion-mnist')).toBeUndefined();
    expect(referenceFor('mlp', 'fashion-mnist')).toBeUndefined();
    expect(referenceFor('cnn')?.accuracy).toBe(0.9922);
    expect(referenceFor('mlp', 'mnist')?.accuracy).toBe(0.9754);
  });

  it('train --help gives the defaults of each dataset', async () => {
    const help = await cli('train.ts', ['--help']);
    expect(help.stdout).toMatch(/^ {2}--dataset mnist\|fashion-mnist\s+.*\(default mnist\)$/m);
    expect(help.stdout).toMatch(/^ {2}--random-shift N\s+.*\(default: mlp 1, cnn 1, cnn-bn 0 on MNIST; mlp 0, cnn 0, cnn-bn 0 on Fashion-MNIST\)$/m);
    expect(help.stdout).toMatch(/^ {2}--\[no-\]verify\s+/m);
  });
});

describe('evaluate checks that the model fits the dataset before reading it', () => {
  it('refuses a model with a wrong number of outputs, naming the folder and the counts', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'engine-fashion-'));
    const dir = join(tmp, 'five');
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
    await new Sequential([new Flatten({ inputShape: [28, 28, 1] }), new Dense({ units: 5, activation: 'softmax' })], { seed: 1 }).save(dir);
    const run = await cli('evaluate.ts', ['--model', dir, '--dataset', 'fashion-mnist', '--data-dir', join(dir, 'nowhere')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`error: ${dir}: the model gives [5] outputs, not one per Fashion-MNIST class (10)`);
  });
});

describe.skipIf(!existsSync(FASHION_DIR))('Fashion-MNIST through train and evaluate', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-fashion-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const run = join(tmp, 'run');
  let trained: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    trained = await cli('train.ts', ['--model', 'cnn', '--dataset', 'fashion-mnist', '--data-dir', FASHION_DIR, '--epochs', '1',
      '--limit-train', '1000', '--limit-test', '200', '--out', run]);
  }, 120_000);

  it('train names the classes in the confusion matrix and the class report, and prints no MNIST reference', () => {
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    expect(trained.stdout).toContain(`Fashion-MNIST from ${FASHION_DIR}: 1000 training, 200 test images`);
    expect(trained.stdout).toContain('no random shifts');
    expect(trained.stdout).toMatch(/^ {2}true\\pred\s+top\s+Trouser\s+Pullover\s+Dress\s+Coat\s+Sandal\s+Shirt\s+Sneaker\s+Bag\s+boot$/m);
    for (const name of NAMES) {
      expect(trained.stdout).toMatch(new RegExp(`^ *${name}( +\\d+){10}$`, 'm')); // its confusion-matrix row
      expect(trained.stdout).toMatch(new RegExp(`^ *${name}( +\\d\\.\\d{4}){3} +\\d+$`, 'm')); // its class-report row
    }
    expect(trained.stdout).not.toContain('reference');
  });

  it('metrics.json records the dataset and its class names; the report is titled and labelled with them', () => {
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ model: 'cnn', dataset: 'fashion-mnist', classNames: NAMES, dataVerified: true });
    expect(metrics.reference).toBeUndefined();
    expect(metrics.config).toMatchObject({ epochs: 1, randomShift: 0 });
    const page = readFileSync(join(run, 'report.html'), 'utf8');
    expect(page).toMatch(/<title>Fashion-MNIST cnn — /);
    expect(page).toContain('>Ankle boot</text>');
    expect(page).toContain('There is no published reference for this model on Fashion-MNIST.');
  });

  it('evaluate takes the dataset from metrics.json, and --dataset overrides it', async () => {
    const evaluated = await cli('evaluate.ts', ['--model', run, '--data-dir', FASHION_DIR, '--limit-test', '200', '--no-report']);
    expect(evaluated.stderr).toBe('');
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain(`Fashion-MNIST test set from ${FASHION_DIR}: 200 images`);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
    expect(evaluated.stdout).toContain(`test accuracy: ${metrics.testAccuracy.toFixed(4)}`);
    expect(evaluated.stdout).toMatch(/^ *Ankle boot( +\d+){10}$/m);
    // The same folder's files as MNIST: refused, with the flag that reads them as what they are.
    const asMnist = await cli('evaluate.ts', ['--model', run, '--dataset', 'mnist', '--data-dir', FASHION_DIR, '--no-report']);
    expect(asMnist.code).toBe(1);
    expect(asMnist.stderr.trim()).toMatch(/it is Fashion-MNIST's t10k-images-idx3-ubyte: pass --dataset fashion-mnist$/);
  });

  it('evaluate refuses a dataset metrics.json names that it does not know, unless --dataset decides', async () => {
    const odd = join(tmp, 'odd');
    cpSync(run, odd, { recursive: true });
    const metrics = JSON.parse(readFileSync(join(odd, 'metrics.json'), 'utf8'));
    writeFileSync(join(odd, 'metrics.json'), JSON.stringify({ ...metrics, dataset: 'cifar-10' }));
    const refused = await cli('evaluate.ts', ['--model', odd, '--data-dir', FASHION_DIR, '--no-report']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `error: ${join(odd, 'metrics.json')} says the model was trained on dataset "cifar-10", which is not one of mnist, fashion-mnist: ` +
        'pass --dataset to choose the test set',
    );
    const chosen = await cli('evaluate.ts', ['--model', odd, '--dataset', 'fashion-mnist', '--data-dir', FASHION_DIR, '--limit-test', '50', '--no-report']);
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toContain('Fashion-MNIST test set');
  });

  it('the Fashion-MNIST package read as MNIST (the default) is refused with --dataset fashion-mnist as the fix', async () => {
    const refused = await cli('train.ts', ['--data-dir', FASHION_DIR, '--epochs', '1', '--out', join(tmp, 'refused')]);
    expect(refused.code).toBe(1);
    const message = refused.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain(`${FASHION_DIR}/train-images-idx3-ubyte.gz`);
    expect(message).toMatch(/does not match MNIST's checksum; it is Fashion-MNIST's train-images-idx3-ubyte: pass --dataset fashion-mnist$/);
    expect(message).not.toMatch(/delete|download/);
  });
});

describe.skipIf(!MNIST_DIR)('MNIST read as Fashion-MNIST', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'engine-fashion-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is refused in one line naming --dataset mnist', async () => {
    const refused = await cli('train.ts', ['--dataset', 'fashion-mnist', '--data-dir', MNIST_DIR, '--epochs', '1', '--out', join(tmp, 'refused')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/does not match Fashion-MNIST's checksum; it is MNIST's train-images-idx3-ubyte: pass --dataset mnist$/m);
  });

  it('loads with --no-verify, with a warning, and metrics.json says the data was not verified', async () => {
    const out = join(tmp, 'unverified');
    const run = await cli('train.ts', ['--model', 'mlp', '--dataset', 'fashion-mnist', '--no-verify', '--data-dir', MNIST_DIR, '--epochs', '1',
      '--limit-train', '500', '--limit-test', '100', '--out', out, '--no-report']);
    expect(run.code).toBe(0);
    expect(run.stderr.trim()).toBe(`warning: the IDX files in ${MNIST_DIR} are not verified against Fashion-MNIST's checksums (--no-verify)`);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ dataset: 'fashion-mnist', dataVerified: false });
  });
});
