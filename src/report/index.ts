/**
 * The training report: a self-contained report.html plus the same pictures as
 * PNG files, written into one folder.
 *
 *   const path = await writeReport(input); // -> <outDir>/report.html
 *
 * Every picture is built once as SVG (./charts.ts, ./grids.ts), inlined into
 * the page (./html.ts) and rasterised to PNG (./raster.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { comparisonDots, confusionHeatmap, decimalsFor, isDigitLabels, lineChart, percent } from './charts.ts';
import { digitGrid, filterGrid, type DigitTile } from './grids.ts';
import { formatDuration, fmtNumber, renderPage, table, type Card, type PageSection } from './html.ts';
import { svgToPng } from './raster.ts';
import { COLORS, esc, standaloneSvg, type Figure } from './svg.ts';
import { Random } from '../random.ts';
import { writeFileAtomic } from '../atomic.ts';

export interface ReportInput {
  outDir: string;
  /** e.g. 'MNIST cnn — 2026-11-28 18:40' */
  title: string;
  /** 'mlp' | 'cnn' | other */
  modelName: string;
  /** The dataset's name, e.g. 'Fashion-MNIST' (says where a reference is missing). */
  dataset?: string;
  /**
   * Class id -> name, e.g. 'Ankle boot'. Default: the class numbers, which the page calls digits
   * (MNIST); with other names it speaks of classes and images.
   */
  classNames?: readonly string[];
  /** The Keras-style model.summary() text table. */
  summary: string;
  /** Per epoch; absent for evaluate. */
  history?: { loss: number[]; accuracy: number[]; valLoss?: number[]; valAccuracy?: number[]; seconds: number[] };
  testAccuracy: number;
  testLoss: number;
  /** The published accuracy this model is compared with (e.g. the Keras MLP's 97.54%); none: no comparison. */
  reference?: { accuracy: number; name: string; source: string };
  /** The training's hyperparameters, as in metrics.json's `config`. */
  config?: TrainingConfig;
  /** Images the model was trained on (validation included), for the size of the validation split. */
  trainImages?: number;
  /** The model has Dropout layers (they explain part of the gap between the training and validation curves). */
  hasDropout?: boolean;
  /** classes x classes, rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  trainSeconds?: number;
  machine: { cpu: string; cores: number; node: string; platform: string; simd?: string; threads?: number };
  /** images N*H*W in [0,1] (white digit on black), probabilities N*classes. */
  test: {
    images: Float32Array;
    labels: Uint8Array;
    probabilities: Float32Array;
    count: number;
    height: number;
    width: number;
    classes: number;
  };
  /** Keras layout [kh, kw, in, filters], flat row-major; present for CNN models. */
  firstConvKernel?: { data: Float32Array; kernelH: number; kernelW: number; inChannels: number; filters: number };

  // Optional extras.
  /** Seed of the random sample grid (default 42): the same input gives the same report. */
  seed?: number;
  /** How many random test digits to show (default 24). */
  sampleCount?: number;
  /** How many of the most confident mistakes to show (default 36). */
  mistakeCount?: number;
  /** Free-form lines shown in the run section (e.g. optimizer, batch size, backend). */
  notes?: Record<string, string>;
  /** Name of the page (default report.html). */
  htmlFile?: string;
  /** Put before each picture's file name (default none): an evaluation writes evaluation-confusion.png etc. */
  pngPrefix?: string;
}

/** The hyperparameters of a training run, as metrics.json's `config` holds them. */
export interface TrainingConfig {
  optimizer?: string;
  learningRate?: number;
  batchSize?: number;
  epochs?: number;
  seed?: number;
  /** Random shifts of up to this many pixels while training (0: none). */
  randomShift?: number;
  /** Random affine maps while training (degrees, ±fraction, ±pixels), or null. */
  augment?: { rotation: number; zoom: number; shift: number } | null;
  /** The learning rate's factor per epoch (1 or absent: constant). */
  lrDecay?: number;
  validationSplit?: number;
}

/** File names written into outDir (PNG files only for the pictures that apply), without pngPrefix. */
export const REPORT_FILES = {
  html: 'report.html',
  comparison: 'comparison.png',
  loss: 'loss.png',
  accuracy: 'accuracy.png',
  confusion: 'confusion.png',
  confusionNormalized: 'confusion-normalized.png',
  mistakes: 'mistakes.png',
  samples: 'samples.png',
  filters: 'filters.png',
} as const;

export interface Prediction {
  index: number;
  label: number;
  predicted: number;
  /** Probability of the predicted class. */
  confidence: number;
}

/** The usable number of test examples: `count`, capped by what the arrays hold. */
export function usableCount(test: ReportInput['test']): number {
  const hw = test.height * test.width;
  return Math.max(
    0,
    Math.min(
      test.count,
      test.labels.length,
      hw > 0 ? Math.floor(test.images.length / hw) : 0,
      test.classes > 0 ? Math.floor(test.probabilities.length / test.classes) : 0,
    ),
  );
}

export function predictionOf(test: ReportInput['test'], index: number): Prediction {
  const k = test.classes;
  let best = 0;
  let bestP = -Infinity;
  for (let c = 0; c < k; c++) {
    const p = test.probabilities[index * k + c];
    if (p > bestP) {
      bestP = p;
      best = c;
    }
  }
  return { index, label: test.labels[index], predicted: best, confidence: Number.isFinite(bestP) ? bestP : 0 };
}

/** Misclassified examples, most confident first (ties: lower index first); at most `limit`. */
export function mostConfidentMistakes(test: ReportInput['test'], limit = 36): Prediction[] {
  const out: Prediction[] = [];
  const n = usableCount(test);
  for (let i = 0; i < n; i++) {
    const p = predictionOf(test, i);
    if (p.predicted !== p.label) out.push(p);
  }
  out.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return out.slice(0, Math.max(0, limit));
}

/** Uniform floats in [0, 1) from the engine's seeded generator (src/random.ts). */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** `k` distinct indices from [0, n), chosen by a seeded partial Fisher–Yates shuffle, in ascending order. */
export function sampleIndices(n: number, k: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(n, Math.max(0, k));
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m).sort((a, b) => a - b);
}

function imageOf(test: ReportInput['test'], index: number): Float32Array {
  const hw = test.height * test.width;
  return test.images.subarray(index * hw, (index + 1) * hw);
}

/** "true 3 / predicted 5 (0.97)"; with `classNames`, "true Shirt / predicted T-shirt/top (0.97)". */
export function mistakeCaption(p: Prediction, classNames?: readonly string[]): string {
  const name = (c: number) => classNames?.[c] ?? String(c);
  return `true ${name(p.label)} / predicted ${name(p.predicted)} (${p.confidence.toFixed(2)})`;
}

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);
const thousands = (n: number) => n.toLocaleString('en-US');

/** "1 epoch", "3 epochs", "10,000 test images". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${thousands(n)} ${n === 1 ? singular : pluralForm}`;
}

/** The hyperparameter table's rows, from metrics.json's config (missing entries are left out). */
export function hyperparameterRows(c: TrainingConfig, trainImages?: number): string[][] {
  const rows: string[][] = [];
  if (c.optimizer !== undefined) rows.push(['Optimizer', c.optimizer]);
  if (c.learningRate !== undefined) {
    rows.push(['Learning rate', c.lrDecay !== undefined && c.lrDecay !== 1 ? `${c.learningRate}, multiplied by ${c.lrDecay} after each epoch` : String(c.learningRate)]);
  }
  if (c.batchSize !== undefined) rows.push(['Batch size', String(c.batchSize)]);
  if (c.epochs !== undefined) rows.push(['Epochs', String(c.epochs)]);
  if (c.seed !== undefined) rows.push(['Seed', String(c.seed)]);
  if (c.augment) {
    const { rotation, zoom, shift } = c.augment;
    rows.push(['Augmentation', `random rotations up to ±${rotation}°, zooms up to ±${Math.round(zoom * 100)}%, shifts up to ±${plural(shift, 'pixel')}, a new map per image and step`]);
  } else if (c.randomShift !== undefined) {
    rows.push(['Augmentation', c.randomShift > 0 ? `random shifts of up to ${plural(c.randomShift, 'pixel')} in each direction, new each epoch` : 'none']);
  }
  if (c.validationSplit !== undefined) {
    const held = trainImages !== undefined ? Math.floor(trainImages * c.validationSplit) : undefined;
    rows.push([
      'Validation split',
      c.validationSplit > 0
        ? `${fmtPercentShort(c.validationSplit)} of the training images${held !== undefined ? ` (${thousands(held)}) held out` : ' held out'}`
        : 'none',
    ]);
  }
  return rows;
}

const fmtPercentShort = (v: number) => `${Number((v * 100).toPrecision(6))}%`;

/** Why the training curve sits below the validation curve, from what the training turned on. */
export function trainingGapNote(hasDropout: boolean, randomShift: number, augmented = false): string {
  const on = [hasDropout ? 'dropout' : '', augmented ? 'random rotations, zooms and shifts' : randomShift > 0 ? 'random shifts' : ''].filter(Boolean).join(' and ');
  return (
    `Training accuracy is measured during each epoch${on ? ` with ${on} on` : ''} and averaged over the epoch as the weights improve; ` +
    `validation accuracy is measured after the epoch on the held-out images as they are${on ? `, ${on} off` : ''}. ` +
    'That is why the training curve can sit below the validation curve: it is not a sign of a problem.'
  );
}

export interface BuiltReport {
  html: string;
  /** Pictures in page order; each is written as `<name>.png`. */
  figures: Figure[];
}

/** Builds the page and its pictures without touching the file system. */
export function buildReport(input: ReportInput): BuiltReport {
  const t = input.test;
  const n = usableCount(t);
  const cm = input.confusionMatrix;
  const names = input.classNames ?? Array.from({ length: cm.length }, (_, i) => String(i));
  if (names.length !== cm.length) {
    throw new Error(`the report got ${names.length} class names for a confusion matrix of ${cm.length} classes`);
  }
  // MNIST's classes are digits, and so are its images; other datasets have classes of images.
  const digits = isDigitLabels(names);
  const aClass = digits ? 'digit' : 'class';
  const classes = digits ? 'digits' : 'classes';
  const item = digits ? 'digit' : 'image';
  const name = (c: number) => names[c] ?? String(c);
  const cmTotal = sum(cm.map(sum));
  const ref = input.reference;
  const diffPp = ref ? (input.testAccuracy - ref.accuracy) * 100 : 0;
  const signedPp = `${diffPp >= 0 ? '+' : '−'}${Math.abs(diffPp).toFixed(2)}`;
  const hist = input.history;
  const sections: PageSection[] = [];
  const figures: Figure[] = [];
  const add = (s: PageSection) => {
    sections.push(s);
    figures.push(...(s.figures ?? []));
  };

  // Accuracy, and versus the reference when the model has one.
  const accuracySentence =
    `The ${input.modelName} model classifies ${percent(input.testAccuracy)} of the ${plural(cmTotal || n, 'test image')} correctly. ` +
    `Test loss: ${fmtNumber(input.testLoss)}.`;
  add(
    ref
      ? {
          id: 'accuracy-vs-reference',
          heading: 'Test accuracy',
          intro:
            `${accuracySentence} The reference, the ${ref.name}, reaches ${percent(ref.accuracy)} ` +
            `(source: ${ref.source}): a difference of ${signedPp} percentage points.`,
          figures: [
            comparisonDots({
              modelName: input.modelName,
              accuracy: input.testAccuracy,
              reference: ref.accuracy,
              referenceLabel: ref.name,
              referenceSource: ref.source,
            }),
          ],
        }
      : {
          id: 'accuracy',
          heading: 'Test accuracy',
          intro: `${accuracySentence} There is no published reference for this model${input.dataset ? ` on ${input.dataset}` : ''}.`,
        },
  );

  // Training curves.
  const h = input.history;
  if (h && (h.loss.length > 0 || h.accuracy.length > 0)) {
    const epochs = Math.max(h.loss.length, h.accuracy.length);
    const hasVal = (a?: number[]) => !!a && a.some((v) => Number.isFinite(v));
    const loss = lineChart({
      name: 'loss',
      title: 'Loss per epoch',
      xLabel: 'epoch',
      yLabel: 'cross-entropy loss',
      yFloor: 0,
      includeZero: true,
      series: [
        { label: 'training', values: h.loss, color: COLORS.train },
        ...(hasVal(h.valLoss) ? [{ label: 'validation', values: h.valLoss!, color: COLORS.validation, dashed: true }] : []),
      ],
    });
    const accuracy = lineChart({
      name: 'accuracy',
      title: 'Accuracy per epoch',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      yFloor: 0,
      yCeil: 1,
      valueFormat: (v) => percent(v),
      yTickFormat: (v, step) => `${(v * 100).toFixed(decimalsFor(step * 100))}%`,
      reference: ref ? { value: ref.accuracy, label: `${ref.name} (test) ${percent(ref.accuracy)}` } : undefined,
      footnote: hasVal(h.valAccuracy) ? trainingGapNote(!!input.hasDropout, input.config?.randomShift ?? 0, !!input.config?.augment) : undefined,
      series: [
        { label: 'training', values: h.accuracy, color: COLORS.train },
        ...(hasVal(h.valAccuracy) ? [{ label: 'validation', values: h.valAccuracy!, color: COLORS.validation, dashed: true }] : []),
      ],
    });
    const rows = Array.from({ length: epochs }, (_, i) => [
      String(i + 1),
      fmtNumber(h.loss[i]),
      h.accuracy[i] === undefined ? '–' : percent(h.accuracy[i]),
      fmtNumber(h.valLoss?.[i]),
      h.valAccuracy?.[i] === undefined ? '–' : percent(h.valAccuracy[i]),
      formatDuration(h.seconds[i]),
    ]);
    add({
      id: 'training',
      heading: 'Training curves',
      intro: `Training${hasVal(h.valLoss) || hasVal(h.valAccuracy) ? ' and validation' : ''} loss and accuracy after ${epochs === 1 ? 'the one epoch' : `each of the ${epochs} epochs`}.`,
      figures: [loss, accuracy],
      html:
        `<details><summary>Per-epoch numbers</summary>` +
        table(['epoch', 'loss', 'accuracy', 'val loss', 'val accuracy', 'time'], rows, [true, true, true, true, true, true]) +
        '</details>',
    });
  }

  // Confusion matrix: counts, and each row as shares of its true class (rare classes are not drowned out).
  add({
    id: 'confusion',
    heading: 'Confusion matrix',
    intro:
      `Rows are the true ${classes}, columns the predicted ones; the diagonal holds the correct answers. ` +
      `Left: counts. Right: each row divided by its total, so the diagonal is the recall of each ${aClass}. ` +
      `Recall (of the true ${classes}) stands right of each row, precision (of the predictions) under each column.`,
    figures: [confusionHeatmap(cm, { labels: names }), confusionHeatmap(cm, { labels: names, normalize: true })],
  });

  // Most confident mistakes.
  const mistakes = mostConfidentMistakes(t, input.mistakeCount ?? 36);
  let mistakesTotal = 0;
  for (let i = 0; i < n; i++) {
    const p = predictionOf(t, i);
    if (p.predicted !== p.label) mistakesTotal++;
  }
  const mistakeTiles: DigitTile[] = mistakes.map((p) => ({
    pixels: imageOf(t, p.index),
    caption: mistakeCaption(p, names),
    // Digits fit on one line; class names get a line each, or the grid would be twice as wide.
    lines: [
      ...(digits
        ? [{ text: `true ${p.label} / predicted ${p.predicted}`, color: COLORS.text, bold: true }]
        : [
            { text: `true ${name(p.label)}`, color: COLORS.text, bold: true },
            { text: `predicted ${name(p.predicted)}`, color: COLORS.text, bold: true },
          ]),
      { text: `(${p.confidence.toFixed(2)})`, color: COLORS.wrong },
    ],
    frame: COLORS.wrong,
    data: { 'data-index': p.index, 'data-true': p.label, 'data-pred': p.predicted, 'data-caption': mistakeCaption(p, names) },
  }));
  add({
    id: 'mistakes',
    heading: 'Most confident mistakes',
    intro: `The ${plural(mistakes.length, `misclassified test ${item}`)} (of ${thousands(mistakesTotal)}) that the model was surest about, with the probability it gave its wrong answer.`,
    figures: [
      digitGrid({
        name: 'mistakes',
        title: mistakes.length ? `Most confident mistakes (${mistakes.length} of ${thousands(mistakesTotal)})` : 'Most confident mistakes: none',
        alt: `${plural(mistakes.length, `misclassified test ${item}`)}, most confident first, captioned with true and predicted ${aClass}`,
        tiles: mistakeTiles,
        imageWidth: t.width,
        imageHeight: t.height,
        columns: 6,
        emptyMessage: `No mistakes among the ${thousands(n)} test images.`,
      }),
    ],
  });

  // Random samples.
  const seed = input.seed ?? 42;
  const sample = sampleIndices(n, input.sampleCount ?? 24, seed);
  let sampleRight = 0;
  const sampleTiles: DigitTile[] = sample.map((i) => {
    const p = predictionOf(t, i);
    const right = p.predicted === p.label;
    if (right) sampleRight++;
    // A class name takes the room of the word "predicted".
    const answer = digits ? `predicted ${p.predicted}` : name(p.predicted);
    return {
      pixels: imageOf(t, i),
      caption: `test #${i}: predicted ${name(p.predicted)} (${p.confidence.toFixed(2)}), true ${name(p.label)}${right ? '' : ' — wrong'}`,
      lines: [
        { text: `${answer} (${p.confidence.toFixed(2)})`, color: right ? COLORS.right : COLORS.wrong, bold: true },
        { text: right ? '✓ right' : `✗ true ${name(p.label)}`, color: right ? COLORS.right : COLORS.wrong },
      ],
      frame: right ? undefined : COLORS.wrong,
      data: { 'data-index': i, 'data-true': p.label, 'data-pred': p.predicted, 'data-right': right ? 1 : 0 },
    };
  });
  add({
    id: 'samples',
    heading: `Random test ${item}s`,
    intro: `${plural(sample.length, `test ${item}`)} drawn at random (seed ${seed}) with the model's prediction: green when right, red when wrong.`,
    figures: [
      digitGrid({
        name: 'samples',
        title: `Random test ${item}s: ${sampleRight} of ${sample.length} right`,
        subtitle: `seed ${seed}`,
        alt: `${sample.length} random test ${item}s with predictions, ${sampleRight} right`,
        tiles: sampleTiles,
        imageWidth: t.width,
        imageHeight: t.height,
        columns: 8,
        emptyMessage: 'No test images.',
      }),
    ],
  });

  // First convolution layer.
  const k = input.firstConvKernel;
  if (k && k.filters > 0 && k.kernelH > 0 && k.kernelW > 0 && k.inChannels > 0) {
    add({
      id: 'filters',
      heading: 'First-layer filters',
      intro: 'The weights of each filter of the first Conv2D layer, enlarged: what patterns the first layer responds to.',
      figures: [filterGrid({ ...k })],
    });
  }

  // Hyperparameters of the training.
  const hyper = input.config ? hyperparameterRows(input.config, input.trainImages) : [];
  if (hyper.length) {
    sections.push({
      id: 'hyperparameters',
      heading: 'Hyperparameters',
      intro: hist ? undefined : 'Of the training that made this model (from its metrics.json).',
      html: `<table class="kv"><tbody>${hyper.map(([a, b]) => `<tr><th>${esc(a)}</th><td>${esc(b)}</td></tr>`).join('')}</tbody></table>`,
    });
  }

  // Model summary.
  sections.push({
    id: 'model',
    heading: 'Model',
    html: `<pre class="summary">${esc(input.summary.replace(/\s+$/, ''))}</pre>`,
  });

  // Run: time and machine.
  const m = input.machine;
  const epochSeconds = hist?.seconds.filter((s) => Number.isFinite(s)) ?? [];
  const runRows: string[][] = [
    ['Training time', input.trainSeconds !== undefined ? formatDuration(input.trainSeconds) : hist ? formatDuration(sum(epochSeconds)) : 'not trained in this run (evaluation only)'],
    ...(epochSeconds.length
      ? [['Time per epoch', epochSeconds.length === 1 ? `${formatDuration(epochSeconds[0])} (one epoch)` : `${formatDuration(sum(epochSeconds) / epochSeconds.length)} on average over ${plural(epochSeconds.length, 'epoch')}`]]
      : []),
    ['Test images', thousands(n)],
    ['CPU', m.cpu],
    ['Cores', String(m.cores)],
    ...(m.threads !== undefined ? [['Threads used', String(m.threads)]] : []),
    ...(m.simd !== undefined ? [['SIMD', m.simd]] : []),
    ['Node.js', m.node],
    ['Platform', m.platform],
    ...Object.entries(input.notes ?? {}),
  ];
  sections.push({
    id: 'run',
    heading: 'Run',
    html: `<table class="kv"><tbody>${runRows.map(([a, b]) => `<tr><th>${esc(a)}</th><td>${esc(b)}</td></tr>`).join('')}</tbody></table>`,
  });

  const cards: Card[] = [
    ref
      ? {
          label: 'Test accuracy',
          value: percent(input.testAccuracy),
          note: `${signedPp} pp vs the ${ref.name}'s ${percent(ref.accuracy)}`,
          tone: diffPp >= 0 ? 'good' : 'bad',
        }
      : { label: 'Test accuracy', value: percent(input.testAccuracy) },
    { label: 'Test loss', value: fmtNumber(input.testLoss) },
    { label: 'Mistakes', value: thousands(mistakesTotal), note: `of ${plural(n, 'test image')}` },
  ];
  if (input.trainSeconds !== undefined || hist) {
    cards.push({
      label: 'Training time',
      value: formatDuration(input.trainSeconds ?? sum(epochSeconds)),
      note: hist ? plural(Math.max(hist.loss.length, hist.accuracy.length), 'epoch') : undefined,
    });
  }
  cards.push({ label: 'Machine', value: plural(m.cores, 'core'), note: m.simd ? `${m.simd} · ${m.platform}` : m.platform });

  // The pictures' file names (and ids) carry the prefix, so an evaluation's sit beside a training's.
  for (const f of figures) f.name = `${input.pngPrefix ?? ''}${f.name}`;
  const html = renderPage({
    title: input.title,
    subtitle: `Model: ${input.modelName} · ${hist ? 'training report' : 'evaluation report'} · ${plural(n, 'test image')}`,
    cards,
    sections,
    footer:
      'Self-contained report: pictures are inline SVG; the same pictures as PNG files sit next to this page (' +
      figures.map((f) => `<a href="${esc(f.name)}.png">${esc(f.name)}.png</a>`).join(', ') +
      ').',
  });
  return { html, figures };
}

/**
 * Writes the page (report.html unless input.htmlFile says otherwise) and one PNG per picture
 * into input.outDir (created if missing) and returns the page's path. PNGs are written first,
 * so a page that exists always has its pictures next to it. Only files of this page's own
 * naming (input.pngPrefix) are replaced or removed.
 */
export async function writeReport(input: ReportInput): Promise<string> {
  const { html, figures } = buildReport(input);
  await mkdir(input.outDir, { recursive: true });
  // One at a time: rendering is CPU-bound and the wasm renderer is single-threaded anyway.
  for (const fig of figures) {
    const png = await svgToPng(standaloneSvg(fig));
    await writeFileAtomic(join(input.outDir, `${fig.name}.png`), png);
  }
  // A previous page of the same name (e.g. a CNN run before this MLP run into the same folder)
  // must not leave pictures behind that this one does not have.
  const written = new Set(figures.map((f) => `${f.name}.png`));
  for (const file of Object.values(REPORT_FILES)) {
    const own = `${input.pngPrefix ?? ''}${file}`;
    if (file.endsWith('.png') && !written.has(own)) await rm(join(input.outDir, own), { force: true });
  }
  const path = join(input.outDir, input.htmlFile ?? REPORT_FILES.html);
  await writeFileAtomic(path, html);
  return path;
}
