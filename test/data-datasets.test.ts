import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encodeIdxImages, encodeIdxLabels } from '../src/data/idx.ts';
import { DATASETS, type DatasetName, defaultDataDir, loadMnist, loadMnistSplit, MNIST_FILES } from '../src/data/mnist.ts';
import { MNIST_DIR } from './paths.ts';

/** Debian's dataset-fashion-mnist package (`apt-get install dataset-fashion-mnist`). */
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(path.join(FASHION_DIR, `${MNIST_FILES.testImages}.gz`));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'data-datasets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** A folder of four gzip IDX files: `count` images of rows x cols per split, labels given by `label(i)`. */
function syntheticDir(name: string, opts: { rows?: number; cols?: number; label?: (i: number) => number } = {}): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const label = opts.label ?? ((i: number) => i % 10);
  for (const [images, labels, count] of [
    [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, 6],
    [MNIST_FILES.testImages, MNIST_FILES.testLabels, 4],
  ] as const) {
    const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => i % 256);
    writeFileSync(path.join(dir, `${images}.gz`), gzipSync(encodeIdxImages(pixels, count, rows, cols)));
    writeFileSync(path.join(dir, `${labels}.gz`), gzipSync(encodeIdxLabels(Array.from({ length: count }, (_, i) => label(i)))));
  }
  return dir;
}

describe('DATASETS', () => {
  it('lists MNIST and Fashion-MNIST with their class names, checksums and mirrors', () => {
    expect(Object.keys(DATASETS).sort()).toEqual(['fashion-mnist', 'mnist']);
    expect(DATASETS.mnist.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(DATASETS['fashion-mnist'].classNames).toEqual([
      'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
    ]);
    for (const name of Object.keys(DATASETS) as DatasetName[]) {
      const info = DATASETS[name];
      expect(Object.keys(info.sha256).sort()).toEqual(Object.values(MNIST_FILES).sort());
      for (const sum of Object.values(info.sha256)) expect(sum).toMatch(/^[0-9a-f]{64}$/);
      expect(info.mirrors.length).toBeGreaterThan(0);
    }
  });
});

describe('Fashion-MNIST from the Debian package', () => {
  it.skipIf(!haveFashion)('loads and verifies with dataset: fashion-mnist', async () => {
    const data = await loadMnist({ dataDir: FASHION_DIR, dataset: 'fashion-mnist', limitTrain: 100, limitTest: 10 });
    expect(data.dataset).toBe('fashion-mnist');
    expect(data.dataDir).toBe(FASHION_DIR);
    expect(data.train.images.shape).toEqual([100, 28, 28, 1]);
    // Fashion-MNIST's first test items: ankle boot, pullover, trouser, trouser, shirt, ...
    expect(Array.from(data.test.labels)).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });

  it.skipIf(!haveFashion)('as MNIST: names the dataset it is, advises dataset/--dataset, never deleting', async () => {
    const attempt = loadMnistSplit('test', { dataDir: FASHION_DIR, limit: 1 });
    await expect(attempt).rejects.toThrow(
      `${FASHION_DIR}/${MNIST_FILES.testImages}.gz: SHA-256 of the uncompressed data is ${DATASETS['fashion-mnist'].sha256[MNIST_FILES.testImages]}, ` +
        `expected ${DATASETS.mnist.sha256[MNIST_FILES.testImages]}: the file does not match MNIST's checksum; ` +
        `it is Fashion-MNIST's ${MNIST_FILES.testImages}: pass dataset: 'fashion-mnist'`,
    );
    await expect(attempt).rejects.not.toThrow(/delete/);
    await expect(loadMnistSplit('test', { dataDir: FASHION_DIR, optionName: '--data-dir' })).rejects.toThrow(
      /: pass --dataset fashion-mnist$/,
    );
  });
});

describe('dataset and verify options', () => {
  it.skipIf(!MNIST_DIR)('MNIST loaded as Fashion-MNIST says it is MNIST (no Debian package needed)', async () => {
    const err = await loadMnistSplit('test', { dataDir: MNIST_DIR, dataset: 'fashion-mnist', limit: 1 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /t10k-images-idx3-ubyte(\.gz)?: SHA-256 .*: the file does not match Fashion-MNIST's checksum; it is MNIST's t10k-images-idx3-ubyte: pass dataset: 'mnist'$/,
    );
  });

  it('files of no known dataset: suggests the other dataset or verify: false, never deleting', async () => {
    const dir = syntheticDir('unknown');
    const err = (await loadMnist({ dataDir: dir }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /: the file does not match MNIST's checksum: for another dataset pass dataset: 'fashion-mnist', or pass verify: false to load unverified IDX files$/,
    );
    expect(err.message).not.toMatch(/delete/);
    await expect(loadMnist({ dataDir: dir, optionName: '--data-dir' })).rejects.toThrow(
      /for another dataset pass --dataset fashion-mnist, or pass --no-verify to load unverified IDX files$/,
    );
  });

  it('verify: false loads any IDX files of the right shapes, warning once', async () => {
    const dir = syntheticDir('unverified');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const data = await loadMnist({ dataDir: dir, verify: false });
    expect(data.train.images.shape).toEqual([6, 28, 28, 1]);
    expect(Array.from(data.test.labels)).toEqual([0, 1, 2, 3]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toBe(
      `warning: the IDX files in ${dir} are not verified against MNIST's checksums (verify: false)`,
    );
  });

  it('verify: false still rejects the wrong image size and out-of-range labels, naming the file', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const big = syntheticDir('32x32', { rows: 32, cols: 32 });
    await expect(loadMnist({ dataDir: big, verify: false })).rejects.toThrow(
      `${big}/${MNIST_FILES.trainImages}.gz: images are 32x32, MNIST images are 28x28`,
    );
    const bad = syntheticDir('label-10', { label: (i) => (i === 3 ? 10 : 0) });
    await expect(loadMnist({ dataDir: bad, verify: false, dataset: 'fashion-mnist' })).rejects.toThrow(
      `${bad}/${MNIST_FILES.trainLabels}.gz: label 10 at index 3 is out of range 0-9`,
    );
  });

  it('rejects an unknown dataset, in API or CLI terms', async () => {
    const dataset = 'kmnist' as DatasetName;
    await expect(loadMnist({ dataset })).rejects.toThrow("unknown dataset 'kmnist': expected 'mnist' or 'fashion-mnist'");
    await expect(loadMnist({ dataset, optionName: '--data-dir' })).rejects.toThrow("unknown --dataset 'kmnist'");
  });

  it('Fashion-MNIST reads FASHION_MNIST_DIR, not MNIST_DIR', async () => {
    const dir = syntheticDir('fashion-env');
    const saved = process.env.FASHION_MNIST_DIR;
    process.env.FASHION_MNIST_DIR = dir;
    try {
      const got = await loadMnistSplit('test', { dataset: 'fashion-mnist', expected: { [MNIST_FILES.testImages]: null, [MNIST_FILES.testLabels]: null } });
      expect(got.dataDir).toBe(dir);
      expect(got.dataset).toBe('fashion-mnist');
    } finally {
      if (saved === undefined) delete process.env.FASHION_MNIST_DIR;
      else process.env.FASHION_MNIST_DIR = saved;
    }
  });

  // The download cache is the project's data/<dataset>; only touched when it does not exist yet.
  const cache = defaultDataDir('fashion-mnist');
  it.skipIf(existsSync(cache))('advises deleting only a file in the download cache', async () => {
    mkdirSync(cache, { recursive: true });
    try {
      writeFileSync(path.join(cache, `${MNIST_FILES.testImages}.gz`), gzipSync(encodeIdxImages(new Uint8Array(784), 1, 28, 28)));
      writeFileSync(path.join(cache, `${MNIST_FILES.testLabels}.gz`), gzipSync(encodeIdxLabels([0])));
      await expect(loadMnistSplit('test', { dataDir: cache, dataset: 'fashion-mnist', download: false })).rejects.toThrow(
        /t10k-images-idx3-ubyte\.gz: SHA-256 .*: the file does not match Fashion-MNIST's checksum \(if it is a damaged download, delete it to download it again\)$/,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
