/**
 * MNIST and Fashion-MNIST: locate the IDX files, verify them, download them when missing, and turn
 * them into tensors. Both datasets use the same file names, shapes (28x28) and 10 classes.
 *
 * Folder lookup order: options.dataDir (CLI --data-dir), the dataset's env variable (MNIST_DIR or
 * FASHION_MNIST_DIR), then `data/<dataset>` in the project root (resolved from this file, not from
 * the working directory): the download cache this loader manages. Files may be named
 * `train-images-idx3-ubyte.gz` (gzip) or `train-images-idx3-ubyte` (raw). The SHA-256 of the
 * *uncompressed* bytes is checked against the dataset's original distribution unless `verify: false`.
 *
 * Downloads are written atomically: `<file>.tmp-<pid>` in the same folder, fsynced, gunzipped and
 * checksummed, then renamed into place. A corrupt or partial download is deleted and the next
 * mirror is tried.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdxFormatError, type IdxKind, inflateIdx, isGzip, readIdxBytes } from './idx.ts';
import { DATASETS, MNIST_FILES, splitFromIdx, type DatasetName, type MnistFileName, type MnistSplit } from './datasets.ts';

export { DATASETS, MNIST_FILES, bytesToUnitFloats } from './datasets.ts';
export type { DatasetInfo, DatasetName, MnistFileName, MnistSplit } from './datasets.ts';

const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** The download cache of `dataset`: `data/<dataset>` in the project root. */
export function defaultDataDir(dataset: DatasetName = 'mnist'): string {
  return fileURLToPath(new URL(`../../data/${dataset}`, import.meta.url));
}

/** `data/mnist` in the project root. */
export const DEFAULT_DATA_DIR = defaultDataDir('mnist');

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
  /** Folder with the IDX files. Default: the dataset's env variable (MNIST_DIR), else `data/<dataset>` in the project root. */
  dataDir?: string;
  /** Which dataset the files are. Default 'mnist'. */
  dataset?: DatasetName;
  /**
   * Check each file's SHA-256 against the dataset's. Default true. With false, any IDX files of
   * the dataset's shapes load (a warning says they are not verified). Downloads are always checked.
   */
  verify?: boolean;
  /**
   * How messages name the folder option: 'dataDir' (default) for the API, '--data-dir' for the CLI.
   * A name starting with '--' also makes messages suggest the flags --dataset and --no-verify.
   */
  optionName?: string;
  /**
   * Download missing files. Default: true for the default `data/<dataset>` folder, false for a
   * folder given by `dataDir` or the env variable (a missing explicit folder is an error that says how to fix it).
   */
  download?: boolean;
  /** Download progress. Default: a reporter on stderr. Pass `() => {}` for silence. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Keep only the first N training / test examples (the whole file is still checksummed). */
  limitTrain?: number;
  limitTest?: number;
  /** Base URLs (ending with or without '/'), tried in order. Default: env MNIST_MIRRORS (FASHION_MNIST_MIRRORS), else the dataset's mirrors. */
  mirrors?: string[];
  /** Expected SHA-256 of the uncompressed files; null skips the check for that file. Default: the dataset's. */
  expected?: Partial<Record<MnistFileName, string | null>>;
  /** Idle timeout for a download connection, in ms. Default 30 s. */
  timeoutMs?: number;
}

export interface MnistData {
  train: MnistSplit;
  test: MnistSplit;
  /** The folder the files were read from (absolute). */
  dataDir: string;
  dataset: DatasetName;
}

type DirSource = 'option' | 'env' | 'default';

function datasetOf(options: { dataset?: string; optionName?: string }): DatasetName {
  const name = options.dataset ?? 'mnist';
  if (!(DATASET_NAMES as string[]).includes(name)) {
    const option = cliStyle(options) ? '--dataset' : 'dataset';
    throw new Error(`unknown ${option} '${name}': expected ${DATASET_NAMES.map((n) => `'${n}'`).join(' or ')}`);
  }
  return name as DatasetName;
}

function cliStyle(options: { optionName?: string }): boolean {
  return (options.optionName ?? '').startsWith('--');
}

/** How to tell the loader which dataset or not to verify, in the caller's terms (API or CLI). */
function hints(options: LoadMnistOptions) {
  const cli = cliStyle(options);
  return {
    dataDir: options.optionName ?? 'dataDir',
    dataset: (name: DatasetName) => (cli ? `--dataset ${name}` : `dataset: '${name}'`),
    noVerify: cli ? '--no-verify' : 'verify: false',
  };
}

/** Where the dataset is looked for, and why. */
export function resolveMnistDir(options: { dataDir?: string; dataset?: DatasetName; optionName?: string } = {}): { dir: string; source: DirSource } {
  const dataset = datasetOf(options);
  const cache = defaultDataDir(dataset);
  if (options.dataDir) {
    const dir = path.resolve(options.dataDir);
    // `loadMnist({ dataDir: 'data/mnist' })` from the project root names the default folder: it may download.
    return { dir, source: dir === cache ? 'default' : 'option' };
  }
  const env = process.env[DATASETS[dataset].dirEnv];
  if (env) return { dir: path.resolve(env), source: 'env' };
  return { dir: cache, source: 'default' };
}

function mirrorsFrom(options: LoadMnistOptions): string[] {
  if (options.mirrors && options.mirrors.length > 0) return options.mirrors;
  const info = DATASETS[datasetOf(options)];
  const env = process.env[info.mirrorsEnv];
  if (env) {
    const list = env.split(/[\s,]+/).filter(Boolean);
    if (list.length > 0) return list;
  }
  return [...info.mirrors];
}

function expectedFor(options: LoadMnistOptions, name: MnistFileName): string | null {
  const e = options.expected;
  if (e && name in e) return e[name] ?? null;
  return DATASETS[datasetOf(options)].sha256[name];
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

/**
 * Why a file on disk fails the checksum and what to do. Deleting is advised only in the download
 * cache: a file in a folder the user chose (or a system package installed) is not ours to delete.
 */
function checksumAdvice(name: MnistFileName, actual: string, source: DirSource, options: LoadMnistOptions): string {
  const dataset = datasetOf(options);
  const h = hints(options);
  const others = DATASET_NAMES.filter((n) => n !== dataset);
  const owner = others.find((n) => DATASETS[n].sha256[name] === actual);
  let advice = `the file does not match ${DATASETS[dataset].label}'s checksum`;
  if (owner) advice += `; it is ${DATASETS[owner].label}'s ${name}: pass ${h.dataset(owner)}`;
  if (source === 'default') return `${advice} (if it is a damaged download, delete it to download it again)`;
  if (owner) return advice;
  return `${advice}: for another dataset pass ${others.map(h.dataset).join(' or ')}, or pass ${h.noVerify} to load unverified IDX files`;
}

function missingError(dir: string, source: DirSource, missing: string[], dirExists: boolean, options: LoadMnistOptions): Error {
  const dataset = datasetOf(options);
  const info = DATASETS[dataset];
  const files = Object.values(MNIST_FILES).map((n) => `${n}.gz`).join(', ');
  const what = dirExists
    ? `${info.label} not found in ${dir} (missing ${missing.join(', ')})`
    : `${info.label} not found in ${dir} (no such folder)`;
  const fix =
    source === 'env'
      ? `set ${info.dirEnv} to a folder with ${files} (gzip or uncompressed), or unset it to download into data/${dataset}`
      : source === 'option'
        ? `point ${hints(options).dataDir} at a folder with ${files} (gzip or uncompressed), or omit it to download into data/${dataset}`
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
 * Downloads one file of the dataset into `dir` from the first mirror that serves a verified copy.
 * Returns the saved path and the verified uncompressed bytes.
 */
export async function downloadMnistFile(
  dir: string,
  name: MnistFileName,
  options: LoadMnistOptions = {},
): Promise<{ path: string; bytes: Uint8Array }> {
  const info = DATASETS[datasetOf(options)];
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
      const buf = await readFile(tmp);
      const raw = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      let bytes: Uint8Array;
      try {
        bytes = await inflateIdx(raw, url, kindOf(name));
      } catch (err) {
        throw new Error((err as Error).message.replace(`${url}: `, ''));
      }
      if (expected !== null) {
        const actual = sha256(bytes);
        if (actual !== expected) throw new Error(`corrupt: ${checksumProblem(actual, expected)}`);
      }
      const finalPath = path.join(dir, isGzip(raw) ? `${name}.gz` : name);
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
      `(set ${info.mirrorsEnv} to other mirrors, or point ${hints(options).dataDir} at a local copy)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Loading

interface Located {
  dir: string;
  source: DirSource;
  paths: Map<MnistFileName, string>;
  /** Uncompressed bytes of files downloaded (and verified) just now. */
  fresh: Map<MnistFileName, Uint8Array>;
}

/**
 * Makes sure the given files are in the data folder, downloading the missing ones when
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
      throw missingError(dir, source, missing.map((n) => `${n}.gz`), await exists(dir), options);
    }
    for (const name of missing) {
      const got = await downloadMnistFile(dir, name, options);
      paths.set(name, got.path);
      fresh.set(name, got.bytes);
    }
  }
  return { dir, source, paths, fresh };
}

async function verifiedBytes(located: Located, name: MnistFileName, options: LoadMnistOptions): Promise<Uint8Array> {
  const filePath = located.paths.get(name)!;
  const cached = located.fresh.get(name);
  if (cached) return cached;
  const bytes = await readIdxBytes(filePath, kindOf(name));
  const expected = options.verify === false ? null : expectedFor(options, name);
  if (expected !== null) {
    const actual = sha256(bytes);
    if (actual !== expected) {
      throw new IdxFormatError(
        filePath,
        `${checksumProblem(actual, expected)}: ${checksumAdvice(name, actual, located.source, options)}`,
      );
    }
  }
  return bytes;
}

async function loadSplitFrom(
  located: Located,
  split: 'train' | 'test',
  limit: number | undefined,
  options: LoadMnistOptions,
): Promise<MnistSplit> {
  const info = DATASETS[datasetOf(options)];
  const imagesName = split === 'train' ? MNIST_FILES.trainImages : MNIST_FILES.testImages;
  const labelsName = split === 'train' ? MNIST_FILES.trainLabels : MNIST_FILES.testLabels;
  const images = { bytes: await verifiedBytes(located, imagesName, options), name: located.paths.get(imagesName)! };
  const labels = { bytes: await verifiedBytes(located, labelsName, options), name: located.paths.get(labelsName)! };
  return splitFromIdx(info, images, labels, limit);
}

/** With `verify: false`, says once per load that the files are taken on trust. */
function warnUnverified(located: Located, options: LoadMnistOptions): void {
  if (options.verify !== false) return;
  const label = DATASETS[datasetOf(options)].label;
  console.warn(`warning: the IDX files in ${located.dir} are not verified against ${label}'s checksums (${hints(options).noVerify})`);
}

/**
 * Loads the dataset (MNIST by default; downloading it into `data/<dataset>` if needed).
 * train: [60000, 28, 28, 1] float32 in [0, 1] + labels; test: [10000, 28, 28, 1] + labels.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistData> {
  const dataset = datasetOf(options);
  const located = await ensureMnistFiles(options);
  warnUnverified(located, options);
  const train = await loadSplitFrom(located, 'train', options.limitTrain, options);
  located.fresh.delete(MNIST_FILES.trainImages);
  const test = await loadSplitFrom(located, 'test', options.limitTest, options);
  return { train, test, dataDir: located.dir, dataset };
}

/**
 * Loads only one split, optionally only its first `limit` examples: for fast tests and for
 * `evaluate`. The whole of each file is still checksummed.
 */
export async function loadMnistSplit(
  split: 'train' | 'test',
  options: LoadMnistOptions & { limit?: number } = {},
): Promise<MnistSplit & { dataDir: string; dataset: DatasetName }> {
  const dataset = datasetOf(options);
  const names =
    split === 'train'
      ? [MNIST_FILES.trainImages, MNIST_FILES.trainLabels]
      : [MNIST_FILES.testImages, MNIST_FILES.testLabels];
  const located = await ensureMnistFiles(options, names);
  warnUnverified(located, options);
  const limit = options.limit ?? (split === 'train' ? options.limitTrain : options.limitTest);
  const data = await loadSplitFrom(located, split, limit, options);
  return { ...data, dataDir: located.dir, dataset };
}
