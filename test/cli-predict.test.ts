// npm run predict on what people actually give it: blank pictures, broken files among good ones,
// JPEGs, absurdly large PNGs.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam } from '../src/index.ts';
import { loadMnistSplit } from '../src/data/mnist.ts';
import { encodeGrayPng } from '../src/data/png.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { MNIST_DIR } from './paths.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');

async function predict(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [join(ROOT, 'src/cli/predict.ts'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function rgbaPng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set(pixel(x, y), (y * width + x) * 4);
  return PNG.sync.write(png);
}

describe('npm run predict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-predict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const model = join(dir, 'model');
  const file = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  let digits: Float32Array;

  beforeAll(async () => {
    // A quickly trained MLP: good enough that a clear digit gets the same answer as PNG and as JPEG.
    const train = await loadMnistSplit('train', { dataDir: MNIST_DIR, limit: 6000 });
    const m = PRESETS.mlp.build(1);
    m.compile({ optimizer: new Adam({ learningRate: 0.003 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await m.fit(train.images, train.labels, { epochs: 3, batchSize: 64 });
    await m.save(model);
    digits = (await loadMnistSplit('test', { dataDir: MNIST_DIR, limit: 4 })).images.data;
  }, 60_000);

  /** Test digit i, enlarged 2x on a 70x70 canvas, as dark ink on white paper. */
  const digitRgba = (i: number) => {
    const data = new Uint8Array(70 * 70 * 4).fill(255);
    for (let y = 0; y < 56; y++) {
      for (let x = 0; x < 56; x++) {
        const v = Math.round(255 * (1 - digits[i * 784 + (y >> 1) * 28 + (x >> 1)]));
        data.fill(v, ((y + 7) * 70 + x + 7) * 4, ((y + 7) * 70 + x + 7) * 4 + 3);
      }
    }
    return data;
  };

  it('says "no digit found" for blank or nearly blank pictures instead of a confident digit', async () => {
    const white = file('white.png', rgbaPng(40, 40, () => [255, 255, 255, 255]));
    const black = file('black.png', rgbaPng(40, 40, () => [0, 0, 0, 255]));
    const clear = file('transparent.png', rgbaPng(40, 40, () => [0, 0, 0, 0]));
    const one = file('one-pixel.png', rgbaPng(1, 1, () => [0, 0, 0, 255]));
    // Paper with grey noise of up to 16 levels: stretching its contrast used to make a "digit" of it.
    const noisy = new Uint8Array(40 * 40 * 4).fill(255);
    for (let i = 0; i < 40 * 40; i++) noisy.fill(255 - ((i * 7919) % 17), i * 4, i * 4 + 3);
    const paper = file('paper.jpg', jpeg.encode({ width: 40, height: 40, data: noisy }, 80).data);
    const run = await predict(['--model', model, white, black, clear, one, paper]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([
      `${white}: no digit found (the picture is blank)`,
      `${black}: no digit found (the picture is blank)`,
      `${clear}: no digit found (the picture is blank)`,
      `${one}: no digit found (the picture is blank)`,
      `${paper}: no digit found (the picture is almost blank, too faint for a digit)`,
    ]);
  });

  it('predicts the good files when some are bad: one error line each, exit 1 at the end', async () => {
    const good = file('good.png', rgbaPng(70, 70, (x, y) => { const v = digitRgba(0)[(y * 70 + x) * 4]; return [v, v, v, 255]; }));
    const whole = encodeGrayPng(new Uint8Array(64 * 64).map((_, i) => i % 251), 64, 64);
    const cut = file('cut.png', whole.subarray(0, whole.length - 20));
    const text = file('notes.png', Buffer.from('not a picture'));
    const missing = join(dir, 'missing.png');
    const huge = Buffer.from(encodeGrayPng(new Uint8Array([0]), 1, 1));
    huge.writeUInt32BE(32000, 16);
    huge.writeUInt32BE(32000, 20);
    const big = file('huge.png', huge);
    const good2 = file('good2.png', rgbaPng(70, 70, (x, y) => { const v = digitRgba(1)[(y * 70 + x) * 4]; return [v, v, v, 255]; }));
    const run = await predict(['--model', model, good, cut, text, missing, big, good2]);
    expect(run.code).toBe(1);
    const out = run.stdout.trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(new RegExp(`^${good}: \\d   \\(top 3: `));
    expect(out[1]).toMatch(new RegExp(`^${good2}: \\d   \\(top 3: `));
    expect(run.stderr.trim().split('\n')).toEqual([
      `error: ${cut}: corrupt PNG: the file ends early`,
      `error: ${text}: not a PNG or JPEG file`,
      `error: ${missing}: file not found`,
      `error: ${big}: the PNG is 32000x32000 pixels (1024 megapixels); pictures up to 50 megapixels are read: scale it down first`,
    ]);
  });

  it('reads JPEGs, with the same answer as for the same digit in a PNG', async () => {
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const data = digitRgba(i);
      files.push(file(`d${i}.png`, rgbaPng(70, 70, (x, y) => { const v = data[(y * 70 + x) * 4]; return [v, v, v, 255]; })));
      files.push(file(`d${i}.jpg`, jpeg.encode({ width: 70, height: 70, data }, 92).data));
    }
    const run = await predict(['--model', model, ...files]);
    expect(run.stderr).toBe('');
    const answers = run.stdout.trim().split('\n').map((l) => Number(/: (\d) /.exec(l)![1]));
    expect(answers).toHaveLength(8);
    for (let i = 0; i < 4; i++) expect(answers[2 * i + 1], `d${i}.jpg`).toBe(answers[2 * i]);
  });

  it('takes --no-optimize and shows it in --help', async () => {
    const help = await predict(['--help']);
    expect(help.stdout).toMatch(/--\[no-\]optimize\s+.*--no-optimize/);
    const blank = file('blank2.png', rgbaPng(8, 8, () => [255, 255, 255, 255]));
    const run = await predict(['--model', model, '--no-optimize', blank]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('no digit found');
  });
});
