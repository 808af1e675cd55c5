// Running the engine in headless Chromium: Debian's /usr/bin/chromium driven by playwright-core (no
// browser download), pages served by Vite's dev server with the COOP/COEP headers that make them
// cross-origin isolated (threads need it). Used by test/browser-engine.test.ts and bench/browser.ts.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const ROOT = resolve(import.meta.dirname, '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'];

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, shared WebAssembly.Memory). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Why browser tests cannot run here, or null. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (Debian's chromium package: apt-get install chromium)`;
}

export interface Served {
  /** The server's origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  server: ViteDevServer;
  close(): Promise<void>;
}

/**
 * Vite's dev server on a free local port, rooted at the repository (so pages import src/ and fetch
 * build/*.wasm), sending the isolation headers; `publicDir` is served at / (the MNIST folder).
 */
export async function serve(options: { publicDir?: string } = {}): Promise<Served> {
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'error',
    clearScreen: false,
    publicDir: options.publicDir ?? false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, headers: ISOLATION_HEADERS, hmr: false, watch: null },
    preview: { headers: ISOLATION_HEADERS },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, server, close: () => server.close() };
}

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

export interface PageWatch {
  /** Console errors and uncaught exceptions, of the page and its workers. */
  errors: string[];
  /** Requests to anywhere but `origin`. */
  outside: string[];
  requests: number;
}

/** Records console errors, page errors and requests that leave `origin` (those are aborted). */
export async function watchPage(page: Page, origin: string): Promise<PageWatch> {
  const watch: PageWatch = { errors: [], outside: [], requests: 0 };
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => watch.errors.push(`page: ${error.message}`));
  page.on('worker', (worker) => {
    worker.on('close', () => {});
  });
  page.context().on('request', (request) => {
    watch.requests++;
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) watch.outside.push(url);
  });
  await page.context().route(
    (url) => url.origin !== origin && url.protocol !== 'data:' && url.protocol !== 'blob:',
    (route) => {
      watch.outside.push(route.request().url());
      return route.abort();
    },
  );
  return watch;
}
