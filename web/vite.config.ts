// Vite's configuration for the playground: `npm run playground` (web/serve.ts) starts its dev
// server with it, `npm run build:web` builds the static site into dist/web/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Cross-origin isolation: with these two headers on the page (and on its workers' scripts),
 * `crossOriginIsolated` is true, SharedArrayBuffer and a shared WebAssembly.Memory exist, and the
 * engine trains on several Web Workers. Without them it trains on one thread (the page says so).
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative URLs: the built site works from any folder of a host.
  base: './',
  clearScreen: false,
  // One page: an unknown path is a 404, not the page again.
  appType: 'mpa',
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The .wasm kernels are files of their own (fetched and compiled by the engine), never inlined.
    assetsInlineLimit: 0,
  },
});
