import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeIdxImages,
  encodeIdxLabels,
  parseIdxImages,
  parseIdxLabels,
  readIdxImages,
  readIdxLabels,
} from '../src/data/idx.ts';
import { loadMnist, loadMnistSplit, MNIST_FILES, type MnistFileName } from '../src/data/mnist.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'idx-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function synthetic(count: number, rows = 28, cols = 28, seed = 1) {
  const pixels = new Uint8Array(count * rows * cols);
  let s = seed;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    pixels[i] = s >>> 24;
  }
  const labels = Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10);
  return { images: encodeIdxImages(pixels, count, rows, cols), labels: encodeIdxLabels(labels), pixels, labelList: labels };
}

function write(name: string, bytes: Uint8Array, gzip = false): string {
  const p = path.join(tmp, name);
  writeFileSync(p, gzip ? gzipSync(bytes) : bytes);
  return p;
}

describe('IDX reader', () => {
  it('reads good raw and gzip files', async () => {
    const { images, labels, pixels, labelList } = synthetic(5, 3, 4);
    const raw = await readIdxImages(write('good-images-raw', images));
    expect(raw).toMatchObject({ count: 5, rows: 3, cols: 4 });
    expect(Array.from(raw.pixels)).toEqual(Array.from(pixels));
    const gz = await readIdxImages(write('good-images.gz', images, true));
    expect(Array.from(gz.pixels)).toEqual(Array.from(pixels));
    const l = await readIdxLabels(write('good-labels.gz', labels, true));
    expect(l.count).toBe(5);
    expect(Array.from(l.labels)).toEqual(labelList);
  });

  it('keeps only the first `limit` items', () => {
    const { images, labels, pixels } = synthetic(6, 2, 2);
    const im = parseIdxImages(images, 'x', { limit: 2 });
    expect(im.count).toBe(2);
    expect(Array.from(im.pixels)).toEqual(Array.from(pixels.subarray(0, 8)));
    expect(parseIdxLabels(labels, 'y', { limit: 100 }).count).toBe(6);
  });

  it('rejects a wrong magic number, naming the file', async () => {
    const { labels } = synthetic(4);
    const p = write('labels-as-images.gz', labels, true);
    await expect(readIdxImages(p)).rejects.toThrow(`${p}: wrong magic number 2049`);
    await expect(readIdxImages(p)).rejects.toThrow(/expected 2051/);
    const garbage = write('garbage', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
    await expect(readIdxLabels(garbage)).rejects.toThrow(`${garbage}: wrong magic number`);
  });

  it('rejects a truncated or over-long file, naming the file', async () => {
    const { images, labels } = synthetic(4, 5, 5);
    const short = write('short-images', images.subarray(0, images.length - 3));
    await expect(readIdxImages(short)).rejects.toThrow(
      `${short}: truncated: ${images.length - 3} bytes, expected exactly ${images.length}`,
    );
    const long = new Uint8Array(labels.length + 1);
    long.set(labels);
    const longPath = write('long-labels.gz', long, true);
    await expect(readIdxLabels(longPath)).rejects.toThrow(`${longPath}: too long`);
    const header = write('tiny', images.subarray(0, 6));
    await expect(readIdxImages(header)).rejects.toThrow(`${header}: too short for an IDX images header`);
  });

  it('rejects a truncated gzip stream, naming the file', async () => {
    const { images } = synthetic(20);
    const gz = gzipSync(images);
    const p = write('cut.gz', gz.subarray(0, gz.length >> 1));
    await expect(readIdxImages(p)).rejects.toThrow(`${p}: corrupt or truncated gzip data`);
  });

  it('rejects a label out of range 0-9, naming the file and index', async () => {
    const p = write('bad-labels', encodeIdxLabels([0, 1, 2, 3, 4, 11, 6]));
    await expect(readIdxLabels(p)).rejects.toThrow(`${p}: label 11 at index 5 is out of range 0-9`);
    const ten = write('ten-labels.gz', encodeIdxLabels([9, 0, 10]), true);
    await expect(readIdxLabels(ten)).rejects.toThrow(`${ten}: label 10 at index 2 is out of range 0-9`);
  });

  it('checks labels against the number of classes asked for', () => {
    const labels = encodeIdxLabels([0, 1, 2, 3]);
    expect(() => parseIdxLabels(labels, 'three-classes', { classes: 3 })).toThrow(
      'three-classes: label 3 at index 3 is out of range 0-2',
    );
    expect(parseIdxLabels(labels, 'four-classes', { classes: 4 }).count).toBe(4);
  });

  it('rejects a header that declares an absurd size before inflating anything, naming the file', async () => {
    // 100 000 images of 1000x1000: 100 GB declared in a gzip file of a few bytes.
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(0, 2051);
    new DataView(huge.buffer).setUint32(4, 100_000);
    new DataView(huge.buffer).setUint32(8, 1000);
    new DataView(huge.buffer).setUint32(12, 1000);
    const p = write('huge-images.gz', huge, true);
    await expect(readIdxImages(p)).rejects.toThrow(
      `${p}: the header declares an absurd size (16-byte header + 100000 images of 1000x1000, 100000000016 bytes)`,
    );
    // 200 million labels: under 1 GiB, but more items than any digit set has.
    const many = new Uint8Array(8);
    new DataView(many.buffer).setUint32(0, 2049);
    new DataView(many.buffer).setUint32(4, 200_000_000);
    const q = write('many-labels', many);
    await expect(readIdxLabels(q)).rejects.toThrow(`${q}: the header declares an absurd size (8-byte header + 200000000 labels`);
  });

  it('refuses gzip bytes in the synchronous parsers, saying what to use', () => {
    const { images } = synthetic(2, 2, 2);
    expect(() => parseIdxImages(gzipSync(images), 'img.gz')).toThrow('img.gz: gzip data: inflate it first (inflateIdx)');
  });
});

describe('loadMnist on synthetic files', () => {
  function makeDir(name: string, opts: { gzip: boolean; corruptLabels?: boolean }) {
    const dir = path.join(tmp, name);
    const train = synthetic(12, 28, 28, 3);
    const test = synthetic(7, 28, 28, 5);
    const files: Record<MnistFileName, Uint8Array> = {
      [MNIST_FILES.trainImages]: train.images,
      [MNIST_FILES.trainLabels]: train.labels,
      [MNIST_FILES.testImages]: test.images,
      [MNIST_FILES.testLabels]: test.labels,
    };
    const expected = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha256(v)])) as Record<
      MnistFileName,
      string
    >;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) {
      const data =
        opts.corruptLabels && name === MNIST_FILES.testLabels ? bytes.map((b, i) => (i === 9 ? b ^ 1 : b)) : bytes;
      writeFileSync(path.join(dir, opts.gzip ? `${name}.gz` : name), opts.gzip ? gzipSync(data) : data);
    }
    return { dir, expected, train, test };
  }

  it('loads gzip and raw files as [N, 28, 28, 1] in [0, 1] with labels', async () => {
    for (const gzip of [true, false]) {
      const { dir, expected, train, test } = makeDir(gzip ? 'gz' : 'raw', { gzip });
      const data = await loadMnist({ dataDir: dir, expected, onProgress: () => {} });
      expect(data.dataDir).toBe(path.resolve(dir));
      expect(data.train.images.shape).toEqual([12, 28, 28, 1]);
      expect(data.test.images.shape).toEqual([7, 28, 28, 1]);
      expect(data.train.images.data[5]).toBeCloseTo(train.pixels[5] / 255, 7);
      expect(Array.from(data.test.labels)).toEqual(test.labelList);
      const slice = await loadMnist({ dataDir: dir, expected, limitTrain: 3, limitTest: 2 });
      expect(slice.train.images.shape).toEqual([3, 28, 28, 1]);
      expect(slice.test.labels.length).toBe(2);
    }
  });

  it('rejects a file whose checksum does not match, naming the file', async () => {
    const { dir, expected } = makeDir('corrupt', { gzip: true, corruptLabels: true });
    const file = path.join(path.resolve(dir), `${MNIST_FILES.testLabels}.gz`);
    await expect(loadMnist({ dataDir: dir, expected })).rejects.toThrow(
      `${file}: SHA-256 of the uncompressed data is`,
    );
    // The whole file is checksummed even when only a slice is asked for.
    await expect(loadMnistSplit('test', { dataDir: dir, expected, limit: 1 })).rejects.toThrow(file);
  });

  it('rejects the real MNIST checksums for synthetic files', async () => {
    const { dir } = makeDir('real-sums', { gzip: true });
    await expect(loadMnistSplit('train', { dataDir: dir })).rejects.toThrow(/train-images-idx3-ubyte\.gz: SHA-256/);
  });

  it('says how to fix a folder that does not exist, naming the option the caller used', async () => {
    const dir = path.join(tmp, 'nowhere');
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(
      `MNIST not found in ${dir} (no such folder): point dataDir at a folder with train-images-idx3-ubyte.gz`,
    );
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(/or omit it to download into data\/mnist$/);
    await expect(loadMnist({ dataDir: dir, optionName: '--data-dir' })).rejects.toThrow(
      `MNIST not found in ${dir} (no such folder): point --data-dir at a folder with`,
    );
    await expect(loadMnist({ dataDir: dir, dataset: 'fashion-mnist' })).rejects.toThrow(
      /^Fashion-MNIST not found in .*or omit it to download into data\/fashion-mnist$/,
    );
  });
});
