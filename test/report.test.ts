import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confusionHeatmap, epochTicks, niceTicks } from '../src/report/charts.ts';
import { DATASETS } from '../src/data/mnist.ts';
import {
  buildReport,
  mostConfidentMistakes,
  sampleIndices,
  seededRandom,
  writeReport,
  type ReportInput,
} from '../src/report/index.ts';
import { PNG_SCALE } from '../src/report/raster.ts';
import { esc, textWidth } from '../src/report/svg.ts';

const N = 50;
const H = 28;
const W = 28;
const K = 10;

function syntheticInput(outDir: string, opts: { cnn?: boolean; epochs?: number; validation?: boolean } = {}): ReportInput {
  const rand = seededRandom(1234);
  const images = new Float32Array(N * H * W).map(() => (rand() < 0.2 ? rand() : 0));
  const labels = new Uint8Array(N).map(() => Math.floor(rand() * K));
  const probabilities = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    let z = 0;
    for (let c = 0; c < K; c++) z += probabilities[i * K + c] = Math.exp(3 * rand());
    for (let c = 0; c < K; c++) probabilities[i * K + c] /= z;
  }
  const confusionMatrix = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let right = 0;
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let c = 1; c < K; c++) if (probabilities[i * K + c] > probabilities[i * K + best]) best = c;
    confusionMatrix[labels[i]][best]++;
    if (best === labels[i]) right++;
  }
  const epochs = opts.epochs ?? 3;
  const validation = opts.validation ?? true;
  const series = (f: (e: number) => number) => Array.from({ length: epochs }, (_, e) => f(e));
  return {
    outDir,
    title: 'MNIST cnn — 2026-11-28 18:40',
    modelName: opts.cnn === false ? 'mlp' : 'cnn',
    summary: 'Model: "sequential"\n Layer (type)   Output Shape   Param #\n dense (Dense)  (None, 10)     7850\nTotal params: 7,850',
    history:
      epochs > 0
        ? {
            loss: series((e) => 1 / (e + 1)),
            accuracy: series((e) => 0.8 + 0.05 * e),
            valLoss: validation ? series((e) => 1.1 / (e + 1)) : undefined,
            valAccuracy: validation ? series((e) => 0.78 + 0.05 * e) : undefined,
            seconds: series(() => 1.5),
          }
        : undefined,
    testAccuracy: right / N,
    testLoss: 2.1,
    reference: { accuracy: 0.9754, name: 'Keras MLP', source: 'the Keras MLP this project started from' },
    confusionMatrix,
    trainSeconds: epochs > 0 ? 1.5 * epochs : undefined,
    machine: { cpu: 'Test CPU <x86>', cores: 2, node: 'v20.0.0', platform: 'linux x64', simd: 'simd128', threads: 1 },
    test: { images, labels, probabilities, count: N, height: H, width: W, classes: K },
    firstConvKernel:
      opts.cnn === false
        ? undefined
        : { data: new Float32Array(3 * 3 * 1 * 8).map(() => rand() - 0.5), kernelH: 3, kernelW: 3, inChannels: 1, filters: 8 },
  };
}

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input', 'source', 'area', 'base', 'col', 'wbr']);

/** Checks that tags are balanced and properly nested; returns the problems found. */
function wellFormednessProblems(html: string): string[] {
  const problems: string[] = [];
  const body = html
    .replace(/^<!DOCTYPE html>/i, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<style>[\s\S]*?<\/style>/g, '<style></style>');
  const stack: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>/g;
  let last = 0;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const between = body.slice(last, m.index);
    if (/[<>]/.test(between)) problems.push(`stray < or > near: ${between.slice(0, 60)}`);
    last = re.lastIndex;
    const [, closing, rawName, , selfClosing] = m;
    const name = rawName.toLowerCase();
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else if (!selfClosing && !VOID.has(name)) {
      stack.push(name);
    }
  }
  if (/[<>]/.test(body.slice(last))) problems.push('stray < or > at the end');
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

/** The HTML of the element starting at `start` (an opening tag), up to its matching close. */
function elementAt(html: string, start: number): string {
  const name = /^<([a-zA-Z][\w-]*)/.exec(html.slice(start))![1];
  const re = new RegExp(`<(/?)${name}\\b[^>]*?(/?)>`, 'g');
  re.lastIndex = start;
  let depth = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    if (m[2]) continue;
    depth += m[1] ? -1 : 1;
    if (depth === 0) return html.slice(start, re.lastIndex);
  }
  throw new Error(`unclosed <${name}>`);
}

function section(html: string, id: string): string {
  const i = html.indexOf(`<section id="${id}"`);
  expect(i, `section #${id}`).toBeGreaterThanOrEqual(0);
  return elementAt(html, i);
}

const attr = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];

describe('writeReport (CNN, 3 epochs with validation)', () => {
  let dir: string;
  let input: ReportInput;
  let path: string;
  let html: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-test-'));
    input = syntheticInput(join(dir, 'out'));
    path = await writeReport(input);
    html = await readFile(path, 'utf8');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes report.html and one PNG per picture, and nothing else', async () => {
    expect(path).toBe(join(input.outDir, 'report.html'));
    const files = (await readdir(input.outDir)).sort();
    expect(files).toEqual(
      ['accuracy.png', 'comparison.png', 'confusion.png', 'confusion-normalized.png', 'filters.png', 'loss.png', 'mistakes.png', 'report.html', 'samples.png'].sort(),
    );
  });

  it('produces well-formed HTML', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(wellFormednessProblems(html)).toEqual([]);
    expect(html).toContain('<title>MNIST cnn — 2026-11-28 18:40</title>');
    // Text from the input is escaped.
    expect(html).toContain('Test CPU &lt;x86&gt;');
  });

  it('has a heading and its figures in every picture section', () => {
    const expected: Record<string, string[]> = {
      'accuracy-vs-reference': ['comparison'],
      training: ['loss', 'accuracy'],
      confusion: ['confusion', 'confusion-normalized'],
      mistakes: ['mistakes'],
      samples: ['samples'],
      filters: ['filters'],
    };
    for (const [id, figs] of Object.entries(expected)) {
      const s = section(html, id);
      expect(s).toMatch(/<h2>[^<]+<\/h2>/);
      const found = [...s.matchAll(/<figure class="figure" data-figure="([^"]+)">/g)].map((m) => m[1]);
      expect(found, id).toEqual(figs);
      expect((s.match(/<svg /g) ?? []).length, id).toBe(figs.length);
      for (const f of figs) expect(s).toContain(`href="${f}.png"`);
    }
    expect(html.match(/<figure /g)?.length).toBe(8);
    // The model summary and the machine.
    expect(section(html, 'model')).toContain('dense (Dense)');
    expect(section(html, 'run')).toContain('simd128');
  });

  it('references nothing outside the page and its folder', () => {
    expect(html).not.toMatch(/\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|<script|<link|<iframe|<object|<embed/i);
    expect(html).not.toMatch(/https?:\/\//i);
    // Every src/href is a data URI, a fragment or a sibling PNG.
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) {
      expect(m[1]).toMatch(/^(data:image\/png;base64,|#|[a-z-]+\.png$)/);
    }
  });

  it('shows confusion-matrix counts that add up to the number of test images', () => {
    const s = elementAt(html, html.indexOf('<svg class="figure-svg" id="fig-confusion"'));
    const cells = [...s.matchAll(/<rect [^>]*class="cm-cell"[^>]*>/g)].map((m) => m[0]);
    expect(cells).toHaveLength(K * K);
    const total = cells.reduce((a, c) => a + Number(attr(c, 'data-count')), 0);
    expect(total).toBe(N);
    // The numbers written in the cells say the same (zero cells are left blank).
    const written = [...s.matchAll(/class="cm-count">(\d+)<\/text>/g)].reduce((a, m) => a + Number(m[1]), 0);
    expect(written).toBe(N);
    for (const c of cells) {
      const i = Number(attr(c, 'data-true'));
      const j = Number(attr(c, 'data-pred'));
      expect(Number(attr(c, 'data-count'))).toBe(input.confusionMatrix[i][j]);
    }
  });

  it('writes PNGs that decode to the pictures’ sizes', async () => {
    const { figures } = buildReport(input);
    expect(figures.map((f) => f.name).sort()).toEqual(['accuracy', 'comparison', 'confusion', 'confusion-normalized', 'filters', 'loss', 'mistakes', 'samples']);
    for (const f of figures) {
      const png = PNG.sync.read(await readFile(join(input.outDir, `${f.name}.png`)));
      expect([png.width, png.height], f.name).toEqual([f.width * PNG_SCALE, f.height * PNG_SCALE]);
      // Not blank: some pixels are dark (text, lines).
      let dark = 0;
      for (let p = 0; p < png.data.length; p += 4) if (png.data[p] + png.data[p + 1] + png.data[p + 2] < 300) dark++;
      expect(dark, f.name).toBeGreaterThan(100);
    }
  });

  it('captions the most confident mistakes with the right true/predicted pairs, most confident first', () => {
    // Independent reference: argmax and confidence straight from the probabilities.
    const expected: { i: number; label: number; pred: number; conf: number }[] = [];
    for (let i = 0; i < N; i++) {
      const row = Array.from(input.test.probabilities.subarray(i * K, (i + 1) * K));
      const pred = row.indexOf(Math.max(...row));
      if (pred !== input.test.labels[i]) expected.push({ i, label: input.test.labels[i], pred, conf: row[pred] });
    }
    expected.sort((a, b) => b.conf - a.conf || a.i - b.i);
    const shown = expected.slice(0, 36);
    expect(shown.length).toBeGreaterThan(0);

    const s = section(html, 'mistakes');
    const tiles = [...s.matchAll(/<g class="tile"[^>]*>/g)].map((m) => m[0]);
    expect(tiles).toHaveLength(shown.length);
    tiles.forEach((t, k) => {
      const e = shown[k];
      expect(Number(attr(t, 'data-index'))).toBe(e.i);
      expect(Number(attr(t, 'data-true'))).toBe(e.label);
      expect(Number(attr(t, 'data-pred'))).toBe(e.pred);
      const caption = `true ${e.label} / predicted ${e.pred} (${e.conf.toFixed(2)})`;
      expect(attr(t, 'data-caption')).toBe(caption);
      expect(s).toContain(`<title>${caption}</title>`);
    });
    // The visible caption lines.
    expect(s).toContain(`>true ${shown[0].label} / predicted ${shown[0].pred}</text>`);
    expect(mostConfidentMistakes(input.test, 36).map((p) => p.index)).toEqual(shown.map((e) => e.i));
  });

  it('colours random samples green when right and red when wrong', () => {
    const s = section(html, 'samples');
    const tiles = [...s.matchAll(/<g class="tile"[^>]*>([\s\S]*?)<\/g>/g)];
    expect(tiles).toHaveLength(24);
    for (const [tag, inner] of tiles) {
      const right = attr(tag, 'data-right') === '1';
      expect(attr(tag, 'data-true') === attr(tag, 'data-pred')).toBe(right);
      const fills = [...inner.matchAll(/<text [^>]*fill="([^"]+)"/g)].map((m) => m[1]);
      expect(new Set(fills)).toEqual(new Set([right ? '#15803d' : '#b91c1c']));
    }
  });

  it('leaves no temporary files and gives the same report for the same input', async () => {
    expect((await readdir(input.outDir)).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(buildReport(input).html).toBe(html);
  });
});

describe('writeReport variants', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-variants-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has no filters section or PNG without a first conv kernel (and removes a stale filters.png)', async () => {
    const input = syntheticInput(join(dir, 'mlp'), { cnn: false });
    await writeReport(syntheticInput(input.outDir)); // a CNN report first, in the same folder
    expect(await readdir(input.outDir)).toContain('filters.png');
    const html = await readFile(await writeReport(input), 'utf8');
    expect(await readdir(input.outDir)).not.toContain('filters.png');
    expect(html).not.toContain('id="filters"');
    expect(html).not.toContain('filters.png');
    expect(wellFormednessProblems(html)).toEqual([]);
  });

  it('shows points for a single epoch', async () => {
    const input = syntheticInput(join(dir, 'one'), { epochs: 1 });
    const html = await readFile(await writeReport(input), 'utf8');
    for (const id of ['fig-loss', 'fig-accuracy']) {
      const svg = elementAt(html, html.indexOf(`<svg class="figure-svg" id="${id}"`));
      expect((svg.match(/class="series-point"/g) ?? []).length, id).toBe(2); // training + validation
      expect(svg).not.toContain('class="series-line"');
    }
    const png = PNG.sync.read(await readFile(join(input.outDir, 'loss.png')));
    expect(png.width).toBeGreaterThan(0);
  });

  it('omits the training curves for an evaluation (no history)', async () => {
    const input = syntheticInput(join(dir, 'eval'), { epochs: 0 });
    const html = await readFile(await writeReport(input), 'utf8');
    const files = await readdir(input.outDir);
    expect(files).not.toContain('loss.png');
    expect(files).not.toContain('accuracy.png');
    expect(files).toContain('confusion.png');
    expect(html).not.toContain('id="training"');
    expect(html).toContain('evaluation');
    expect(wellFormednessProblems(html)).toEqual([]);
  });

  it('has no validation series when there is no validation history', async () => {
    const { html } = buildReport(syntheticInput(join(dir, 'noval'), { epochs: 4, validation: false }));
    const svg = elementAt(html, html.indexOf('<svg class="figure-svg" id="fig-loss"'));
    expect(svg).toContain('>training</text>');
    expect(svg).not.toContain('>validation</text>');
  });

  it('copes with odd inputs: non-finite losses, no mistakes, a multi-channel kernel', async () => {
    const base = syntheticInput(join(dir, 'odd'));
    const probabilities = new Float32Array(N * K);
    const confusionMatrix = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    for (let i = 0; i < N; i++) {
      probabilities[i * K + base.test.labels[i]] = 1;
      confusionMatrix[base.test.labels[i]][base.test.labels[i]]++;
    }
    const input: ReportInput = {
      ...base,
      testAccuracy: 1,
      confusionMatrix,
      history: { loss: [NaN, 0.5, Infinity, 0.3], accuracy: [0.5, 0.6, 0.7, 0.8], seconds: [1, 1, 1, NaN] },
      test: { ...base.test, probabilities },
      firstConvKernel: { data: new Float32Array(5 * 5 * 2 * 4).map((_, i) => Math.sin(i)), kernelH: 5, kernelW: 5, inChannels: 2, filters: 4 },
    };
    const html = await readFile(await writeReport(input), 'utf8');
    expect(wellFormednessProblems(html)).toEqual([]);
    expect(html).not.toMatch(/NaN|Infinity/);
    expect(section(html, 'mistakes')).toContain(`No mistakes among the ${N} test images.`);
    expect((section(html, 'filters').match(/<g class="filter"/g) ?? []).length).toBe(8);
    for (const f of await readdir(input.outDir)) {
      if (f.endsWith('.png')) expect(PNG.sync.read(await readFile(join(input.outDir, f))).width, f).toBeGreaterThan(0);
    }
  });

  it('overwrites an existing report atomically', async () => {
    const input = syntheticInput(join(dir, 'again'));
    await writeReport(input);
    await writeFile(join(input.outDir, 'report.html'), 'old');
    const html = await readFile(await writeReport({ ...input, title: 'second' }), 'utf8');
    expect(html).toContain('<title>second</title>');
    expect((await readdir(input.outDir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

describe('report helpers', () => {
  it('picks seeded, distinct, sorted sample indices', () => {
    const a = sampleIndices(100, 24, 7);
    expect(a).toEqual(sampleIndices(100, 24, 7));
    expect(new Set(a).size).toBe(24);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(a.every((i) => i >= 0 && i < 100)).toBe(true);
    expect(sampleIndices(100, 24, 8)).not.toEqual(a);
    expect(sampleIndices(5, 24, 7)).toEqual([0, 1, 2, 3, 4]);
  });

  it('has a well-formedness check that catches broken markup', () => {
    expect(wellFormednessProblems('<div><p>a<br></p><svg><rect/></svg></div>')).toEqual([]);
    expect(wellFormednessProblems('<div><span></div>')).not.toEqual([]);
    expect(wellFormednessProblems('<div>')).not.toEqual([]);
    expect(wellFormednessProblems('<div title="a>b"></div>')).toEqual([]);
    expect(wellFormednessProblems('<div>1 < 2</div>')).not.toEqual([]);
  });

  it('makes round ticks', () => {
    expect(niceTicks(0.013, 0.41, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(epochTicks(1)).toEqual([1]);
    expect(epochTicks(3)).toEqual([1, 2, 3]);
    expect(epochTicks(50)).toEqual([1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  });
});

describe('the pictures, as a data scientist reads them', () => {
  const svgOf = (html: string, name: string) => elementAt(html, html.indexOf(`<svg class="figure-svg" id="fig-${name}"`));
  const texts = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

  it('compares with the reference in a dot plot with the values written, not a truncated bar', () => {
    const input = syntheticInput('/unused');
    const { html } = buildReport({ ...input, testAccuracy: 0.9862 });
    const svg = svgOf(html, 'comparison');
    expect(svg).not.toContain('<rect');
    expect((svg.match(/class="comparison-dot"/g) ?? []).length).toBe(2);
    expect(texts(svg, 'comparison-value')).toEqual(['98.62%', '97.54%']);
    expect(texts(svg, 'reference-source').join(' ')).toContain('the Keras MLP this project started from');
  });

  it('has no comparison when the model has no reference', () => {
    const { html, figures } = buildReport({ ...syntheticInput('/unused'), reference: undefined });
    expect(figures.map((f) => f.name)).not.toContain('comparison');
    expect(html).toContain('There is no published reference for this model.');
  });

  it('fits the accuracy axis to the curves, naming a reference that lies outside it', () => {
    const input = syntheticInput('/unused');
    const h = input.history!;
    const { html } = buildReport({ ...input, history: { ...h, accuracy: [0.5, 0.55, 0.6], valAccuracy: [0.52, 0.57, 0.62] } });
    const svg = svgOf(html, 'accuracy');
    const yTicks = [...svg.matchAll(/text-anchor="end" fill="#616e7c">(\d+)%<\/text>/g)].map((m) => Number(m[1]));
    expect(Math.max(...yTicks)).toBeLessThanOrEqual(70);
    expect(Math.min(...yTicks)).toBeGreaterThanOrEqual(40);
    expect(texts(svg, 'reference-off-axis')).toEqual(['↑ Keras MLP (test) 97.54% (above this axis)']);
  });

  it('labels every epoch up to 20, and a round step that ends on the last epoch beyond', () => {
    expect(epochTicks(20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(epochTicks(23)).toEqual([1, 5, 10, 15, 20, 23]);
    expect(epochTicks(21)).toEqual([1, 5, 10, 15, 21]);
    expect(epochTicks(150).at(-1)).toBe(150);
  });

  it('explains under the accuracy chart why training accuracy sits below validation accuracy', () => {
    const input = { ...syntheticInput('/unused'), hasDropout: true, config: { randomShift: 1 } };
    const notes = texts(svgOf(buildReport(input).html, 'accuracy'), 'footnote').join(' ');
    expect(notes).toContain('with dropout and random shifts on');
    expect(notes).toContain('training curve can sit below the validation curve');
  });

  it('draws both confusion matrices in one sequential colour map with a numbered colour bar', () => {
    const cm = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? 90 : j === (i + 1) % K ? 5 : 0)));
    cm[3][3] = 5; // a diagonal cell with the same count as the off-diagonal ones
    const { html } = buildReport({ ...syntheticInput('/unused'), confusionMatrix: cm });
    const counts = svgOf(html, 'confusion');
    const fill = (i: number, j: number) => attr(new RegExp(`<rect [^>]*data-true="${i}" data-pred="${j}"[^>]*>`).exec(counts)![0], 'fill');
    expect(fill(3, 3)).toBe(fill(0, 1)); // same count, same colour, on or off the diagonal
    expect(fill(0, 0)).not.toBe(fill(0, 1));
    expect(texts(counts, 'colorbar-tick').map(Number)).toEqual([0, 20, 40, 60, 80]);
    expect(counts).toContain('>predicted digit</text>');
    expect(counts).toContain('>true digit</text>');
    // Precision under each column, recall beside each row.
    expect(texts(counts, 'cm-precision')[4]).toBe(`${((90 / 95) * 100).toFixed(1)}%`);
    expect(texts(counts, 'cm-recall')[3]).toBe(`${((5 / 10) * 100).toFixed(1)}%`);
    const shares = svgOf(html, 'confusion-normalized');
    expect(texts(shares, 'colorbar-tick')).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
    expect(texts(shares, 'cm-share').slice(0, 2)).toEqual(['95%', '5.3%']); // row 0: 90 and 5 of 95
    // 999 of 1000 is written 99.9%, not a rounded-up 100%.
    const near = buildReport({ ...syntheticInput('/unused'), confusionMatrix: [[999, 1], [0, 5]] }).html;
    expect(texts(svgOf(near, 'confusion-normalized'), 'cm-share')).toEqual(['99.9%', '0.1%', '100%']);
  });

  it('names the classes in the heatmaps: names wider than a cell turned 45°, all inside the picture, axes titled "class"', () => {
    const names = DATASETS['fashion-mnist'].classNames;
    const cm = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? 900 : 11)));
    for (const normalize of [false, true]) {
      const fig = confusionHeatmap(cm, { labels: names, normalize });
      const body = fig.body;
      expect(body).toContain('>predicted class</text>');
      expect(body).toContain('>true class</text>');
      expect(body).not.toMatch(/digit/);
      const columns = [...body.matchAll(/<text ([^>]*class="cm-column-label"[^>]*)>([^<]*)<\/text>/g)];
      const rows = [...body.matchAll(/<text ([^>]*class="cm-row-label"[^>]*)>([^<]*)<\/text>/g)];
      expect(columns.map((m) => m[2])).toEqual(names);
      expect(rows.map((m) => m[2])).toEqual(names);
      const axisTitle = Number(/<text x="[^"]*" y="([^"]*)"[^>]*>predicted class<\/text>/.exec(body)![1]);
      for (const [, attrs, label] of columns) {
        const x = Number(attr(attrs, 'x'));
        const y = Number(attr(attrs, 'y'));
        expect(attr(attrs, 'transform')).toBe(`rotate(-45 ${x} ${y})`);
        // Turned 45°, the name rises to the right: its far end stays in the picture and below the axis title.
        const reach = textWidth(label, 13) * Math.SQRT1_2;
        expect(x + reach + 13, label).toBeLessThanOrEqual(fig.width);
        expect(y - reach - 13, label).toBeGreaterThan(axisTitle);
      }
      for (const [, attrs, label] of rows) {
        expect(attr(attrs, 'text-anchor')).toBe('end');
        expect(Number(attr(attrs, 'x')) - textWidth(label, 13), label).toBeGreaterThan(40); // clear of the "true class" title
      }
    }
    // Digits fit their cells: upright, as before.
    const digits = confusionHeatmap(cm).body;
    expect(digits).toContain('>predicted digit</text>');
    expect(digits).not.toContain('rotate(-45');
    expect(() => confusionHeatmap(cm, { labels: names.slice(0, 9) })).toThrow('9 class names for a confusion matrix of 10 classes');
  });

  it('speaks of classes and images, and captions them with class names, when the classes are not digits', () => {
    const names = DATASETS['fashion-mnist'].classNames;
    const input = { ...syntheticInput('/unused'), classNames: names, dataset: 'Fashion-MNIST', reference: undefined };
    const { html } = buildReport(input);
    // Every word of the page and its pictures, without the images' base64 data.
    expect(html.replace(/data:image\/png;base64,[^"]*/g, '')).not.toMatch(/digit/i);
    expect(html).toContain('There is no published reference for this model on Fashion-MNIST.');
    expect(section(html, 'samples')).toContain('<h2>Random test images</h2>');
    const mistakes = section(html, 'mistakes');
    const first = mostConfidentMistakes(input.test, 1)[0];
    const caption = `true ${names[first.label]} / predicted ${names[first.predicted]} (${first.confidence.toFixed(2)})`;
    expect(attr(/<g class="tile"[^>]*>/.exec(mistakes)![0], 'data-caption')).toBe(esc(caption));
    // One line each for the true and the predicted class: a grid of long names stays as wide as one of digits.
    expect(mistakes).toContain(`>true ${esc(names[first.label])}</text>`);
    expect(mistakes).toContain(`>predicted ${esc(names[first.predicted])}</text>`);
    expect(() => buildReport({ ...input, classNames: names.slice(0, 3) })).toThrow('the report got 3 class names for a confusion matrix of 10 classes');
  });

  it('draws all filters on one shared, numbered scale', () => {
    // Filter 1's weights are all 0.1, filter 2's range up to 1: 0.1 must look the same in both.
    const data = new Float32Array(3 * 3 * 1 * 2);
    for (let i = 0; i < 9; i++) {
      data[i * 2] = 0.1;
      data[i * 2 + 1] = i === 0 ? 0.1 : i / 8;
    }
    const { html } = buildReport({ ...syntheticInput('/unused'), firstConvKernel: { data, kernelH: 3, kernelW: 3, inChannels: 1, filters: 2 } });
    const svg = svgOf(html, 'filters');
    const fills = (f: number) => {
      const g = elementAt(svg, svg.indexOf(`<g class="filter" data-filter="${f}"`));
      return [...g.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    };
    expect(fills(0)[0]).toBe(fills(1)[0]);
    expect(texts(svg, 'colorbar-tick')).toEqual(['−1.0', '−0.5', '0.0', '0.5', '1.0']);
  });

  it('lists the hyperparameters from metrics.json’s config', () => {
    const config = { optimizer: 'Adam', learningRate: 0.001, batchSize: 128, epochs: 20, seed: 1, randomShift: 1, validationSplit: 0.1 };
    const s = section(buildReport({ ...syntheticInput('/unused'), config, trainImages: 60000 }).html, 'hyperparameters');
    for (const [k, v] of [
      ['Optimizer', 'Adam'],
      ['Learning rate', '0.001'],
      ['Batch size', '128'],
      ['Epochs', '20'],
      ['Seed', '1'],
      ['Augmentation', 'random shifts of up to 1 pixel in each direction, new each epoch'],
      ['Validation split', '10% of the training images (6,000) held out'],
    ]) {
      expect(s).toContain(`<tr><th>${k}</th><td>${v}</td></tr>`);
    }
  });

  it('writes counts with the right plural', () => {
    const one = buildReport(syntheticInput('/unused', { epochs: 1 })).html;
    expect(section(one, 'run')).toContain('(one epoch)');
    expect(one).not.toMatch(/\b1 epochs\b|on average over 1\b/);
    const three = buildReport(syntheticInput('/unused', { epochs: 3 })).html;
    expect(section(three, 'run')).toContain('on average over 3 epochs');
  });
});

describe('an evaluation page beside the training report', () => {
  it('writes evaluation.html and evaluation-*.png and leaves the training report and its pictures alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-eval-'));
    try {
      await writeReport(syntheticInput(dir));
      const before = new Map<string, Buffer>();
      for (const f of await readdir(dir)) before.set(f, await readFile(join(dir, f)));
      const path = await writeReport({ ...syntheticInput(dir, { epochs: 0 }), htmlFile: 'evaluation.html', pngPrefix: 'evaluation-' });
      expect(path).toBe(join(dir, 'evaluation.html'));
      for (const [f, bytes] of before) expect((await readFile(join(dir, f))).equals(bytes), f).toBe(true);
      const added = (await readdir(dir)).filter((f) => !before.has(f)).sort();
      expect(added).toContain('evaluation-confusion.png');
      expect(added.every((f) => f.startsWith('evaluation'))).toBe(true);
      const html = await readFile(path, 'utf8');
      expect(html).toContain('href="evaluation-confusion.png"');
      expect(html).not.toMatch(/href="confusion\.png"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
