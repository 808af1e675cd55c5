import { MNIST_DIR } from './paths.ts';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdxImages, encodeIdxLabels } from '../src/data/idx.ts';
import {
  type DownloadProgress,
  loadMnist,
  loadMnistSplit,
  MNIST_FILES,
  type MnistFileName,
} from '../src/data/mnist.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnist-dl-test-'));

function synthetic(count: number, seed: number) {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 17) % 256;
  const labels = Array.from({ length: count }, (_, i) => (i + seed) % 10);
  return { images: encodeIdxImages(pixels, count, 28, 28), labels: encodeIdxLabels(labels), labelList: labels };
}

const train = synthetic(50, 1);
const test = synthetic(20, 2);
const raw: Record<MnistFileName, Uint8Array> = {
  [MNIST_FILES.trainImages]: train.images,
  [MNIST_FILES.trainLabels]: train.labels,
  [MNIST_FILES.testImages]: test.images,
  [MNIST_FILES.testLabels]: test.labels,
};
const expected = Object.fromEntries(
  Object.entries(raw).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')]),
) as Record<MnistFileName, string>;
const gz = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`${k}.gz`, gzipSync(v)])) as Record<string, Buffer>;

/** Requests seen by the server, as "/mode/file". */
const requests: string[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const [, mode, file] = (req.url ?? '').split('/');
    const body = gz[file];
    if (!body || mode === 'missing') {
      res.writeHead(404).end('not found');
      return;
    }
    switch (mode) {
      case 'good':
        res.writeHead(200, { 'content-length': body.length }).end(body);
        return;
      case 'redirect':
        res.writeHead(302, { location: `/good/${file}` }).end();
        return;
      case 'corrupt': {
        // Valid gzip of slightly different content: the checksum must catch it.
        const bad = Buffer.from(raw[file.replace(/\.gz$/, '') as MnistFileName]);
        bad[bad.length - 1] ^= 0xff;
        const z = gzipSync(bad);
        res.writeHead(200, { 'content-length': z.length }).end(z);
        return;
      }
      case 'drop':
        // Promise the whole file, send half, then drop the connection.
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case 'drop-chunked':
        // No Content-Length: only gunzip/the checksum can tell the file is incomplete.
        res.writeHead(200);
        res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case 'encoded':
        // A server that labels the .gz file as gzip transfer encoding: fetch hands over the inflated IDX.
        res.writeHead(200, { 'content-length': body.length, 'content-encoding': 'gzip' }).end(body);
        return;
      case 'bomb': {
        // The right header, then a megabyte of zeros past the size it declares.
        const good = raw[file.replace(/\.gz$/, '') as MnistFileName];
        const z = gzipSync(Buffer.concat([good, new Uint8Array(1 << 20)]));
        res.writeHead(200, { 'content-length': z.length }).end(z);
        return;
      }
      case 'stall':
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, 10)); // then nothing
        return;
      default:
        res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = () => path.join(tmp, `d${dirCount++}`);
const mirror = (mode: string) => `${base}/${mode}/`;

/** Files in dir ([] when the folder does not exist: a failed download removes the folder it created). */
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

function expectClean(dir: string): void {
  if (!existsSync(dir)) return;
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
}

describe('MNIST download from mirrors (local server)', () => {
  it('downloads, verifies and saves the missing files, reporting progress', async () => {
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const data = await loadMnist({
      dataDir: dir,
      download: true,
      mirrors: [mirror('good')],
      expected,
      onProgress: (p) => events.push(p),
    });
    expect(data.train.images.shape).toEqual([50, 28, 28, 1]);
    expect(Array.from(data.test.labels)).toEqual(test.labelList);
    expect(readdirSync(dir).sort()).toEqual(Object.keys(gz).sort());
    const done = events.filter((e) => e.status === 'done');
    expect(done.map((e) => e.file).sort()).toEqual(Object.keys(gz).sort());
    for (const e of done) expect(e.receivedBytes).toBe(e.totalBytes);
    expect(events.some((e) => e.status === 'start' && e.totalBytes === gz[e.file].length)).toBe(true);

    // Second load: everything is on disk, nothing is requested.
    const before = requests.length;
    const again = await loadMnist({ dataDir: dir, mirrors: [mirror('good')], expected, limitTrain: 5 });
    expect(again.train.images.shape).toEqual([5, 28, 28, 1]);
    expect(requests.length).toBe(before);
  });

  it('rejects a corrupt download, deletes it and uses the fallback mirror', async () => {
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const got = await loadMnistSplit('test', {
      dataDir: dir,
      download: true,
      mirrors: [mirror('corrupt'), mirror('good')],
      expected,
      onProgress: (p) => events.push(p),
    });
    expect(got.labels.length).toBe(20);
    const failed = events.filter((e) => e.status === 'failed');
    expect(failed).toHaveLength(2);
    for (const f of failed) {
      expect(f.url).toContain('/corrupt/');
      expect(f.error).toMatch(/^corrupt: SHA-256 of the uncompressed data is [0-9a-f]{64}, expected/);
    }
    expectClean(dir);
    expect(readdirSync(dir).sort()).toEqual([`${MNIST_FILES.testImages}.gz`, `${MNIST_FILES.testLabels}.gz`]);
  });

  it('rejects a connection dropped mid-file, leaves nothing behind, and falls back', async () => {
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const got = await loadMnistSplit('test', {
      dataDir: dir,
      download: true,
      mirrors: [mirror('drop'), mirror('redirect')],
      expected,
      onProgress: (p) => events.push(p),
    });
    expect(got.images.shape).toEqual([20, 28, 28, 1]);
    const failed = events.filter((e) => e.status === 'failed');
    expect(failed.length).toBe(2);
    for (const f of failed) expect(f.error).toMatch(/connection dropped|aborted|incomplete|ECONNRESET/);
    expectClean(dir);
  });

  it('when every mirror fails, the error lists each failure and no file is left', async () => {
    const dir = freshDir();
    const attempt = loadMnistSplit('test', {
      dataDir: dir,
      download: true,
      mirrors: [mirror('missing'), mirror('drop'), mirror('drop-chunked'), mirror('corrupt')],
      expected,
      onProgress: () => {},
    });
    const err: Error = await attempt.then(
      () => {
        throw new Error('should have failed');
      },
      (e: Error) => e,
    );
    expect(err.message).toContain(`could not download ${MNIST_FILES.testImages}.gz into ${dir}`);
    expect(err.message).toContain(`${mirror('missing')}${MNIST_FILES.testImages}.gz: HTTP 404`);
    expect(err.message).toMatch(new RegExp(`${mirror('drop')}\\S+: (connection dropped|incomplete|connection error)`));
    expect(err.message).toMatch(new RegExp(`${mirror('drop-chunked')}\\S+: \\S`));
    expect(err.message).toContain(`${mirror('corrupt')}${MNIST_FILES.testImages}.gz: corrupt: SHA-256`);
    expect(listing(dir)).toEqual([]);
  });

  it('gives up on a stalled connection after the timeout', async () => {
    const dir = freshDir();
    const started = Date.now();
    await expect(
      loadMnistSplit('test', {
        dataDir: dir,
        download: true,
        mirrors: [mirror('stall')],
        expected,
        timeoutMs: 300,
        onProgress: () => {},
      }),
    ).rejects.toThrow(/stalled: no data for/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(listing(dir)).toEqual([]);
  });

  it('reads the mirrors from MNIST_MIRRORS when none are given', async () => {
    const dir = freshDir();
    const saved = process.env.MNIST_MIRRORS;
    process.env.MNIST_MIRRORS = `${mirror('missing')}, ${mirror('good')}`;
    try {
      const got = await loadMnistSplit('train', { dataDir: dir, download: true, expected, onProgress: () => {} });
      expect(got.labels.length).toBe(50);
    } finally {
      if (saved === undefined) delete process.env.MNIST_MIRRORS;
      else process.env.MNIST_MIRRORS = saved;
    }
  });

  it('rejects a download that inflates past its declared size, and falls back', async () => {
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const got = await loadMnistSplit('test', {
      dataDir: dir,
      download: true,
      mirrors: [mirror('bomb'), mirror('good')],
      expected,
      onProgress: (p) => events.push(p),
    });
    expect(got.labels.length).toBe(20);
    const failed = events.filter((e) => e.status === 'failed');
    expect(failed.map((f) => f.error)).toEqual([
      `too long: inflates to more than ${raw[MNIST_FILES.testImages].length} bytes, expected exactly ${raw[MNIST_FILES.testImages].length} (16-byte header + 20 images of 28x28)`,
      `too long: inflates to more than ${raw[MNIST_FILES.testLabels].length} bytes, expected exactly ${raw[MNIST_FILES.testLabels].length} (8-byte header + 20 labels)`,
    ]);
    expectClean(dir);
  });

  it('accepts a server that sends the file with Content-Encoding: gzip, saving it uncompressed', async () => {
    const dir = freshDir();
    const got = await loadMnistSplit('test', {
      dataDir: dir,
      download: true,
      mirrors: [mirror('encoded')],
      expected,
      onProgress: () => {},
    });
    expect(Array.from(got.labels)).toEqual(test.labelList);
    expect(readdirSync(dir).sort()).toEqual([MNIST_FILES.testImages, MNIST_FILES.testLabels]);
  });

  it('names the network error of a mirror that refuses the connection', async () => {
    const dir = freshDir();
    // A loopback port that was free a moment ago: nothing listens there.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/`;
    await expect(
      loadMnistSplit('test', { dataDir: dir, download: true, mirrors: [url], expected, onProgress: () => {} }),
    ).rejects.toThrow(`${url}${MNIST_FILES.testImages}.gz: connect ECONNREFUSED`);
    // fetch's blocked ports get a message that says so.
    await expect(
      loadMnistSplit('test', { dataDir: dir, download: true, mirrors: ['http://127.0.0.1:1/'], expected, onProgress: () => {} }),
    ).rejects.toThrow('http://127.0.0.1:1/t10k-images-idx3-ubyte.gz: port 1 is one that fetch refuses to connect to');
    expect(listing(dir)).toEqual([]);
  });

  it('downloads Fashion-MNIST from FASHION_MNIST_MIRRORS (MNIST_MIRRORS is for MNIST)', async () => {
    const dir = freshDir();
    const saved = { f: process.env.FASHION_MNIST_MIRRORS, m: process.env.MNIST_MIRRORS };
    process.env.FASHION_MNIST_MIRRORS = mirror('good');
    process.env.MNIST_MIRRORS = mirror('missing');
    try {
      const got = await loadMnistSplit('test', {
        dataDir: dir,
        dataset: 'fashion-mnist',
        download: true,
        expected,
        onProgress: () => {},
      });
      expect(got.dataset).toBe('fashion-mnist');
      expect(got.labels.length).toBe(20);
    } finally {
      for (const [key, value] of [['FASHION_MNIST_MIRRORS', saved.f], ['MNIST_MIRRORS', saved.m]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('does not download into an explicit folder unless asked', async () => {
    const dir = freshDir();
    const before = requests.length;
    await expect(loadMnist({ dataDir: dir, mirrors: [mirror('good')], expected })).rejects.toThrow(
      /MNIST not found in .*: point dataDir at a folder with/,
    );
    expect(requests.length).toBe(before);
  });
});

const REAL = MNIST_DIR;

describe.skipIf(!REAL)('real MNIST (read-only shared copy)', () => {
  it('loads a slice of the test set: shapes, value range, labels', async () => {
    const { images, labels, dataDir } = await loadMnistSplit('test', { dataDir: REAL, limit: 500 });
    expect(dataDir).toBe(REAL);
    expect(images.shape).toEqual([500, 28, 28, 1]);
    expect(labels.length).toBe(500);
    let min = Infinity;
    let max = -Infinity;
    for (const v of images.data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // The first test labels of MNIST are well known: 7 2 1 0 4 1 4 9 5 9.
    expect(Array.from(labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    const counts = new Array(10).fill(0);
    for (const l of labels) counts[l]++;
    expect(counts.every((c) => c > 20)).toBe(true);
    // Pixel values are byte / 255 (float32).
    expect(images.data.every((v) => Math.fround(Math.round(v * 255) / 255) === v)).toBe(true);
  });
});
