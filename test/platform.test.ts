// The platform seam: nothing the browser entry loads imports a Node module, and the bytes a model
// is saved as are the same whether they go to a folder (Node) or to toArtifacts() (any platform).
import { readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from './temp-dirs.ts';
import { Adam, Conv2D, Dense, Flatten, MaxPooling2D, Sequential, Tensor, init, loadModel, modelFromArtifacts, platform, setDefaultThreads } from '../src/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

interface Found {
  /** Relative modules loaded at run time: imports, re-exports, import() and new URL('./x', import.meta.url) (workers, .wasm). */
  local: string[];
  /** Every other run-time import specifier. */
  external: string[];
}

/** What `file` loads at run time (type-only imports vanish and do not count). */
function runtimeImports(file: string): Found {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typesOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)));
      if (!typesOnly) specs.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      specs.push(node.arguments[0].text);
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      node.arguments?.length === 2 &&
      ts.isStringLiteral(node.arguments[0]) &&
      node.arguments[1].getText(source) === 'import.meta.url'
    ) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return {
    local: specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s)),
    external: specs.filter((s) => !s.startsWith('.')),
  };
}

/** Every module reachable from `entry` at run time, with the chain that reaches it. */
function reachable(entry: string): Map<string, { chain: string[]; external: string[] }> {
  const seen = new Map<string, { chain: string[]; external: string[] }>();
  const walk = (file: string, chain: string[]): void => {
    if (seen.has(file)) return;
    const found = runtimeImports(file);
    seen.set(file, { chain, external: found.external });
    for (const next of found.local) {
      if (/\.(ts|mts|js|mjs)$/.test(next)) walk(next, [...chain, next]);
    }
  };
  walk(entry, [entry]);
  return seen;
}

const rel = (file: string) => relative(ROOT, file);

describe('the platform seam', () => {
  it('nothing reachable from src/browser.ts imports a Node module', () => {
    const modules = reachable(resolve(ROOT, 'src/browser.ts'));
    const files = [...modules.keys()].map(rel);
    // The walk does reach the core, the browser platform and its kernel-thread worker.
    expect(files).toEqual(expect.arrayContaining(['src/model/sequential.ts', 'src/platform/browser.ts', 'src/platform/browser-worker.mjs', 'src/backend/kernel-thread.mjs', 'src/data/idx-format.ts']));
    const offenders = [...modules].flatMap(([, { chain, external }]) =>
      external.filter((spec) => NODE_BUILTINS.has(spec)).map((spec) => `${chain.map(rel).join(' → ')} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
    // The Node platform and the file modules stay out of the browser's graph altogether.
    for (const nodeOnly of ['src/platform/node.ts', 'src/platform/node-files.ts', 'src/model/load-files.ts', 'src/model/serialization.ts', 'src/data/mnist.ts', 'src/data/idx.ts', 'src/atomic.ts']) {
      expect(files).not.toContain(nodeOnly);
    }
    // No bare package imports either: the browser entry needs no bundler to resolve dependencies.
    expect([...modules.values()].flatMap((m) => m.external)).toEqual([]);
  });

  it('the files the walk reaches exist (the walk follows real paths)', () => {
    for (const file of reachable(resolve(ROOT, 'src/browser.ts')).keys()) expect(existsSync(file), rel(file)).toBe(true);
  });

  it('Node programs get the Node platform without going through an entry', () => {
    expect(platform().name).toBe('node');
  });

  it("Node's init compiles the kernels and says what runs (code can be shared with the browser entry)", async () => {
    try {
      const info = await init({ threads: 1 });
      expect(info).toEqual({ threads: 1, simd: platform().relaxedSimdSupported() ? 'relaxed' : 'plain' });
      expect(new Sequential([new Dense({ units: 2, inputShape: [3] })]).backend.threads).toBe(1);
    } finally {
      setDefaultThreads(1);
    }
  });

  it('a browser-style save says what to use instead, before touching anything', async () => {
    const { browserPlatform } = await import('../src/platform/browser.ts');
    await expect(browserPlatform.saveModel('models/x', { modelJson: () => '', weights: new Uint8Array() }, {})).rejects.toThrow(/use model\.toArtifacts\(\)/);
    expect(() => browserPlatform.compileKernels('plain')).toThrow(/await init\(\) before building a model/);
  });
});

describe('model artifacts (toArtifacts / modelFromArtifacts)', () => {
  const tempDir = useTempDirs('engine-platform-');

  function smallCnn(seed: number): Sequential {
    return new Sequential(
      [
        new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
        new MaxPooling2D({ poolSize: 2 }),
        new Flatten(),
        new Dense({ units: 3, activation: 'softmax' }),
      ],
      { seed },
    );
  }

  it('toArtifacts gives the very bytes save writes, and modelFromArtifacts reads them back', async () => {
    const model = smallCnn(3);
    model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const dir = tempDir();
    await model.save(dir);
    const artifacts = model.toArtifacts();
    expect(artifacts.modelJson).toBe(readFileSync(resolve(dir, 'model.json'), 'utf8'));
    expect(Buffer.from(artifacts.weights).equals(readFileSync(resolve(dir, 'weights.bin')))).toBe(true);

    const x = Tensor.from(Float32Array.from({ length: 2 * 64 }, (_, i) => (i % 7) / 7), [2, 8, 8, 1]);
    const fromBytes = modelFromArtifacts(artifacts.modelJson, artifacts.weights);
    const fromObject = modelFromArtifacts(JSON.parse(artifacts.modelJson), artifacts.weights.slice().buffer);
    const fromFolder = await loadModel(dir);
    const expected = model.predict(x).data;
    for (const loaded of [fromBytes, fromObject, fromFolder]) {
      expect(Array.from(loaded.predict(x).data)).toEqual(Array.from(expected));
      expect(loaded.optimizer?.constructor.name).toBe('Adam');
    }
    for (const m of [model, fromBytes, fromObject, fromFolder]) m.dispose();
  });

  it('modelFromArtifacts checks what loadModel checks, naming the problem', () => {
    const model = smallCnn(4);
    const { modelJson, weights } = model.toArtifacts();
    expect(() => modelFromArtifacts(modelJson, weights.subarray(4))).toThrow(/weights\.bin: \d+ bytes, but the manifest needs \d+/);
    expect(() => modelFromArtifacts('{"format": "layers-model", ', weights)).toThrow(/model\.json is not valid JSON/);
    expect(() => modelFromArtifacts(modelJson.replace('"Conv2D"', '"Conv3D"'), weights)).toThrow(/unknown layer class "Conv3D"/);
    const nan = weights.slice();
    new Float32Array(nan.buffer)[5] = Number.NaN;
    expect(() => modelFromArtifacts(modelJson, nan)).toThrow(/weight "conv2d(_\w+)?\/kernel" has the value NaN at index 5/);
    expect(() => modelFromArtifacts(modelJson, 'weights' as unknown as Uint8Array)).toThrow(/ArrayBuffer or a Uint8Array/);
    // Unaligned bytes (a slice of a bigger download) are fine.
    const padded = new Uint8Array(weights.length + 1);
    padded.set(weights, 1);
    const again = modelFromArtifacts(modelJson, padded.subarray(1));
    expect(again.getWeights().map((w) => Array.from(w.data))).toEqual(model.getWeights().map((w) => Array.from(w.data)));
    again.dispose();
  });

  it('toArtifacts refuses NaN weights as save does', () => {
    const model = smallCnn(5);
    const weights = model.getWeights();
    weights[0].data[0] = Number.NaN;
    model.setWeights(weights);
    expect(() => model.toArtifacts()).toThrow(/toArtifacts: weight "conv2d(_\w+)?\/kernel" has the value NaN at index 0/);
    model.dispose();
  });
});
