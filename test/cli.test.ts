// The command-line tools end to end on a small slice of the real MNIST: train → files on disk →
// evaluate agrees → predict on PNGs drawn from test digits agrees with the model.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.ts';
import { loadMnistSplit } from '../src/data/mnist.ts';
import { encodeGrayPng } from '../src/data/png.ts';
import { argmaxRows } from '../src/metrics.ts';

import { MNIST_DIR } from './paths.ts';
const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');

async function cli(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(ROOT, 'src/cli', script), ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run train / evaluate / predict', () => {
  const out = mkdtempSync(join(tmpdir(), 'engine-cli-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('train: 1 epoch on 2,000 images writes a model, metrics.json and a report', async () => {
    const run = await cli('train.ts', ['--model', 'cnn', '--epochs', '1', '--data-dir', MNIST_DIR, '--limit-train', '2000', '--limit-test', '500', '--out', out, '--seed', '3']);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Total params: 34,826');
    expect(run.stdout).toMatch(/Epoch 1\/1 .*loss \d\.\d{4}/);
    expect(run.stdout).toMatch(/test accuracy: 0\.\d{4} \(\d+\/500\)/);
    // The cnn is measured against its own published counterpart, not the MLP's 97.54%.
    expect(run.stdout).toContain('reference (Keras "Simple MNIST convnet"): 99.22%');
    expect(run.stdout).toContain('source: keras.io/examples/vision/mnist_convnet (the same model), "Test accuracy: 0.9922000169754028"');
    expect(run.stdout).not.toContain('97.54%');
    expect(run.stdout).toContain('rows: true, columns: predicted');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.model).toBe('cnn');
    expect(metrics.testAccuracy).toBeGreaterThan(0.5); // 10% is chance
    expect(metrics.epochs).toHaveLength(1);
    expect(Object.keys(metrics.epochs[0]).sort()).toEqual(['accuracy', 'loss', 'seconds', 'valAccuracy', 'valLoss']);
    expect(metrics.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(500);
    expect(metrics.trainSeconds).toBeGreaterThan(0);
    expect(existsSync(join(out, 'model.json')) && existsSync(join(out, 'weights.bin')) && existsSync(join(out, 'report.html'))).toBe(true);
    expect(run.stdout).toContain(`report: ${join(out, 'report.html')}`);
  });

  it('evaluate: the saved model gives the same accuracy', async () => {
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const run = await cli('evaluate.ts', ['--model', out, '--data-dir', MNIST_DIR, '--limit-test', '500', '--no-report']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`test accuracy: ${metrics.testAccuracy.toFixed(4)}`);
    expect(run.stdout).toContain(`test loss: ${metrics.testLoss.toFixed(4)}`);
  });

  it('predict: digits drawn larger, off-centre, in both polarities, get the model\'s prediction for the original', async () => {
    const test = await loadMnistSplit('test', { dataDir: MNIST_DIR, limit: 12 });
    const model = await loadModel(out);
    const expected = argmaxRows(model.predict(test.images).data, 10);
    const files: string[] = [];
    for (let i = 0; i < 12; i++) {
      // A 2x enlargement on a 90x70 canvas, shifted; every other one dark ink on white paper.
      const dark = i % 2 === 1;
      const canvas = new Float32Array(90 * 70).fill(dark ? 1 : 0);
      for (let y = 0; y < 56; y++) {
        for (let x = 0; x < 56; x++) {
          const v = test.images.data[i * 784 + (y >> 1) * 28 + (x >> 1)];
          canvas[(y + 20) * 70 + x + 9] = dark ? 1 - v : v;
        }
      }
      const file = join(out, `digit-${i}.png`);
      writeFileSync(file, encodeGrayPng(canvas, 70, 90));
      files.push(file);
    }
    const run = await cli('predict.ts', ['--model', out, ...files]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').filter((l) => l.includes('digit-'));
    expect(lines).toHaveLength(12);
    let agree = 0;
    lines.forEach((line, i) => {
      expect(line).toMatch(/top 3: \d \d\.\d{3}, \d \d\.\d{3}, \d \d\.\d{3}/);
      if (Number(line.match(/: (\d) /)![1]) === expected[i]) agree++;
    });
    expect(agree).toBe(12);
  });

  it('Ctrl-C (SIGINT) stops after the current batch and still evaluates and saves the model', async () => {
    const dir = join(out, 'interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/train.ts'), '--model', 'cnn', '--data-dir', MNIST_DIR,
      '--limit-train', '20000', '--limit-test', '500', '--out', dir, '--no-report'], { cwd: ROOT });
    let stdout = '';
    let scheduled = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      // Interrupt once, after training has begun (the handler is installed before the first batch).
      if (stdout.includes('training cnn for') && !scheduled) {
        scheduled = true;
        setTimeout(() => child.kill('SIGINT'), 1500);
      }
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/training stopped by Ctrl-C in epoch 1 of 15, after batch \d+ of 141/);
    expect(stdout).toMatch(/test accuracy: 0\.\d{4} \(\d+\/500\)/);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.stoppedEarly).toBe(true);
    expect(existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'weights.bin'))).toBe(true);
  });

  it('bad flags, bad values and a missing data folder each give a one-line error with the fix', async () => {
    const unknown = await cli('train.ts', ['--epoch', '3']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toMatch(/^error: unknown flag --epoch \(did you mean --epochs\?\)[^\n]*$/);
    const bad = await cli('train.ts', ['--epochs', 'abc']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--epochs/);
    const missing = await cli('train.ts', ['--data-dir', join(out, 'no-such-folder'), '--epochs', '1']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-folder.*--data-dir/);
    const noModel = await cli('predict.ts', ['--model', join(out, 'nothing'), 'x.png']);
    expect(noModel.stderr.trim()).toMatch(/^error: cannot read model: .*nothing\/model\.json: no such file$/);
  });
});

