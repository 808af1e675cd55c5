// The playground's pieces that need no browser: the code it shares with the CLI and the report
// has no Node import, its live curves use the report's line chart, its file sorting, and the dev
// server's headers and MNIST folder.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { lineChart } from '../src/report/charts.ts';
import { assembleModel, idxRole } from '../web/files.ts';
import { startPlayground, type PlaygroundServer } from '../web/serve.ts';
import { MNIST_DIR } from './paths.ts';

/** The modules a file imports, followed through relative imports. */
function importsOf(file: URL, seen = new Set<string>()): Set<string> {
  if (seen.has(file.href)) return seen;
  seen.add(file.href);
  const source = readFileSync(file, 'utf8');
  for (const [, spec] of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
    if (spec.startsWith('.')) importsOf(new URL(spec, file), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('code the playground shares', () => {
  it('imports no node: module: the digit preparation, the charts, the presets and the page', () => {
    for (const entry of ['../src/data/digit.ts', '../src/report/charts.ts', '../src/report/svg.ts', '../web/main.ts', '../web/files.ts']) {
      const nodeImports = [...importsOf(new URL(entry, import.meta.url))].filter((s) => s.startsWith('node:') || ['fs', 'path', 'os'].includes(s));
      expect(nodeImports, entry).toEqual([]);
    }
    // The presets import the layers' own modules, not the Node entry.
    const presets = [...importsOf(new URL('../src/cli/presets.ts', import.meta.url))];
    expect(presets.some((s) => s.endsWith('/src/index.ts'))).toBe(false);
  });

  it("draws live curves with the report's line chart: points within epochs, on an axis spanning the planned epochs", () => {
    const fig = lineChart({
      name: 'live',
      title: 'Loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      pointsPerEpoch: 4,
      epochs: 3,
      series: [{ label: 'training', values: [2, 1, 0.6, 0.5, 0.45, 0.4], color: '#000' }],
    });
    const line = /<polyline points="([^"]+)"/.exec(fig.body)![1].split(' ').map((p) => Number(p.split(',')[0]));
    expect(line).toHaveLength(6);
    const step = line[1] - line[0];
    for (let i = 1; i < line.length; i++) expect(line[i] - line[i - 1]).toBeCloseTo(step, 1);
    // Ticks 0, 1, 2, 3: the axis covers all three epochs though only 1.5 are done.
    const ticks = [...fig.body.matchAll(/text-anchor="middle" fill="#616e7c">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(ticks).toEqual([0, 1, 2, 3]);
    expect(line[3] - line[0]).toBeCloseTo(3 * step, 1); // epoch 1 is 4 points
    // Per-epoch charts are unchanged: one value per epoch at 1, 2, 3.
    const perEpoch = lineChart({ name: 'l', title: 't', xLabel: 'epoch', yLabel: 'y', series: [{ label: 'a', values: [3, 2, 1], color: '#000' }] });
    expect([...perEpoch.body.matchAll(/text-anchor="middle" fill="#616e7c">(\d+)<\/text>/g)].map((m) => Number(m[1]))).toEqual([1, 2, 3]);
  });

  it('sorts dropped files: the MNIST IDX names (.gz or not, either spelling) and model.json with the weights its manifest names', () => {
    expect(idxRole('train-images-idx3-ubyte.gz')).toBe('trainImages');
    expect(idxRole('t10k-labels.idx1-ubyte')).toBe('testLabels');
    expect(idxRole('model.json')).toBeUndefined();
    const json = JSON.stringify({ weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [] }] });
    const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
    const model = assembleModel([
      { name: 'group1-shard2of2.bin', bytes: new Uint8Array([3, 4]).buffer },
      { name: 'model.json', bytes: enc(json) },
      { name: 'group1-shard1of2.bin', bytes: new Uint8Array([1, 2]).buffer },
    ]);
    expect(Array.from(model.weights)).toEqual([1, 2, 3, 4]);
    expect(() => assembleModel([{ name: 'model.json', bytes: enc(json) }])).toThrow(/names group1-shard1of2\.bin, group1-shard2of2\.bin: pick them with model\.json/);
    // A single weights file may have another name.
    const single = JSON.stringify({ weightsManifest: [{ paths: ['weights.bin'], weights: [] }] });
    expect(Array.from(assembleModel([{ name: 'model.json', bytes: enc(single) }, { name: 'weights (1).bin', bytes: new Uint8Array([9]).buffer }]).weights)).toEqual([9]);
    expect(() => assembleModel([{ name: 'weights.bin', bytes: new ArrayBuffer(4) }])).toThrow(/no model\.json/);
  });
});

describe.skipIf(!MNIST_DIR)('npm run playground', () => {
  let served: PlaygroundServer | undefined;
  afterAll(async () => served?.server.close());

  it('serves the page with the cross-origin isolation headers and the MNIST folder under /mnist/', async () => {
    served = await startPlayground({ port: 0, dataDir: MNIST_DIR, quiet: true, hmr: false });
    const page = await fetch(served.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await page.text()).toContain('data-testid="draw"');
    const labels = await fetch(new URL('mnist/t10k-labels-idx1-ubyte.gz', served.url));
    expect(labels.status).toBe(200);
    expect(labels.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const bytes = new Uint8Array(await labels.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const escape = await fetch(new URL('mnist/..%2Fpackage.json', served.url));
    expect(escape.status).toBe(404);
    expect(await escape.text()).not.toContain('"devDependencies"');
    expect((await fetch(new URL('mnist/nothing-here', served.url))).status).toBe(404);
  });
});
