// The playground page: trains a preset in a worker with live curves, reads digits drawn on the
// canvas, loads and downloads models. The charts are the training report's own (src/report/), and
// the drawn digit is prepared by the same code as `npm run predict` (src/data/digit.ts).
import { prepareDigit } from '../src/data/digit.ts';
import { confusionHeatmap, decimalsFor, lineChart, percent } from '../src/report/charts.ts';
import { COLORS, inlineSvg } from '../src/report/svg.ts';
import { DrawingPad } from './draw.ts';
import { assembleModel, idxRole, isModelPart } from './files.ts';
import type { Artifacts, FromPredictWorker, FromTrainWorker, PresetChoice, ToPredictWorker, ToTrainWorker } from './protocol.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  threads: $('threads'),
  threadsUnit: $('threads-unit'),
  simd: $('simd'),
  isolationNote: $('isolation-note'),
  model: $<HTMLSelectElement>('model-select'),
  epochs: $<HTMLInputElement>('epochs'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  status: $('status'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $('progress-text'),
  speed: $('speed'),
  loss: $('loss'),
  accuracy: $('accuracy'),
  lossChart: $('loss-chart'),
  accuracyChart: $('accuracy-chart'),
  confusion: $('confusion'),
  dataSource: $('data-source'),
  draw: $<HTMLCanvasElement>('draw'),
  clear: $<HTMLButtonElement>('clear'),
  preview: $<HTMLCanvasElement>('preview'),
  prediction: $('prediction'),
  noDigit: $('no-digit'),
  bars: $('bars'),
  modelInfo: $('model-info'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelStatus: $('model-status'),
  downloadJson: $<HTMLAnchorElement>('download-json'),
  downloadWeights: $<HTMLAnchorElement>('download-weights'),
  dropOverlay: $('drop-overlay'),
};

const params = new URLSearchParams(location.search);
/** ?limit=N trains on the first N training images only (quick demos and automation). */
const limitTrain = params.has('limit') ? Math.max(1, Number(params.get('limit'))) : undefined;
/** ?threads=N trains on N threads (default: one per core, when the page is cross-origin isolated). */
const threadsParam = Number(params.get('threads'));
const threads = Number.isInteger(threadsParam) && threadsParam >= 1 ? threadsParam : 'all';

const trainWorker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module', name: 'train' });
const predictWorker = new Worker(new URL('./predict-worker.ts', import.meta.url), { type: 'module', name: 'predict' });
const toTrain = (m: ToTrainWorker) => trainWorker.postMessage(m);
const toPredict = (m: ToPredictWorker, transfer: Transferable[] = []) => predictWorker.postMessage(m, transfer);

const fmt = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const setStatus = (text: string, kind: 'info' | 'done' | 'error' = 'info') => {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
};

// ---------------------------------------------------------------------------
// Engine start

let engineReady = false;
ui.isolationNote.hidden = self.crossOriginIsolated === true;
toTrain({ type: 'init', threads });
toPredict({ type: 'init' });

// ---------------------------------------------------------------------------
// Training

interface Run {
  model: string;
  epochs: number;
  steps: number;
  pointsPerEpoch: number;
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  stopFlag?: Int32Array;
}
let run: Run | undefined;
let training = false;
/** MNIST files the user dropped; when set, training uses them instead of the server's folder. */
let droppedMnist: { name: string; bytes: ArrayBuffer }[] | undefined;

function setTraining(on: boolean): void {
  training = on;
  ui.train.disabled = on || !engineReady;
  ui.stop.disabled = !on;
  ui.model.disabled = on;
  ui.epochs.disabled = on;
}

/** Per-epoch values placed at the last point of their epoch, gaps elsewhere. */
function atEpochEnds(values: number[], r: Run): number[] {
  const out = new Array<number>(Math.max(r.loss.length, values.length * r.pointsPerEpoch)).fill(NaN);
  values.forEach((v, e) => (out[(e + 1) * r.pointsPerEpoch - 1] = v));
  return out;
}

function renderCurves(r: Run): void {
  const common = { xLabel: 'epoch', pointsPerEpoch: r.pointsPerEpoch, epochs: r.epochs, width: 440, height: 300, yFloor: 0 };
  const loss = lineChart({
    ...common,
    name: 'live-loss',
    title: 'Loss',
    yLabel: 'cross-entropy loss',
    includeZero: true,
    series: [
      { label: 'training', values: r.loss, color: COLORS.train },
      ...(r.valLoss.length ? [{ label: 'validation', values: atEpochEnds(r.valLoss, r), color: COLORS.validation, dashed: true }] : []),
    ],
  });
  const accuracy = lineChart({
    ...common,
    name: 'live-accuracy',
    title: 'Accuracy',
    yLabel: 'accuracy',
    yCeil: 1,
    valueFormat: (v) => percent(v),
    yTickFormat: (v, step) => `${(v * 100).toFixed(decimalsFor(step * 100))}%`,
    series: [
      { label: 'training', values: r.accuracy, color: COLORS.train },
      ...(r.valAccuracy.length ? [{ label: 'validation', values: atEpochEnds(r.valAccuracy, r), color: COLORS.validation, dashed: true }] : []),
    ],
  });
  ui.lossChart.innerHTML = inlineSvg(loss, 1);
  ui.accuracyChart.innerHTML = inlineSvg(accuracy, 1);
  // For automation: the first and latest points of the training loss.
  if (r.loss.length) {
    ui.lossChart.dataset.firstLoss = String(r.loss[0]);
    ui.lossChart.dataset.lastLoss = String(r.loss[r.loss.length - 1]);
    ui.lossChart.dataset.points = String(r.loss.length);
  }
}

ui.train.addEventListener('click', () => {
  if (training || !engineReady) return;
  const model = ui.model.value as PresetChoice;
  const epochs = Math.min(50, Math.max(1, Math.round(Number(ui.epochs.value) || 1)));
  ui.epochs.value = String(epochs);
  const stopFlag = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
  run = { model, epochs, steps: 0, pointsPerEpoch: 1, loss: [], accuracy: [], valLoss: [], valAccuracy: [], stopFlag };
  ui.confusion.innerHTML = '';
  ui.progress.value = 0;
  ui.progressText.textContent = '';
  ui.speed.textContent = '–';
  setTraining(true);
  setStatus(`starting ${model}…`);
  const data = droppedMnist
    ? ({ kind: 'files', files: droppedMnist } as const)
    : ({ kind: 'url', baseUrl: new URL('mnist/', location.href).href } as const);
  toTrain({ type: 'train', model, epochs, data, stopFlag, limitTrain });
});

ui.stop.addEventListener('click', () => {
  if (!training) return;
  if (run?.stopFlag) Atomics.store(run.stopFlag, 0, 1);
  toTrain({ type: 'stop' });
  ui.stop.disabled = true;
  setStatus('stopping after the current batch…');
});

trainWorker.onmessage = (event: MessageEvent<FromTrainWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'ready':
      engineReady = true;
      ui.threads.textContent = String(m.threads);
      ui.threadsUnit.textContent = m.threads === 1 ? 'thread' : 'threads';
      ui.simd.textContent = m.simd;
      ui.train.disabled = training;
      setStatus(`ready: ${m.threads} ${m.threads === 1 ? 'thread' : 'threads'}, ${m.simd} SIMD. Pick a model and press Train.`);
      break;
    case 'status':
      setStatus(m.text);
      break;
    case 'data':
      ui.dataSource.textContent = `${m.train.toLocaleString('en')} training and ${m.test.toLocaleString('en')} test images from ${m.source}`;
      break;
    case 'start':
      if (!run) break;
      run.steps = m.steps;
      run.pointsPerEpoch = m.pointsPerEpoch;
      run.epochs = m.epochs;
      renderCurves(run);
      break;
    case 'progress': {
      if (!run) break;
      run.loss.push(...m.points.map((p) => p.loss));
      run.accuracy.push(...m.points.map((p) => p.accuracy));
      const done = (m.epoch * m.steps + m.step) / (run.epochs * m.steps);
      ui.progress.value = done;
      ui.progressText.textContent = `epoch ${m.epoch + 1}/${run.epochs}, batch ${m.step}/${m.steps}`;
      if (Number.isFinite(m.imagesPerSecond)) ui.speed.textContent = Math.round(m.imagesPerSecond).toLocaleString('en');
      ui.loss.textContent = fmt(m.loss);
      ui.accuracy.textContent = fmt(m.accuracy);
      renderCurves(run);
      break;
    }
    case 'epoch':
      if (!run) break;
      if (m.valLoss !== undefined) run.valLoss.push(m.valLoss);
      if (m.valAccuracy !== undefined) run.valAccuracy.push(m.valAccuracy);
      renderCurves(run);
      break;
    case 'done': {
      setTraining(false);
      const epochsText = m.stopped ? `stopped during epoch ${m.epochsDone + 1}` : `${m.epochsDone} epoch${m.epochsDone === 1 ? '' : 's'}`;
      setStatus(
        `test accuracy ${m.testAccuracy.toFixed(4)} (${m.correct}/${m.testCount}): ${m.model}, ${epochsText}, trained in ${m.trainSeconds.toFixed(1)} s`,
        'done',
      );
      if (!m.stopped) ui.progress.value = 1;
      ui.confusion.innerHTML = inlineSvg(confusionHeatmap(m.confusion, { labels: Array.from({ length: 10 }, (_, i) => String(i)) }), 1);
      useModel(m.artifacts, `${m.model} trained here (${epochsText}, test accuracy ${percent(m.testAccuracy)})`);
      break;
    }
    case 'error':
      setTraining(false);
      setStatus(`error: ${m.message}`, 'error');
      break;
  }
};
trainWorker.onerror = (event) => {
  setTraining(false);
  setStatus(`error: the training worker failed (${event.message || 'see the console'})`, 'error');
};

// ---------------------------------------------------------------------------
// Models: the one that reads the drawing, loading, downloading

let modelReady = false;
let downloads: string[] = [];

/** Makes `artifacts` the model that reads the drawing (and the one offered for download once loaded). */
function useModel(artifacts: Artifacts, origin: string): void {
  ui.modelStatus.textContent = `loading ${origin}…`;
  toPredict({ type: 'load', artifacts: { modelJson: artifacts.modelJson, weights: artifacts.weights.slice() }, origin });
}

function offerDownload(artifacts: Artifacts, name: string): void {
  for (const url of downloads) URL.revokeObjectURL(url);
  const json = URL.createObjectURL(new Blob([artifacts.modelJson], { type: 'application/json' }));
  const weights = URL.createObjectURL(new Blob([artifacts.weights as BlobPart], { type: 'application/octet-stream' }));
  downloads = [json, weights];
  for (const [a, url] of [[ui.downloadJson, json], [ui.downloadWeights, weights]] as const) {
    a.href = url;
    a.classList.remove('disabled');
    a.removeAttribute('aria-disabled');
    a.title = `${name}: ${a.download}`;
  }
}

predictWorker.onmessage = (event: MessageEvent<FromPredictWorker>) => {
  const m = event.data;
  if (m.type === 'loaded') {
    modelReady = true;
    ui.modelInfo.textContent = `Reading with: ${m.origin} — ${m.name}, ${m.params.toLocaleString('en')} parameters (${m.layers.join(' → ')}).`;
    ui.modelStatus.textContent = `${m.origin}: ready; download it below.`;
    offerDownload(m.artifacts, m.name);
    readDrawing();
  } else if (m.type === 'prediction') {
    showPrediction(m.id, m.probabilities);
  } else if (m.type === 'error') {
    if (m.during === 'load') ui.modelStatus.textContent = `could not load the model: ${m.message}`;
    else if (m.during === 'init') setStatus(`error: the reading engine did not start: ${m.message}`, 'error');
    else showPrediction(m.id ?? -1, undefined, m.message);
  }
};

async function readFiles(files: Iterable<File>): Promise<{ name: string; bytes: ArrayBuffer }[]> {
  return Promise.all([...files].map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
}

async function loadModelFiles(files: File[]): Promise<void> {
  try {
    const artifacts = assembleModel(await readFiles(files));
    useModel(artifacts, files.map((f) => f.name).join(' + '));
  } catch (error) {
    ui.modelStatus.textContent = `could not load the model: ${(error as Error).message}`;
  }
}

ui.modelFile.addEventListener('change', () => {
  const files = [...(ui.modelFile.files ?? [])];
  if (files.length) void loadModelFiles(files);
  ui.modelFile.value = '';
});

// Drag and drop anywhere on the page: model files, or MNIST's IDX files.
let dragDepth = 0;
document.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  dragDepth++;
  ui.dropOverlay.hidden = false;
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.dropOverlay.hidden = true;
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  ui.dropOverlay.hidden = true;
  const files = [...(e.dataTransfer?.files ?? [])];
  const idx = files.filter((f) => idxRole(f.name));
  const model = files.filter((f) => !idxRole(f.name) && isModelPart(f.name));
  if (idx.length) {
    void readFiles(idx).then((read) => {
      droppedMnist = read;
      ui.dataSource.textContent = `the dropped files (${read.map((f) => f.name).join(', ')}), from the next Train`;
    });
  }
  if (model.length) void loadModelFiles(model);
  if (!idx.length && !model.length && files.length) ui.modelStatus.textContent = `not a model or MNIST file: ${files.map((f) => f.name).join(', ')}`;
});

// ---------------------------------------------------------------------------
// Drawing and reading

const previewCtx = ui.preview.getContext('2d')!;
const barRows = Array.from({ length: 10 }, (_, digit) => {
  const row = document.createElement('div');
  row.className = 'bar-row';
  row.innerHTML = `<span class="bar-label">${digit}</span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value">–</span>`;
  ui.bars.append(row);
  return { row, fill: row.querySelector<HTMLElement>('.bar-fill')!, value: row.querySelector<HTMLElement>('.bar-value')! };
});

let requested = 0;
let inFlight = false;
let pending: Float32Array | undefined;
let scheduled = false;

function drawPreview(input: Float32Array): void {
  const img = previewCtx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(input[i] * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  previewCtx.putImageData(img, 0, 0);
}

function showBars(probabilities: number[] | undefined): void {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  barRows.forEach((b, i) => {
    const p = probabilities?.[i] ?? 0;
    b.fill.style.width = `${(p * 100).toFixed(1)}%`;
    b.value.textContent = probabilities ? `${(p * 100).toFixed(1)}%` : '–';
    b.row.classList.toggle('best', i === best);
  });
  ui.bars.dataset.probabilities = probabilities ? JSON.stringify(probabilities) : '';
}

/** `state` is 'ready' once the shown prediction is that of the current drawing (automation waits for it). */
function setPrediction(text: string, state: 'ready' | 'pending'): void {
  ui.prediction.textContent = text;
  ui.prediction.dataset.state = state;
}

function send(): void {
  if (!pending || inFlight) return;
  inFlight = true;
  toPredict({ type: 'predict', id: ++requested, input: pending });
  pending = undefined;
}

function showPrediction(id: number, probabilities: number[] | undefined, error?: string): void {
  inFlight = false;
  if (pending) return send(); // the drawing changed meanwhile: read the newest one
  if (id !== requested) return;
  showBars(probabilities);
  if (error) {
    ui.noDigit.textContent = `could not read it: ${error}`;
    setPrediction('?', 'ready');
  } else if (probabilities) {
    setPrediction(String(probabilities.indexOf(Math.max(...probabilities))), 'ready');
  }
}

function readDrawing(): void {
  const pixels = pad.pixels();
  const { input, noDigit } = prepareDigit({ width: pixels.width, height: pixels.height, data: pixels.data });
  drawPreview(input);
  if (noDigit) {
    pending = undefined;
    requested++; // an answer still on its way is for an older drawing
    ui.noDigit.textContent = pad.inked ? `No digit: ${noDigit}.` : 'No digit: draw one.';
    showBars(undefined);
    setPrediction('none', 'ready');
    return;
  }
  ui.noDigit.textContent = '';
  if (!modelReady) {
    ui.noDigit.textContent = 'No model to read it yet: train one or load one.';
    setPrediction('?', 'ready');
    return;
  }
  setPrediction(ui.prediction.textContent ?? '', 'pending');
  pending = input;
  send();
}

/** At most one preparation per frame, however many pointer events arrive. */
function scheduleRead(): void {
  ui.prediction.dataset.state = 'pending';
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    readDrawing();
  });
}

const pad = new DrawingPad(ui.draw, scheduleRead);
ui.clear.addEventListener('click', () => pad.clear());
showBars(undefined);
setPrediction('none', 'ready');
