// npm run playground [-- --port N --data-dir DIR]
// Starts Vite's dev server on the playground (web/) with the cross-origin isolation headers that
// threads need, serves the MNIST folder (found as `npm run train` finds it: --data-dir, MNIST_DIR,
// else data/mnist, downloaded there if missing) under /mnist/, and prints the URL.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { ensureMnistFiles } from '../src/data/mnist.ts';
import { parseArgs, formatHelp, type FlagSpecs } from '../src/cli/args.ts';
import { runCli } from '../src/cli/run.ts';
import { ISOLATION_HEADERS } from './vite.config.ts';

const FLAGS = {
  port: { type: 'int', min: 1, max: 65535, default: 8080, help: 'port of the local server' },
  host: { type: 'string', default: 'localhost', valueName: 'HOST', help: 'address to listen on (localhost: this machine only)' },
  dataDir: { type: 'string', valueName: 'DIR', help: 'folder with the MNIST IDX files (default: MNIST_DIR, else data/mnist)' },
} as const satisfies FlagSpecs;

/** The URL path the page fetches the MNIST IDX files from. */
export const MNIST_URL_PATH = '/mnist/';

/** Serves the IDX files of `dir` (top-level files only) at /mnist/<name>. */
export function mnistFolder(dir: string): Plugin {
  return {
    name: 'playground-mnist-folder',
    configureServer(server) {
      server.middlewares.use(MNIST_URL_PATH, async (req, res, next) => {
        const name = decodeURIComponent((req.url ?? '').split('?')[0].replace(/^\//, ''));
        if (!/^[\w][\w.-]*$/.test(name) || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
        const file = path.join(dir, name);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) return next();
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', info.size);
        res.setHeader('Cache-Control', 'no-cache');
        if (req.method === 'HEAD') return res.end();
        createReadStream(file).on('error', next).pipe(res);
      });
    },
  };
}

export interface PlaygroundServer {
  server: ViteDevServer;
  url: string;
  dataDir: string;
}

/** A port nobody listens on now. */
async function freePort(host: string): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface PlaygroundOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  host?: string;
  /** The MNIST folder (default: MNIST_DIR, else data/mnist, downloaded there if missing). */
  dataDir?: string;
  quiet?: boolean;
  /** Vite's live reload of the page when web/ changes (default true; the tests turn it off). */
  hmr?: boolean;
}

/** Starts the playground's dev server (also used by the browser tests). */
export async function startPlayground(options: PlaygroundOptions = {}): Promise<PlaygroundServer> {
  const located = await ensureMnistFiles({ dataDir: options.dataDir, optionName: '--data-dir' });
  const host = options.host ?? 'localhost';
  const port = options.port === 0 ? await freePort(host) : (options.port ?? 8080);
  const server = await createServer({
    configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
    logLevel: options.quiet ? 'silent' : 'info',
    server: { port, host, strictPort: true, hmr: options.hmr ?? true },
    plugins: [mnistFolder(located.dir)],
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://${host}:${port}/`;
  return { server, url, dataDir: located.dir };
}

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAGS);
  if (help) {
    console.log(
      formatHelp(FLAGS, {
        usage: 'npm run playground [-- --port N --data-dir DIR]',
        description: 'Serve the browser playground (train, draw, load and download models) with the headers that threads need.',
      }),
    );
    return;
  }
  const { url, dataDir } = await startPlayground({ port: flags.port, host: flags.host, dataDir: flags.dataDir, quiet: true });
  const files = (await readdir(dataDir)).filter((f) => /idx\d-ubyte/.test(f));
  console.log(`MNIST from ${dataDir} (${files.length} IDX files) at ${MNIST_URL_PATH}`);
  console.log(`playground: ${url}`);
  console.log('(cross-origin isolated: COOP same-origin, COEP require-corp; Ctrl-C stops the server)');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runCli(main);
