/**
 * MNIST: locate the IDX files, verify them, download them when missing, and turn them into tensors.
 *
 * Folder lookup order: options.dataDir (CLI --data-dir), env MNIST_DIR, then `data/mnist` in the
 * project root (resolved from this file, not from the working directory). Files may be named
 * `train-images-idx3-ubyte.gz` (gzip) or `train-images-idx3-ubyte` (raw). The SHA-256 of the
 * *uncompressed* bytes is checked against the original distribution.
 *
 * Downloads are written atomically: `<file>.tmp-<pid>` in the same folder, fsynced, gunzipped and
 * checksummed, then renamed into place. A corrupt or partial download is deleted and the next mirror is tried.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../tensor.ts';
import { IdxFormatError, type IdxKind, inflateIdx, isGzip, parseIdxImages, parseIdxLabels, readIdxBytes } from './idx.ts';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
export type MnistFileName = (typeof MNIST_FILES)[keyof typeof MNIST_FILES];

/** SHA-256 of the uncompressed original files. */
export const MNIST_SHA256: Readonly<Record<MnistFileName, string>> = {
  'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};

/** Public HTTPS mirrors of the original gzip IDX files, tried in order. Override with `mirrors` or env MNIST_MIRRORS. */
export const DEFAULT_MIRRORS: readonly string[] = [
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
];

/** `data/mnist` in the project root. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data/mnist', import.meta.url));

/** Abort a download when the connection is silent this long. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Abort a download that takes longer than this in all, however steadily data trickles in. */
const DOWNLOAD_DEADLINE_MS = 15 * 60_000;
/** Refuse to download more than this per file (the largest raw file is 47 MB). */
const MAX_DOWNLOAD_BYTES = 128 * 1024 * 1024;

export interface DownloadProgress {
  /** File name as saved, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  url: string;
  receivedBytes: number;
  /** From Content-Length; undefined when the server does not say. */
  totalBytes: number | undefined;
  status: 'start' | 'progress' | 'done' | 'failed';
  /** The reason, when status is 'failed' (the next mirror is tried). */
  error?: string;
}

export interface LoadMnistOptions {
  /** Folder with the IDX files. Default: env MNIST_DIR, else `data/mnist` in the project root. */
  dataDir?: string;
  /**
   * Download missing files. Default: true for the default `data/mnist` folder, false for a folder
   * given by `dataDir` or MNIST_DIR (a missing explicit folder is an error that says how to fix it).
   */
  download?: boolean;
  /** Download progress. Default: a reporter on stderr. Pass `() => {}` for silence. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Keep only the first N training / test examples (the whole file is still checksummed). */
  limitTrain?: number;
  limitTest?: number;
  /** Base URLs (ending with or without '/'), tried in order. Default: env MNIST_MIRRORS (comma separated), else DEFAULT_MIRRORS. */
  mirrors?: string[];
  /** Expected SHA-256 of the uncompressed files; null skips the check for that file. Default: MNIST_SHA256. */
  expected?: Partial<Record<MnistFileName, string | null>>;
  /** Idle timeout for a download connection, in ms. Default 30 s. */
  timeoutMs?: number;
}

export interface MnistSplit {
  /** [N, rows, cols, 1] (28x28 for MNIST), float32 = byte / 255. */
  images: Tensor;
  /** Class ids 0-9. */
  labels: Uint8Array;
}

export interface MnistData {
  train: MnistSplit;
  test: MnistSplit;
  /** The folder the files were read from (absolute). */
  dataDir: string;
}

type DirSource = 'option' | 'env' | 'default';

/** Where MNIST is looked for, and why. */
export function resolveMnistDir(options: { dataDir?: string } = {}): { dir: string; source: DirSource } {
  if (options.dataDir) {
    const dir = path.resolve(options.dataDir);
    // `loadMnist({ dataDir: 'data/mnist' })` from the project root names the default folder: it may download.
    return { dir, source: dir === DEFAULT_DATA_DIR ? 'default' : 'option' };
  }
  const env = process.env.MNIST_DIR;
  if (env) return { dir: path.resolve(env), source: 'env' };
  return { dir: DEFAULT_DATA_DIR, source: 'default' };
}

function mirrorsFrom(options: LoadMnistOptions): string[] {
  if (options.mirrors && options.mirrors.length > 0) return options.mirrors;
  const env = process.env.MNIST_MIRRORS;
  if (env) {
    const list = env.split(/[\s,]+/).filter(Boolean);
    if (list.length > 0) return list;
  }
  return [...DEFAULT_MIRRORS];
}

function expectedFor(options: LoadMnistOptions, name: MnistFileName): string | null {
  const e = options.expected;
  if (e && name in e) return e[name] ?? null;
  return MNIST_SHA256[name];
}

function kindOf(name: MnistFileName): IdxKind {
  return name === MNIST_FILES.trainImages || name === MNIST_FILES.testImages ? 'images' : 'labels';
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The path of `name` in `dir` (gzip or raw; also the `train-images.idx3-ubyte` spelling), or undefined. */
export async function findMnistFile(dir: string, name: MnistFileName): Promise<string | undefined> {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1');
  for (const candidate of [`${name}.gz`, name, `${dotted}.gz`, dotted]) {
    const p = path.join(dir, candidate);
    if (await exists(p)) return p;
  }
  return undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checksumProblem(actual: string, expected: string): string {
  return `SHA-256 of the uncompressed data is ${actual}, expected ${expected}`;
}

function missingError(dir: string, source: DirSource, missing: string[], dirExists: boolean): Error {
  const files = Object.values(MNIST_FILES).map((n) => `${n}.gz`).join(', ');
  const what = dirExists ? `MNIST not found in ${dir} (missing ${missing.join(', ')})` : `MNIST not found in ${dir} (no such folder)`;
  const fix =
    source === 'env'
      ? `set MNIST_DIR to a folder with ${files} (gzip or uncompressed), or unset it to download into data/mnist`
      : source === 'option'
        ? `pass --data-dir pointing at a folder with ${files} (gzip or uncompressed), or omit it to download into data/mnist`
        : `put ${files} there, or allow the download`;
  return new Error(`${what}: ${fix}`);
}

// ---------------------------------------------------------------------------------------------
// Download

/** A stderr progress reporter: a live line on a TTY, start/done lines otherwise. */
export function stderrDownloadProgress(stream: NodeJS.WriteStream = process.stderr): (p: DownloadProgress) => void {
  let last = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => {
    const tty = Boolean(stream.isTTY);
    const host = (() => {
      try {
        return new URL(p.url).host;
      } catch {
        return p.url;
      }
    })();
    const amount = p.totalBytes
      ? `${mb(p.receivedBytes)}/${mb(p.totalBytes)} MB (${Math.floor((100 * p.receivedBytes) / p.totalBytes)}%)`
      : `${mb(p.receivedBytes)} MB`;
    if (p.status === 'start') {
      last = 0;
      if (!tty) stream.write(`Downloading ${p.url}\n`);
    } else if (p.status === 'progress') {
      const now = Date.now();
      if (tty && now - last >= 100) {
        last = now;
        stream.write(`\rDownloading ${p.file} from ${host}  ${amount}\x1b[K`);
      }
    } else if (p.status === 'done') {
      stream.write(`${tty ? '\r' : ''}Downloaded ${p.file} from ${host}  ${amount}, verified${tty ? '\x1b[K' : ''}\n`);
    } else {
      stream.write(`${tty ? '\r' : ''}Download of ${p.file} from ${host} failed: ${p.error}${tty ? '\x1b[K' : ''}\n`);
    }
  };
}

interface FetchOptions {
  timeoutMs: number;
  onChunk: (received: number, total: number | undefined) => void;
  onStart: (total: number | undefined) => void;
}

/** A download failure whose message is already final (not a network error to describe). */
class DownloadFailure extends Error {}

/** "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1" from fetch's "fetch failed" and its cause. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const e = cause instanceof Error ? cause : (err as Error);
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
}

/**
 * Streams `url` into a new file `dest` with fetch (follows redirects), then fsyncs it. Fails on a
 * connection silent for `timeoutMs`, on a body shorter than its Content-Length, and past MAX_DOWNLOAD_BYTES.
 */
async function fetchToFile(url: string, dest: string, options: FetchOptions): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid URL ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`unsupported protocol ${parsed.protocol}`);
  // The idle timer restarts on every chunk; AbortSignal.timeout bounds the whole download.
  const idle = new AbortController();
  const timer = setTimeout(() => idle.abort(), options.timeoutMs);
  const signal = AbortSignal.any([idle.signal, AbortSignal.timeout(DOWNLOAD_DEADLINE_MS)]);
  let responded = false;
  let received = 0;
  let file: FileHandle | undefined;
  try {
    const res = await fetch(parsed, {
      signal,
      headers: { 'user-agent': 'wasm-mnist-engine', 'accept-encoding': 'identity' },
    });
    responded = true;
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new DownloadFailure(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    }
    // fetch undoes a Content-Encoding, after which Content-Length no longer counts the bytes we see.
    const lengthHeader = res.headers.get('content-encoding') ? null : res.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (total !== undefined && total > MAX_DOWNLOAD_BYTES) {
      await res.body.cancel();
      throw new DownloadFailure(`file too large (${total} bytes)`);
    }
    options.onStart(total);
    try {
      file = await open(dest, 'wx');
    } catch (err) {
      throw new DownloadFailure(`cannot write ${dest}: ${(err as Error).message}`);
    }
    for await (const chunk of res.body) {
      timer.refresh();
      received += chunk.length;
      if (received > MAX_DOWNLOAD_BYTES) throw new DownloadFailure(`file too large (over ${MAX_DOWNLOAD_BYTES} bytes)`);
      options.onChunk(received, total);
      try {
        await file.write(chunk);
      } catch (err) {
        throw new DownloadFailure(`cannot write ${dest}: ${(err as Error).message}`);
      }
    }
    if (total !== undefined && received !== total) {
      throw new DownloadFailure(`incomplete: received ${received} of ${total} bytes`);
    }
    await file.sync();
  } catch (err) {
    if (idle.signal.aborted) throw new Error(`stalled: no data for ${options.timeoutMs / 1000} s`);
    if (signal.aborted) throw new Error(`took longer than ${DOWNLOAD_DEADLINE_MS / 60_000} min`);
    if (err instanceof DownloadFailure) throw err;
    if (networkReason(err) === 'bad port') throw new Error(`port ${parsed.port} is one that fetch refuses to connect to`);
    throw new Error(responded ? `connection dropped after ${received} bytes (${networkReason(err)})` : networkReason(err));
  } finally {
    clearTimeout(timer);
    await file?.close();
  }
}

async function removeQuietly(p: string): Promise<void> {
  try {
    await unlink(p);
  } catch {
    /* already gone */
  }
}

/** Makes a rename in `dir` durable. Some platforms cannot open a folder: the rename then stands as is. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    /* not supported here */
  } finally {
    await handle?.close();
  }
}

/**
 * Downloads one MNIST file into `dir` from the first mirror that serves a verified copy.
 * Returns the saved path and the verified uncompressed bytes.
 */
export async function downloadMnistFile(
  dir: string,
  name: MnistFileName,
  options: LoadMnistOptions = {},
): Promise<{ path: string; bytes: Uint8Array }> {
  const mirrors = mirrorsFrom(options);
  const expected = expectedFor(options, name);
  const onProgress = options.onProgress ?? stderrDownloadProgress();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const failures: string[] = [];
  const created = !(await exists(dir));
  await mkdir(dir, { recursive: true });
  for (const mirror of mirrors) {
    const url = `${mirror.endsWith('/') ? mirror : `${mirror}/`}${name}.gz`;
    const tmp = path.join(dir, `${name}.gz.tmp-${process.pid}`);
    const file = `${name}.gz`;
    let total: number | undefined;
    let received = 0;
    try {
      await removeQuietly(tmp);
      await fetchToFile(url, tmp, {
        timeoutMs,
        onStart: (t) => {
          total = t;
          onProgress({ file, url, receivedBytes: 0, totalBytes: t, status: 'start' });
        },
        onChunk: (r, t) => {
          received = r;
          onProgress({ file, url, receivedBytes: r, totalBytes: t, status: 'progress' });
        },
      });
      const raw = await readFile(tmp);
      const gz = isGzip(raw);
      let bytes: Uint8Array;
      try {
        bytes = await inflateIdx(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), url, kindOf(name));
      } catch (err) {
        throw new Error((err as Error).message.replace(`${url}: `, ''));
      }
      if (expected !== null) {
        const actual = sha256(bytes);
        if (actual !== expected) throw new Error(`corrupt: ${checksumProblem(actual, expected)}`);
      }
      const finalPath = path.join(dir, gz ? `${name}.gz` : name);
      await rename(tmp, finalPath);
      await syncDir(dir);
      onProgress({ file, url, receivedBytes: received, totalBytes: total, status: 'done' });
      return { path: finalPath, bytes };
    } catch (err) {
      await removeQuietly(tmp);
      const reason = (err as Error).message;
      failures.push(`${url}: ${reason}`);
      onProgress({ file, url, receivedBytes: received, totalBytes: total, status: 'failed', error: reason });
    }
  }
  if (created) await rmdir(dir).catch(() => {}); // only if still empty: nothing is left behind
  throw new Error(
    `could not download ${name}.gz into ${dir}; every mirror failed:\n  ${failures.join('\n  ')}\n` +
      `(set MNIST_MIRRORS to other mirrors, or pass --data-dir pointing at a local copy)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Loading

interface Located {
  dir: string;
  paths: Map<MnistFileName, string>;
  /** Uncompressed bytes of files downloaded (and verified) just now. */
  fresh: Map<MnistFileName, Uint8Array>;
}

/**
 * Makes sure the given MNIST files are in the data folder, downloading the missing ones when
 * allowed. Returns the folder and each file's path.
 */
export async function ensureMnistFiles(
  options: LoadMnistOptions = {},
  names: readonly MnistFileName[] = Object.values(MNIST_FILES),
): Promise<Located> {
  const { dir, source } = resolveMnistDir(options);
  const paths = new Map<MnistFileName, string>();
  const fresh = new Map<MnistFileName, Uint8Array>();
  const missing: MnistFileName[] = [];
  for (const name of names) {
    const p = await findMnistFile(dir, name);
    if (p) paths.set(name, p);
    else missing.push(name);
  }
  if (missing.length > 0) {
    const allowed = options.download ?? source === 'default';
    if (!allowed) {
      throw missingError(dir, source, missing.map((n) => `${n}.gz`), await exists(dir));
    }
    for (const name of missing) {
      const got = await downloadMnistFile(dir, name, options);
      paths.set(name, got.path);
      fresh.set(name, got.bytes);
    }
  }
  return { dir, paths, fresh };
}

async function verifiedBytes(located: Located, name: MnistFileName, options: LoadMnistOptions): Promise<Uint8Array> {
  const filePath = located.paths.get(name)!;
  const cached = located.fresh.get(name);
  if (cached) return cached;
  const bytes = await readIdxBytes(filePath, kindOf(name));
  const expected = expectedFor(options, name);
  if (expected !== null) {
    const actual = sha256(bytes);
    if (actual !== expected) {
      throw new IdxFormatError(
        filePath,
        `${checksumProblem(actual, expected)}: the file is corrupt or not the original MNIST (delete it to download it again)`,
      );
    }
  }
  return bytes;
}

const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** Bytes 0-255 to float32 in [0, 1] (byte / 255, as the Keras reference does). */
export function bytesToUnitFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_UNIT[bytes[i]];
  return out;
}

async function loadSplitFrom(
  located: Located,
  split: 'train' | 'test',
  limit: number | undefined,
  options: LoadMnistOptions,
): Promise<MnistSplit> {
  const imagesName = split === 'train' ? MNIST_FILES.trainImages : MNIST_FILES.testImages;
  const labelsName = split === 'train' ? MNIST_FILES.trainLabels : MNIST_FILES.testLabels;
  const imagesPath = located.paths.get(imagesName)!;
  const labelsPath = located.paths.get(labelsName)!;
  const images = parseIdxImages(await verifiedBytes(located, imagesName, options), imagesPath, { limit });
  const labels = parseIdxLabels(await verifiedBytes(located, labelsName, options), labelsPath, { limit });
  if (images.count !== labels.count) {
    throw new Error(`${imagesPath} has ${images.count} images but ${labelsPath} has ${labels.count} labels`);
  }
  return {
    images: new Tensor(bytesToUnitFloats(images.pixels), [images.count, images.rows, images.cols, 1]),
    labels: Uint8Array.from(labels.labels),
  };
}

/**
 * Loads MNIST (downloading it into `data/mnist` if needed).
 * train: [60000, 28, 28, 1] float32 in [0, 1] + labels; test: [10000, 28, 28, 1] + labels.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistData> {
  const located = await ensureMnistFiles(options);
  const train = await loadSplitFrom(located, 'train', options.limitTrain, options);
  located.fresh.delete(MNIST_FILES.trainImages);
  const test = await loadSplitFrom(located, 'test', options.limitTest, options);
  return { train, test, dataDir: located.dir };
}

/**
 * Loads only one split, optionally only its first `limit` examples: for fast tests and for
 * `evaluate`. The whole of each file is still checksummed.
 */
export async function loadMnistSplit(
  split: 'train' | 'test',
  options: LoadMnistOptions & { limit?: number } = {},
): Promise<MnistSplit & { dataDir: string }> {
  const names =
    split === 'train'
      ? [MNIST_FILES.trainImages, MNIST_FILES.trainLabels]
      : [MNIST_FILES.testImages, MNIST_FILES.testLabels];
  const located = await ensureMnistFiles(options, names);
  const limit = options.limit ?? (split === 'train' ? options.limitTrain : options.limitTest);
  const data = await loadSplitFrom(located, split, limit, options);
  return { ...data, dataDir: located.dir };
}
