// The public API in a browser: the same core as src/index.ts, plus
//   init({ threads })           fetch and compile the kernels, start the kernel threads (await it first);
//   loadMnist({ baseUrl })      the IDX files (.gz or raw) fetched from a URL folder;
//   modelFromArtifacts(json, weights) and model.toArtifacts() in place of loadModel(dir) and save(dir).
// Run the engine in a dedicated module Worker: kernel threads block in Atomics.wait, which a page's
// main thread may not do (there, and without cross-origin isolation, it runs on one thread).
import { browserPlatform, kernelUrls, loadKernels, prepareWorkers, threadsUnavailable } from './platform/browser.ts';
import { setPlatform } from './platform/platform.ts';
import { getBackend, MAX_THREADS, setDefaultThreads } from './backend/index.ts';
import { DATASETS, MNIST_FILES, splitFromIdx, type DatasetName, type MnistFileName, type MnistSplit } from './data/datasets.ts';
import { IdxFormatError, MAX_IDX_BYTES, inflateIdx, type IdxKind } from './data/idx-format.ts';
import type { InitOptions, InitResult } from './core.ts';

setPlatform(browserPlatform);

export * from './core.ts';

export interface BrowserInitOptions extends InitOptions {
  /** 'auto' (default): relaxed SIMD when the browser validates it, else plain. */
  simd?: 'auto' | 'relaxed' | 'plain';
  /** The folder holding kernels.wasm and kernels-relaxed.wasm. Default: the build/ folder beside src/. */
  wasmBase?: string | URL;
}

export interface BrowserInitResult extends InitResult {
  /** Whether the page is cross-origin isolated (threads need it). */
  crossOriginIsolated: boolean;
  /** Why only one thread runs, when threads were asked for and cannot run here. */
  threadsNote?: string;
}

/**
 * Fetches and compiles the kernels and starts the kernel threads: `threads` (default 'all', the
 * browser's hardwareConcurrency) when the page is cross-origin isolated and this is a Worker, one
 * otherwise (`threadsNote` says why). Await it before building a model. Models built afterwards
 * use this many threads unless they ask for another count (which init must have prepared).
 */
export async function init(options: BrowserInitOptions = {}): Promise<BrowserInitResult> {
  // Spelled out so that bundlers (Vite, esbuild's file loader) see the .wasm files and ship them.
  const urls = options.wasmBase
    ? kernelUrls(new URL(options.wasmBase, globalThis.location?.href))
    : { plain: new URL('../build/kernels.wasm', import.meta.url), relaxed: new URL('../build/kernels-relaxed.wasm', import.meta.url) };
  const simd = await loadKernels(urls, options.simd ?? 'auto');
  const wanted = options.threads ?? 'all';
  let threads = wanted === 'all' ? Math.min(browserPlatform.cpuCount(), MAX_THREADS) : wanted;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new Error(`init: threads must be a whole number from 1 to ${MAX_THREADS} or "all", got ${JSON.stringify(wanted)}`);
  }
  const unavailable = threads > 1 ? threadsUnavailable() : null;
  if (unavailable) threads = 1;
  if (threads > 1) await prepareWorkers(threads - 1);
  setDefaultThreads(threads);
  const backend = getBackend('wasm', { threads });
  await backend.pool?.ready();
  return {
    threads: backend.threads,
    simd,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ...(unavailable ? { threadsNote: `one thread: ${unavailable}` } : {}),
  };
}

export interface BrowserLoadMnistOptions {
  /** The URL of the folder with the four IDX files (relative URLs resolve against the page or worker). */
  baseUrl: string | URL;
  /** Which dataset the files are (its checksums and class count). Default 'mnist'. */
  dataset?: DatasetName;
  /** Whether the files are named `*.gz` (true) or not (false). Default: try `.gz`, then the raw name. */
  gzip?: boolean;
  /** Check each file's SHA-256 against the dataset's (as Node's loadMnist does). Default true. */
  verify?: boolean;
  /** Keep only the first N training / test examples. */
  limitTrain?: number;
  limitTest?: number;
}

export interface BrowserMnistData {
  train: MnistSplit;
  test: MnistSplit;
  /** The folder the files came from (absolute URL). */
  baseUrl: string;
  dataset: DatasetName;
}

/**
 * Fetches MNIST (or Fashion-MNIST) from a URL folder: train [60000, 28, 28, 1] and test
 * [10000, 28, 28, 1], float32 in [0, 1], with Uint8Array labels. Gzip files are inflated with
 * DecompressionStream, and every file is checked as in Node (format, sizes, labels, SHA-256).
 */
export async function loadMnist(options: BrowserLoadMnistOptions): Promise<BrowserMnistData> {
  if (options?.baseUrl === undefined) throw new Error('loadMnist: baseUrl (the URL of the folder with the IDX files) is required in a browser');
  const dataset = options.dataset ?? 'mnist';
  const info = DATASETS[dataset];
  if (!info) throw new Error(`loadMnist: unknown dataset '${dataset}': expected ${Object.keys(DATASETS).map((n) => `'${n}'`).join(' or ')}`);
  const base = new URL(options.baseUrl, globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const file = async (name: MnistFileName, kind: IdxKind) => {
    const { bytes, url } = await fetchIdx(base, name, kind, options.gzip);
    if (options.verify !== false) {
      const actual = await sha256(bytes);
      if (actual !== info.sha256[name]) {
        throw new IdxFormatError(url, `SHA-256 ${actual} is not ${info.label}'s ${info.sha256[name]} (another dataset, or damaged; verify: false loads it unchecked)`);
      }
    }
    return { bytes, name: url };
  };
  const split = async (images: MnistFileName, labels: MnistFileName, limit: number | undefined) =>
    splitFromIdx(info, await file(images, 'images'), await file(labels, 'labels'), limit);
  const train = await split(MNIST_FILES.trainImages, MNIST_FILES.trainLabels, options.limitTrain);
  const test = await split(MNIST_FILES.testImages, MNIST_FILES.testLabels, options.limitTest);
  return { train, test, baseUrl: base.href, dataset };
}

async function fetchIdx(base: URL, name: MnistFileName, kind: IdxKind, gzip: boolean | undefined): Promise<{ bytes: Uint8Array; url: string }> {
  const names = gzip === true ? [`${name}.gz`] : gzip === false ? [name] : [`${name}.gz`, name];
  const tried: string[] = [];
  for (const candidate of names) {
    const url = new URL(candidate, base).href;
    const response = await fetch(url);
    if (response.status === 404 && candidate !== names[names.length - 1]) {
      tried.push(`${url}: HTTP 404`);
      continue;
    }
    if (!response.ok) throw new IdxFormatError(url, `cannot fetch it: HTTP ${response.status}${tried.length ? ` (also tried ${tried.join(', ')})` : ''}`);
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_IDX_BYTES) throw new IdxFormatError(url, `${length} bytes, more than the ${MAX_IDX_BYTES} an IDX file may have here`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    // A server may have inflated it already (Content-Encoding: gzip): inflateIdx looks at the bytes.
    return { bytes: await inflateIdx(bytes, url, kind), url };
  }
  throw new Error('unreachable');
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
