/**
 * IDX file parsing (the format of the original MNIST distribution).
 *
 * Layout, all integers big-endian:
 *   images: magic 0x00000803 (2051), count, rows, cols, then count*rows*cols unsigned bytes
 *   labels: magic 0x00000801 (2049), count, then count unsigned bytes (class ids 0-9)
 * Files may be gzip-compressed (detected by the 1f 8b magic bytes) or raw.
 *
 * Every error names the file and what is wrong with it.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  /** count*rows*cols bytes, image after image, row-major, 0 = background. */
  pixels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface IdxLabels {
  labels: Uint8Array;
  count: number;
}

/** An error about the contents of a data file; `filePath` names the file. */
export class IdxFormatError extends Error {
  readonly filePath: string;
  constructor(filePath: string, problem: string) {
    super(`${filePath}: ${problem}`);
    this.name = 'IdxFormatError';
    this.filePath = filePath;
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Returns the bytes uncompressed if they are gzip, unchanged otherwise. */
export function gunzipIfNeeded(bytes: Uint8Array, filePath: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new IdxFormatError(filePath, `corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

/** Reads the header words, checking the magic number (first word) before the header's length. */
function header(bytes: Uint8Array, filePath: string, words: number, what: 'images' | 'labels'): number[] {
  if (bytes.length >= 4) {
    const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
    checkMagic(magic, what === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC, filePath, what);
  }
  if (bytes.length < words * 4) {
    throw new IdxFormatError(
      filePath,
      `too short for an IDX ${what} header: ${bytes.length} bytes, need at least ${words * 4}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < words; i++) out.push(view.getUint32(i * 4, false));
  return out;
}

function checkMagic(magic: number, expected: number, filePath: string, what: string): void {
  if (magic === expected) return;
  const other = expected === IDX_IMAGES_MAGIC ? IDX_LABELS_MAGIC : IDX_IMAGES_MAGIC;
  const hint =
    magic === other
      ? ` (that is the magic of an IDX ${expected === IDX_IMAGES_MAGIC ? 'labels' : 'images'} file: files swapped?)`
      : '';
  throw new IdxFormatError(
    filePath,
    `wrong magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expected} ` +
      `(0x${expected.toString(16).padStart(8, '0')}) for IDX ${what}${hint}`,
  );
}

function checkLength(bytes: Uint8Array, expected: number, filePath: string, detail: string): void {
  if (bytes.length === expected) return;
  const problem = bytes.length < expected ? 'truncated' : 'too long';
  throw new IdxFormatError(
    filePath,
    `${problem}: ${bytes.length} bytes, expected exactly ${expected} (${detail})`,
  );
}

export interface ParseOptions {
  /** Keep only the first `limit` items (the whole file is still validated). */
  limit?: number;
}

function applyLimit(count: number, limit: number | undefined, filePath: string): number {
  if (limit === undefined) return count;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new IdxFormatError(filePath, `limit must be a non-negative integer, got ${limit}`);
  }
  return Math.min(count, limit);
}

/** Parses an IDX images file (gzip or raw bytes). */
export function parseIdxImages(raw: Uint8Array, filePath: string, options: ParseOptions = {}): IdxImages {
  const bytes = gunzipIfNeeded(raw, filePath);
  const [, count, rows, cols] = header(bytes, filePath, 4, 'images');
  if (rows === 0 || cols === 0) {
    throw new IdxFormatError(filePath, `invalid image dimensions ${rows}x${cols}`);
  }
  const expected = 16 + count * rows * cols;
  checkLength(bytes, expected, filePath, `16-byte header + ${count} images of ${rows}x${cols}`);
  const n = applyLimit(count, options.limit, filePath);
  return { pixels: bytes.subarray(16, 16 + n * rows * cols), count: n, rows, cols };
}

/** Parses an IDX labels file (gzip or raw bytes); every label must be 0-9. */
export function parseIdxLabels(raw: Uint8Array, filePath: string, options: ParseOptions = {}): IdxLabels {
  const bytes = gunzipIfNeeded(raw, filePath);
  const [, count] = header(bytes, filePath, 2, 'labels');
  checkLength(bytes, 8 + count, filePath, `8-byte header + ${count} labels`);
  const labels = bytes.subarray(8);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) {
      throw new IdxFormatError(filePath, `label ${labels[i]} at index ${i} is out of range 0-9`);
    }
  }
  const n = applyLimit(count, options.limit, filePath);
  return { labels: labels.subarray(0, n), count: n };
}

async function readBytes(filePath: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(filePath);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new IdxFormatError(filePath, e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.message})`);
  }
}

export async function readIdxImages(filePath: string, options: ParseOptions = {}): Promise<IdxImages> {
  return parseIdxImages(await readBytes(filePath), filePath, options);
}

export async function readIdxLabels(filePath: string, options: ParseOptions = {}): Promise<IdxLabels> {
  return parseIdxLabels(await readBytes(filePath), filePath, options);
}

/** Builds an IDX images file (raw, uncompressed): for tests and synthetic data. */
export function encodeIdxImages(pixels: Uint8Array, count: number, rows: number, cols: number): Uint8Array {
  if (pixels.length !== count * rows * cols) {
    throw new Error(`encodeIdxImages: ${pixels.length} pixels, expected ${count}*${rows}*${cols}`);
  }
  const out = new Uint8Array(16 + pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IDX_IMAGES_MAGIC);
  view.setUint32(4, count);
  view.setUint32(8, rows);
  view.setUint32(12, cols);
  out.set(pixels, 16);
  return out;
}

/** Builds an IDX labels file (raw, uncompressed): for tests and synthetic data. */
export function encodeIdxLabels(labels: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(8 + labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IDX_LABELS_MAGIC);
  view.setUint32(4, labels.length);
  for (let i = 0; i < labels.length; i++) out[8 + i] = labels[i];
  return out;
}
