// The consumer test: the package as a stranger gets it. `npm pack` (its prepack builds dist/), install
// the tarball into an empty project in a temporary folder, then from plain `node` (no tsx, no
// TypeScript) import the package by name, train a small convnet a few steps on real MNIST digits,
// evaluate, predict, save and load it; run the package's command on the saved model; type-check a
// TypeScript consumer against the shipped .d.ts; and bundle the browser entry with esbuild for the
// browser. Everything happens in temporary folders, removed at the end.
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnistSplit } from '../src/data/mnist.ts';
import { MNIST_DIR } from './paths.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const NAME = 'wasm-mnist-engine';
const HAS_BROWSER_ENTRY = existsSync(join(REPO, 'src/browser.ts'));
if (!HAS_BROWSER_ENTRY) console.warn('skipping the browser bundle of the package: src/browser.ts does not exist yet');

/**
 * The environment for a child npm: without the variables `npm test` sets for its own package
 * (npm_config_local_prefix would make `npm install` in the consumer's folder install into this repo).
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$|config_loglevel$)/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

function run(command: string, args: string[], cwd: string, options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(command, args, { cwd, env: childEnv(), encoding: 'utf8', stdio: 'pipe', ...options }) as string;
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${e.status}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

let root = '';
let app = '';
let tarballFiles: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'engine-package-'));
  // `npm pack` runs prepack (a fresh dist/) and lists what the tarball holds.
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', root], REPO)) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed[0].files.map((f) => f.path);
  app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(root, packed[0].filename)], app);
}, 180_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  expect(root && existsSync(root)).toBeFalsy();
});

describe('the npm package', () => {
  it('ships the compiled engine, its types, both WASM builds, the worker and the command, and nothing else', () => {
    for (const file of [
      'package.json',
      'README.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/build/kernels.wasm',
      'dist/build/kernels-relaxed.wasm',
      'dist/bin/wasm-mnist-engine.js',
    ]) {
      expect(tarballFiles).toContain(file);
    }
    // Every module of src/ compiled (the .mjs worker scripts too: threads start them by URL).
    const modules = readdirSync(join(REPO, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|mjs)$/.test(f));
    const compiled = modules.map((f) => `dist/src/${f.split(sep).join('/').replace(/\.ts$/, '.js')}`);
    expect(compiled).toContain('dist/src/index.js');
    expect(compiled.filter((f) => !tarballFiles.includes(f))).toEqual([]);
    const strays = tarballFiles.filter(
      (f) => !['package.json', 'README.md', 'LICENSE'].includes(f) && !/^dist\/(src|bin)\//.test(f) && !/^dist\/build\/[^/]+\.wasm$/.test(f),
    );
    expect(strays).toEqual([]);
    // No TypeScript sources: a consumer runs JavaScript.
    expect(tarballFiles.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.d.mts'))).toEqual([]);
  });

  it('installs without a compiler: only the runtime dependencies come along', () => {
    const tree = JSON.parse(run('npm', ['ls', '--all', '--json'], app)) as { dependencies: Record<string, { dependencies?: object }> };
    const installed = Object.keys(tree.dependencies[NAME].dependencies ?? {}).sort();
    expect(installed).not.toContain('assemblyscript');
    expect(installed).not.toContain('typescript');
    expect(installed).not.toContain('tsx');
    for (const tool of ['assemblyscript', 'typescript', 'tsx', 'vitest']) expect(existsSync(join(app, 'node_modules', tool))).toBe(false);
    expect(existsSync(join(app, 'node_modules', NAME, 'dist/build/kernels.wasm'))).toBe(true);
  });

  it('type-checks a TypeScript consumer against the shipped .d.ts', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      [
        `import { Sequential, Dense, Adam, Tensor, loadModel, type History } from '${NAME}';`,
        `const model = new Sequential([new Dense({ units: 10, activation: 'softmax', inputShape: [784] })], { seed: 1 });`,
        `model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });`,
        `const probs: Tensor = model.predict(Tensor.from(new Float32Array(784), [1, 784]));`,
        `const shape: readonly number[] = probs.shape;`,
        `const later: Promise<Sequential> = loadModel('somewhere');`,
        `export type { History };`,
        `void shape; void later;`,
      ].join('\n'),
    );
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    run(process.execPath, [tsc, ...args, '--types', 'node', '--typeRoots', join(REPO, 'node_modules/@types'), 'consumer.ts'], app);
  });

  describe.skipIf(!MNIST_DIR)('from plain node, on real MNIST digits', () => {
    let result: Record<string, unknown> = {};
    const modelDir = () => join(app, 'model');

    beforeAll(() => {
      writeFileSync(join(app, 'consumer.mjs'), CONSUMER_SCRIPT);
      const out = run(process.execPath, ['consumer.mjs', MNIST_DIR, modelDir()], app, { timeout: 60_000 });
      const line = out.trim().split('\n').at(-1)!;
      console.log(`the consumer printed: ${line}`);
      result = JSON.parse(line) as Record<string, unknown>;
    }, 90_000);

    it('imports the compiled JavaScript by name, not the TypeScript sources', () => {
      expect(result.resolved).toMatch(new RegExp(`node_modules/${NAME}/dist/src/index\\.js$`));
    });

    it('trains a convnet on two threads: the loss falls and it reads most test digits', () => {
      expect(result.threads).toBe(2);
      const losses = result.losses as number[];
      expect(losses).toHaveLength(3);
      expect(losses[2]).toBeLessThan(losses[0]);
      expect(result.testAccuracy as number).toBeGreaterThan(0.8);
    });

    it('predicts, and the model it saves loads back and predicts the same', () => {
      expect(result.predictShape).toEqual([20, 10]);
      expect(result.predictedRight as number).toBeGreaterThanOrEqual(14);
      expect(result.files).toEqual(['model.json', 'weights.bin']);
      expect(result.maxDifferenceAfterLoad).toBe(0);
    });

    it("runs the package's command: evaluate and predict on the saved model, and --help", async () => {
      const bin = ['--no', NAME];
      const evaluation = run('npx', [...bin, 'evaluate', '--model', modelDir(), '--data-dir', MNIST_DIR, '--limit-test', '500', '--threads', '1'], app, {
        timeout: 60_000,
      });
      const accuracy = Number(/test accuracy: (\d\.\d+)/.exec(evaluation)?.[1]);
      expect(accuracy).toBeGreaterThan(0.8);
      // The first test digit as a PNG, for predict.
      const { images, labels } = await loadMnistSplit('test', { dataDir: MNIST_DIR, limit: 1 });
      const png = new PNG({ width: 28, height: 28 });
      images.data.forEach((v, i) => png.data.set([Math.round(v * 255), Math.round(v * 255), Math.round(v * 255), 255], i * 4));
      writeFileSync(join(app, 'digit.png'), PNG.sync.write(png));
      const prediction = run('npx', [...bin, 'predict', '--model', modelDir(), 'digit.png'], app);
      expect(prediction).toMatch(new RegExp(`^digit\\.png: ${labels[0]} `, 'm'));
      const help = run('npx', [...bin, 'predict', '--help'], app);
      expect(help).toContain(`Usage: ${NAME} predict --model DIR`);
      expect(() => run('npx', [...bin, 'nonsense'], app)).toThrow(/unknown command "nonsense"/);
    });
  });

  it.skipIf(!HAS_BROWSER_ENTRY)('bundles for the browser with esbuild, with no Node module in the bundle', async () => {
    writeFileSync(join(app, 'page.mjs'), `import { init, Sequential, Dense } from '${NAME}';\nawait init();\nnew Sequential([new Dense({ units: 10, inputShape: [784] })]);\n`);
    const bundle = await build({
      absWorkingDir: app,
      entryPoints: ['page.mjs'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(bundle.errors).toEqual([]);
    const code = bundle.outputFiles[0].text;
    expect(code).not.toMatch(/["']node:/);
  });
});

/** The consumer: plain JavaScript that knows the package only by its name. Prints one JSON line. */
const CONSUMER_SCRIPT = `
import { readdirSync } from 'node:fs';
import { Sequential, Conv2D, MaxPooling2D, Flatten, Dense, Adam, Tensor, loadMnist, loadModel } from '${NAME}';

const [dataDir, modelDir] = process.argv.slice(2);
const { train, test } = await loadMnist({ dataDir, limitTrain: 1536, limitTest: 500, onProgress: () => {} });
const model = new Sequential([
  new Conv2D({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
  new MaxPooling2D({ poolSize: 2 }),
  new Flatten(),
  new Dense({ units: 10, activation: 'softmax' }),
], { seed: 7, threads: 2 });
model.compile({ optimizer: new Adam({ learningRate: 3e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const history = await model.fit(train.images, train.labels, { epochs: 3, batchSize: 64, verbose: 0 });
const { accuracy } = model.evaluate(test.images, test.labels);

const n = 20;
const some = Tensor.from(test.images.data.slice(0, n * 784), [n, 28, 28, 1]);
const probs = model.predict(some);
const argmax = (p, i) => { let best = 0; for (let c = 1; c < 10; c++) if (p[i * 10 + c] > p[i * 10 + best]) best = c; return best; };
let right = 0;
for (let i = 0; i < n; i++) if (argmax(probs.data, i) === test.labels[i]) right++;

await model.save(modelDir);
const again = await loadModel(modelDir);
const probsAgain = again.predict(some);
let maxDifference = 0;
for (let i = 0; i < probs.data.length; i++) maxDifference = Math.max(maxDifference, Math.abs(probs.data[i] - probsAgain.data[i]));

console.log(JSON.stringify({
  resolved: import.meta.resolve('${NAME}').replace('file://', ''),
  threads: model.backend.threads ?? null,
  losses: history.history.loss,
  testAccuracy: accuracy,
  predictShape: probs.shape,
  predictedRight: right,
  files: readdirSync(modelDir).sort(),
  maxDifferenceAfterLoad: maxDifference,
}));
model.dispose();
again.dispose();
`;
