/**
 * IDX file parsing (the format of the original MNIST distribution).
 *
 * Layout, all integers big-endian:
 *   images: magic 0x00000803 (2051), count, rows, cols, then count*rows*cols unsigned bytes
 *   labels: magic 0x00000801 (2049), count, then count unsigned bytes (class ids)
 * Files may be gzip-compressed (detected by the 1f 8b magic bytes) or raw.
 *
 * A gzip file is inflated as a stream and never past the size its header declares, so a small
 * file that inflates to gigabytes (a decompression bomb) fails after its first chunk.
 *
 * Every error names the file and what is wrong with it. Nothing here touches files (idx.ts reads
 * them in Node; a browser fetches them), and gzip is inflated with the standard DecompressionStream,
 * which Node and browsers both have.
 */

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

/** Largest IDX data accepted (header included); MNIST's largest file is 47 MB. */
export const MAX_IDX_BYTES = 1024 ** 3;
/** Most images or labels an IDX file may declare (MNIST has 60 000). */
export const MAX_IDX_ITEMS = 100_000_000;

export type IdxKind = 'images' | 'labels';

const LAYOUT: Record<IdxKind, { magic: number; dims: number }> = {
  images: { magic: IDX_IMAGES_MAGIC, dims: 3 },
  labels: { magic: IDX_LABELS_MAGIC, dims: 1 },
};

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

interface IdxHeader {
  /** count, then rows and cols for images. */
  dims: number[];
  /** Header plus data: the exact size of a valid file. */
  totalBytes: number;
  /** What the header declares, for messages: "16-byte header + 10 images of 28x28". */
  declared: string;
}

/**
 * Reads and checks the header at the start of `bytes` (the rest of the file is not needed):
 * the magic number first, then the length, then that the declared size is sane.
 */
function readHeader(bytes: Uint8Array, filePath: string, kind: IdxKind): IdxHeader {
  const layout = LAYOUT[kind];
  const headerBytes = 4 + 4 * layout.dims;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 4) checkMagic(view.getUint32(0, false), layout.magic, filePath, kind);
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(
      filePath,
      `too short for an IDX ${kind} header: ${bytes.length} bytes, need at least ${headerBytes}`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < layout.dims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const [count, rows, cols] = dims;
  if (kind === 'images' && (rows === 0 || cols === 0)) {
    throw new IdxFormatError(filePath, `invalid image dimensions ${rows}x${cols}`);
  }
  const declared =
    kind === 'images'
      ? `${headerBytes}-byte header + ${count} images of ${rows}x${cols}`
      : `${headerBytes}-byte header + ${count} labels`;
  // Products of up to three 32-bit numbers lose precision as doubles, but not enough to pass this check.
  const totalBytes = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (count > MAX_IDX_ITEMS || totalBytes > MAX_IDX_BYTES) {
    throw new IdxFormatError(
      filePath,
      `the header declares an absurd size (${declared}, ${totalBytes} bytes); ` +
        `at most ${MAX_IDX_ITEMS} ${kind} and ${MAX_IDX_BYTES} bytes are accepted`,
    );
  }
  return { dims, totalBytes, declared };
}

function checkMagic(magic: number, expected: number, filePath: string, kind: IdxKind): void {
  if (magic === expected) return;
  const other = expected === IDX_IMAGES_MAGIC ? IDX_LABELS_MAGIC : IDX_IMAGES_MAGIC;
  const hint = magic === other ? ` (that is the magic of an IDX ${kind === 'images' ? 'labels' : 'images'} file: files swapped?)` : '';
  throw new IdxFormatError(
    filePath,
    `wrong magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expected} ` +
      `(0x${expected.toString(16).padStart(8, '0')}) for IDX ${kind}${hint}`,
  );
}

function checkLength(bytes: Uint8Array, header: IdxHeader, filePath: string): void {
  if (bytes.length === header.totalBytes) return;
  const problem = bytes.length < header.totalBytes ? 'truncated' : 'too long';
  throw new IdxFormatError(
    filePath,
    `${problem}: ${bytes.length} bytes, expected exactly ${header.totalBytes} (${header.declared})`,
  );
}

/**
 * The uncompressed bytes of an IDX file: gzip data is inflated, raw data returned as is.
 * Inflating stops with an error as soon as the output passes the size the header declares.
 */
export async function inflateIdx(bytes: Uint8Array, filePath: string, kind: IdxKind): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const headerBytes = 4 + 4 * LAYOUT[kind].dims;
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  let head = new Uint8Array(0); // output gathered until the header is complete
  let header: IdxHeader | undefined;
  let out = new Uint8Array(0);
  let filled = 0;
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      let data: Uint8Array = chunk;
      if (!header) {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined;
        if (head.length < headerBytes) continue;
        header = readHeader(head, filePath, kind);
        out = new Uint8Array(header.totalBytes);
        data = head;
      }
      if (filled + data.length > out.length) {
        // Cancelling the stream stops the inflation: the rest is never inflated.
        throw new IdxFormatError(
          filePath,
          `too long: inflates to more than ${header.totalBytes} bytes, expected exactly ${header.totalBytes} (${header.declared})`,
        );
      }
      out.set(data, filled);
      filled += data.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    if (err instanceof IdxFormatError) throw err;
    throw new IdxFormatError(filePath, `corrupt or truncated gzip data (${(err as Error).message})`);
  }
  if (!header) return head; // shorter than a header: the parser says so
  return out.subarray(0, filled);
}

export interface ParseOptions {
  /** Keep only the first `limit` items (the whole file is still validated). */
  limit?: number;
}

export interface ParseLabelsOptions extends ParseOptions {
  /** Labels must be integers 0..classes-1. Default 10. */
  classes?: number;
}

function applyLimit(count: number, limit: number | undefined, filePath: string): number {
  if (limit === undefined) return count;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new IdxFormatError(filePath, `limit must be a non-negative integer, got ${limit}`);
  }
  return Math.min(count, limit);
}

function refuseGzip(bytes: Uint8Array, filePath: string): void {
  if (isGzip(bytes)) {
    throw new IdxFormatError(filePath, 'gzip data: inflate it first (inflateIdx), or use readIdxImages/readIdxLabels');
  }
}

/** Parses an uncompressed IDX images file. */
export function parseIdxImages(bytes: Uint8Array, filePath: string, options: ParseOptions = {}): IdxImages {
  refuseGzip(bytes, filePath);
  const header = readHeader(bytes, filePath, 'images');
  checkLength(bytes, header, filePath);
  const [count, rows, cols] = header.dims;
  const n = applyLimit(count, options.limit, filePath);
  return { pixels: bytes.subarray(16, 16 + n * rows * cols), count: n, rows, cols };
}

/** Parses an uncompressed IDX labels file; every label must be 0..classes-1. */
export function parseIdxLabels(bytes: Uint8Array, filePath: string, options: ParseLabelsOptions = {}): IdxLabels {
  refuseGzip(bytes, filePath);
  const classes = options.classes ?? 10;
  const header = readHeader(bytes, filePath, 'labels');
  checkLength(bytes, header, filePath);
  const labels = bytes.subarray(8);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) {
      throw new IdxFormatError(filePath, `label ${labels[i]} at index ${i} is out of range 0-${classes - 1}`);
    }
  }
  const n = applyLimit(header.dims[0], options.limit, filePath);
  return { labels: labels.subarray(0, n), count: n };
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
