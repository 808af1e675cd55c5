// One training-throughput measurement in a fresh process (so the SIMD build, the thread count and
// the peak RSS belong to this configuration alone). Prints one JSON line.
//   tsx bench/training-run.ts --preset cnn --steps 30     (ENGINE_SIMD / ENGINE_THREADS choose the build)
import { Adam, Tensor } from '../src/index.ts';
import { PRESETS, type PresetName } from '../src/cli/presets.ts';
import { Random } from '../src/random.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const preset = arg('preset', 'mlp') as PresetName;
const steps = Number(arg('steps', '100'));
const batchSize = 128;
// An epoch of all 60,000 training images, as the PyTorch and TF.js peers count it.
const STEPS_PER_EPOCH = Math.ceil(60_000 / batchSize);

// Random pixels train at the same speed as digits: the work per step does not depend on the values.
const rng = new Random(1);
const n = batchSize * steps;
const x = new Tensor(Float32Array.from({ length: n * 784 }, () => rng.next()), [n, 28, 28, 1]);
const y = Int32Array.from({ length: n }, () => rng.int(10));

const model = PRESETS[preset].build(1);
model.compile({ optimizer: new Adam(), loss: 'sparseCategoricalCrossentropy' });
// Warm-up: the first steps plan memory and let V8 settle.
await model.fit(x.slice(0, batchSize * 5), y.subarray(0, batchSize * 5), { epochs: 1, batchSize });

const cpu0 = process.cpuUsage();
const t0 = performance.now();
await model.fit(x, y, { epochs: 1, batchSize, randomShift: PRESETS[preset].randomShift, shuffle: true });
const wallMs = (performance.now() - t0) / steps;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000 / steps;

// Inference: predict over 10,000 images.
const test = x.slice(0, Math.min(n, 10_000));
const p0 = performance.now();
model.predict(test, { batchSize: 256 });
const predictSeconds = (performance.now() - p0) / 1000;

console.log(JSON.stringify({
  preset,
  simd: model.backend.flavor,
  threads: Number(process.env.ENGINE_THREADS ?? 1),
  steps,
  msPerStepWall: wallMs,
  msPerStepCpu: cpuMs,
  imagesPerSecond: (batchSize * 1000) / wallMs,
  epochSeconds: (STEPS_PER_EPOCH * wallMs) / 1000,
  predictImagesPerSecond: test.shape[0] / predictSeconds,
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
