// A decompression bomb: a valid header for 10 images of 28x28 followed by 200 MB of zeros, which
// gzip packs into ~200 KB. Kept in its own file (its own process under the forks pool) so that the
// process's peak RSS tells whether the loader inflated it all.
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeIdxImages, encodeIdxLabels, readIdxImages } from '../src/data/idx.ts';
import { loadMnistSplit, MNIST_FILES } from '../src/data/mnist.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'data-bomb-'));
const bomb = path.join(tmp, `${MNIST_FILES.testImages}.gz`);
const ZEROS_MB = 200;

beforeAll(async () => {
  const header = encodeIdxImages(new Uint8Array(0), 0, 28, 28);
  new DataView(header.buffer).setUint32(4, 10); // declares 10 images: 16 + 7840 bytes
  const zeros = new Uint8Array(1 << 20);
  await pipeline(
    (function* () {
      yield header;
      for (let i = 0; i < ZEROS_MB; i++) yield zeros;
    })(),
    createGzip({ level: 1 }),
    createWriteStream(bomb),
  );
  writeFileSync(path.join(tmp, MNIST_FILES.testLabels), encodeIdxLabels(new Array(10).fill(0)));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Peak resident memory of this process so far, in MB. */
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

describe('decompression bomb', () => {
  it('fails fast naming the file, without inflating the 200 MB', async () => {
    expect(statSync(bomb).size).toBeLessThan(2 << 20);
    const before = peakRssMb();
    const started = performance.now();
    await expect(readIdxImages(bomb)).rejects.toThrow(
      `${bomb}: too long: inflates to more than 7856 bytes, expected exactly 7856 (16-byte header + 10 images of 28x28)`,
    );
    // Through the loader too (unverified, so the size bound is what stops it).
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await expect(loadMnistSplit('test', { dataDir: tmp, verify: false })).rejects.toThrow(`${bomb}: too long`);
    } finally {
      warn.mockRestore();
    }
    expect(performance.now() - started).toBeLessThan(2000);
    // Inflating it all would hold 200 MB at once.
    expect(peakRssMb() - before).toBeLessThan(50);
  });
});
