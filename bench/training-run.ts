// One training-throughput measurement in a fresh process (so the SIMD build, the thread count and
// the peak RSS belong to this configuration alone). Prints one JSON line.
//   tsx bench/training-run.ts --preset cnn --steps 30 [--repeats 3] [--no-optimize]
//   (ENGINE_SIMD / ENGINE_THREADS choose the build; --no-optimize runs the textbook layers alone)
import { Adam, Tensor } from '../src/index.ts';
import { PRESETS, type PresetName } from '../src/cli/presets.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { median } from './common.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const preset = arg('preset', 'mlp') as PresetName;
const steps = Number(arg('steps', '100'));
const batchSize = 128;
// An epoch of all 60,000 training images, as the PyTorch and TF.js peers count it.
const STEPS_PER_EPOCH = Math.ceil(60_000 / batchSize);

// Real digits, not random pixels: on random labels the ReLUs die, most gradients are exactly 0, and
// the step's cost is no longer a training step's.
const n = batchSize * steps;
const { train, test } = await loadMnist({ dataDir: process.env.MNIST_DIR, limitTrain: n, onProgress: () => {} });
if (train.images.shape[0] < n) throw new Error(`--steps ${steps} needs ${n} training images, MNIST has ${train.images.shape[0]}`);
const x = train.images;
const y = train.labels;

const repeats = Number(arg('repeats', '3'));

const optimize = !process.argv.includes('--no-optimize');
const model = PRESETS[preset].build(1, { optimize });
model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
// One fit of 1 + repeats passes over the steps: the first is warm-up (memory plan, V8 tiers) and
// carries fit's one-time copy of the training set into WASM memory, which a real run pays once for
// all its epochs; the others are timed at their ends, and the medians reported.
const wall: number[] = [];
const cpu: number[] = [];
let w0 = 0;
let c0 = process.cpuUsage();
await model.fit(x, y, {
  epochs: 1 + repeats,
  verbose: 0,
  batchSize,
  // bench:compare runs this file against older commits too, whose presets kept randomShift at the top.
  randomShift: PRESETS[preset].datasets?.mnist.randomShift ?? (PRESETS[preset] as unknown as { randomShift: number }).randomShift,
  shuffle: true,
  onEpochEnd: (epoch) => {
    const w = performance.now();
    const c = process.cpuUsage();
    if (epoch > 0) {
      wall.push((w - w0) / steps);
      cpu.push((c.user - c0.user + c.system - c0.system) / 1000 / steps);
    }
    w0 = w;
    c0 = c;
  },
});
const wallMs = median(wall);
const cpuMs = median(cpu);

// Inference: predict over the 10,000 test images.
const p0 = performance.now();
model.predict(test.images, { batchSize: 256 });
const predictSeconds = (performance.now() - p0) / 1000;

console.log(JSON.stringify({
  preset,
  optimize,
  simd: model.backend.flavor,
  threads: Number(process.env.ENGINE_THREADS ?? 1),
  steps,
  repeats,
  msPerStepWall: wallMs,
  msPerStepCpu: cpuMs,
  imagesPerSecond: (batchSize * 1000) / wallMs,
  epochSeconds: (STEPS_PER_EPOCH * wallMs) / 1000,
  predictImagesPerSecond: test.images.shape[0] / predictSeconds,
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
