// The browser platform: the .wasm builds fetched and compiled by init() (a browser compiles
// asynchronously, the engine's getBackend is synchronous, so init() must come first), kernel threads
// in module Web Workers over the shared WebAssembly.Memory (only when crossOriginIsolated, and only
// off the page's main thread, where Atomics.wait is not allowed), no files.
import type { KernelThread, KernelThreadData, Platform, SimdFlavor } from './platform.ts';

const WASM_FILES: Record<SimdFlavor, string> = { plain: 'kernels.wasm', relaxed: 'kernels-relaxed.wasm' };

const compiled = new Map<SimdFlavor, WebAssembly.Module>();
let relaxedRuns: boolean | undefined;
const settings = new Map<string, string>();
/** Workers started by prepareWorkers, each waiting for a KernelThreadData. */
const idle: Worker[] = [];

async function fetchBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch the engine's kernels ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The URLs of both builds in the folder `base`. */
export function kernelUrls(base: URL): Record<SimdFlavor, URL> {
  if (!base.pathname.endsWith('/')) base = new URL(`${base.pathname}/`, base);
  return { plain: new URL(WASM_FILES.plain, base), relaxed: new URL(WASM_FILES.relaxed, base) };
}

/**
 * Fetches and compiles the kernels: the relaxed-SIMD build when this browser validates it (and
 * `simd` allows), else the plain one.
 */
export async function loadKernels(urls: Record<SimdFlavor, URL>, simd: 'auto' | SimdFlavor = 'auto'): Promise<SimdFlavor> {
  if (relaxedRuns === undefined) {
    const relaxedBytes = await fetchBytes(urls.relaxed);
    relaxedRuns = WebAssembly.validate(relaxedBytes);
    if (relaxedRuns) compiled.set('relaxed', await WebAssembly.compile(relaxedBytes));
  }
  const flavor: SimdFlavor = simd === 'auto' ? (relaxedRuns ? 'relaxed' : 'plain') : simd;
  if (flavor === 'relaxed' && !relaxedRuns) throw new Error('relaxed SIMD was requested but this browser cannot run kernels-relaxed.wasm');
  if (!compiled.has(flavor)) {
    const bytes = await fetchBytes(urls[flavor]);
    if (!WebAssembly.validate(bytes)) {
      throw new Error('this browser cannot run the engine: its WebAssembly lacks SIMD, threads or bulk memory');
    }
    compiled.set(flavor, await WebAssembly.compile(bytes));
  }
  settings.set('ENGINE_SIMD', flavor);
  return flavor;
}

/** Why kernel threads cannot run here, or null when they can. */
export function threadsUnavailable(): string | null {
  if (typeof document !== 'undefined') return "the engine runs on the page's main thread, where Atomics.wait is not allowed (run it in a Worker)";
  if (globalThis.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)';
  if (typeof Worker === 'undefined') return 'this context cannot start Web Workers';
  return null;
}

/**
 * Starts Web Workers until `count` wait idle, and resolves once each runs. A browser starts a worker
 * only when its creator returns to the event loop, so they must exist before a thread pool blocks
 * waiting for them.
 */
export async function prepareWorkers(count: number): Promise<void> {
  const starting: Promise<Worker>[] = [];
  for (let i = idle.length; i < count; i++) {
    starting.push(
      new Promise((resolve, reject) => {
        const worker = new Worker(new URL('./browser-worker.mjs', import.meta.url), { type: 'module', name: 'engine-kernel-thread' });
        worker.onmessage = (event) => {
          if (!event.data?.alive) return;
          if (event.data.crossOriginIsolated) resolve(worker);
          else reject(new Error('a kernel thread started without cross-origin isolation (its script needs the COOP/COEP headers too)'));
        };
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`a kernel thread could not start: ${event.message || 'its script failed to load'}`));
        };
      }),
    );
  }
  idle.push(...(await Promise.all(starting)));
}

export const browserPlatform: Platform = {
  name: 'browser',

  env: (name) => settings.get(name),

  cpuCount: () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),

  relaxedSimdSupported: () => relaxedRuns === true,

  compileKernels(flavor: SimdFlavor): WebAssembly.Module {
    const module = compiled.get(flavor);
    if (!module) throw new Error(`the engine's ${flavor}-SIMD kernels are not loaded: await init() before building a model`);
    return module;
  },

  startKernelThread(data: KernelThreadData, onLost: (reason: string) => void): KernelThread {
    const worker = idle.pop();
    if (!worker) throw new Error(`no Web Worker is ready for kernel thread ${data.index}: await init({ threads }) with this many threads first`);
    worker.onmessage = (event) => {
      if (event.data?.failed) onLost(`failed: ${event.data.failed}`);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      onLost(`failed: ${event.message}`);
    };
    worker.postMessage(data);
    return { terminate: () => worker.terminate() };
  },

  threadsStartAsync: true,

  yieldToEventLoop(): Promise<void> {
    // A message round trip, not setTimeout: nested timeouts are clamped to 4 ms.
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  },

  async saveModel(): Promise<void> {
    throw new Error("save(dir) writes a folder, which a browser has not: use model.toArtifacts() (model.json's text and weights.bin's bytes) and offer them as downloads");
  },
};
