// Training throughput of the `mlp`, `cnn` and `cnn-bn` presets at batch 128 (`--model` picks some):
// plain vs relaxed SIMD, 1 vs 2 threads (cnn-bn: relaxed only, its steps are long), each
// configuration in its own process (bench/training-run.ts), and, with --peers, the
// same training in PyTorch and TensorFlow.js measured in the same run (installed outside the
// project, see ../shared/peers/README.md), interleaved round by round, so the ratios come from one
// session on one machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median, MNIST_DIR } from './common.ts';
import { measureCores } from './cores.ts';
import type { BenchContext } from './index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const PEERS = fileURLToPath(new URL('../../shared/peers/', import.meta.url));
const TFJS_DIR = process.env.TFJS_DIR ?? '/tmp/peers-tfjs';
/** `npm run bench -- training --no-optimize`: our rows run the textbook layers alone (no fast pass). */
const OPTIMIZE_FLAG = process.argv.includes('--no-optimize') ? ['--no-optimize'] : [];

/**
 * Rounds (`--rounds N`, default 3): every engine is measured once per round, engines in turn, and
 * each figure is the median of its rounds. This machine's speed drifts by 10-30% over minutes;
 * interleaving spreads a slow spell over all engines instead of landing it on one of them, so the
 * ratios hold up, and more rounds make the medians steadier.
 */
const ROUNDS = 3;
const PRESET_NAMES = ['mlp', 'cnn', 'cnn-bn'];
/** Steps of the register-only loop that checks, each round, whether the second core is free (~0.5 s). */
const CORES_LOOP = 3e8;

interface Sample {
  epochSeconds: number;
  msPerStepWall?: number;
  msPerStepCpu?: number;
  imagesPerSecond?: number;
  predictImagesPerSecond?: number;
  peakRssMiB?: number;
}

interface Row extends Sample {
  preset: string;
  engine: string;
  /** Each round's epoch seconds, in order. */
  rounds: number[];
  note?: string;
}

interface Engine {
  name: string;
  /** One sample, or null if the engine is not available (a peer not installed). */
  measure: () => Sample | null;
  note?: string;
}

/** Ours: one process per sample (so the build, the threads and the peak RSS are this configuration's). */
function ours(preset: string, simd: string, threads: number, steps: number): Engine {
  return {
    name: `ours ${simd} ${threads}T`,
    measure: () => {
      const out = execFileSync(TSX, [`${ROOT}bench/training-run.ts`, '--preset', preset, '--steps', String(steps), '--repeats', '3', ...OPTIMIZE_FLAG], {
        env: { ...process.env, ENGINE_SIMD: simd, ENGINE_THREADS: String(threads), MNIST_DIR },
        encoding: 'utf8',
      });
      return JSON.parse(out.trim().split('\n').pop()!);
    },
  };
}

/** A peer script: one warm-up epoch and one timed epoch (its JSON line's `seconds`) per sample. */
function peer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}, note?: string): Engine {
  return {
    name,
    note,
    measure: () => {
      try {
        const out = execFileSync(command, [...args, '--epochs', '2'], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        const epochs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.epoch !== undefined);
        const seconds = epochs.at(-1)?.seconds;
        return typeof seconds === 'number' ? { epochSeconds: seconds } : null;
      } catch {
        return null;
      }
    },
  };
}

export async function run(ctx: BenchContext): Promise<void> {
  const withPeers = process.argv.includes('--peers') && !ctx.quick;
  const rounds = ctx.quick ? 1 : ctx.rounds ?? ROUNDS;
  const rows: Row[] = [];
  /** Per preset, each round's cores' worth (bench/cores.ts). */
  const presets = ctx.models ?? PRESET_NAMES;
  for (const preset of presets) {
    if (!PRESET_NAMES.includes(preset)) throw new Error(`--model: unknown preset "${preset}" (available: ${PRESET_NAMES.join(', ')})`);
  }
  const cores: Record<string, number[]> = Object.fromEntries(presets.map((p) => [p, []]));
  for (const preset of presets) {
    // cnn-bn's steps take ~10x the cnn's: the relaxed build alone (the one that runs by default).
    const configs: [string, number][] = preset === 'cnn-bn' ? [['relaxed', 1], ['relaxed', 2]] : [['plain', 1], ['relaxed', 1], ['plain', 2], ['relaxed', 2]];
    const steps = ctx.quick ? 10 : preset === 'mlp' ? 200 : preset === 'cnn' ? 40 : 20;
    const engines = configs.map(([simd, threads]) => ours(preset, simd, threads, steps));
    if (withPeers) {
      engines.push(peer('PyTorch 1T', '/usr/bin/python3', [`${PEERS}torch_mnist.py`, '--model', preset, '--threads', '1', '--data-dir', MNIST_DIR]));
      // The TF.js peer script knows mlp and cnn only (it would train the cnn under another name).
      if (existsSync(TFJS_DIR) && preset !== 'cnn-bn') {
        const batches = preset === 'mlp' ? 100 : 20;
        engines.push(peer('TF.js wasm', 'node', [`${PEERS}tfjs_mnist.cjs`, '--model', preset, '--backend', 'wasm', '--max-batches', String(batches), '--data-dir', MNIST_DIR],
          { TFJS_DIR }, `extrapolated from ${batches} batches`));
      }
    }
    const samples = engines.map(() => [] as Sample[]);
    for (let round = 0; round < rounds; round++) {
      // How free the second core is just now: the two-thread figures can be read against it.
      const { coresWorth } = await measureCores(ctx.quick ? 5e7 : CORES_LOOP);
      cores[preset].push(coresWorth);
      console.log(`${preset} round ${round + 1}  two cores did ${coresWorth.toFixed(2)} cores' worth of a register-only loop`);
      engines.forEach((engine, i) => {
        const sample = engine.measure();
        if (!sample) return;
        samples[i].push(sample);
        console.log(`${preset} round ${round + 1}  ${engine.name.padEnd(18)} ${sample.epochSeconds.toFixed(2)} s/epoch` +
          (sample.msPerStepWall === undefined ? '' : `, ${sample.msPerStepWall.toFixed(2)} ms/step wall, ${sample.msPerStepCpu!.toFixed(2)} cpu`));
      });
    }
    engines.forEach((engine, i) => {
      const got = samples[i];
      if (!got.length) return;
      const field = (key: keyof Sample) => (got[0][key] === undefined ? undefined : median(got.map((x) => x[key]!)));
      rows.push({
        preset,
        engine: engine.name,
        epochSeconds: field('epochSeconds')!,
        msPerStepWall: field('msPerStepWall'),
        msPerStepCpu: field('msPerStepCpu'),
        imagesPerSecond: field('imagesPerSecond'),
        predictImagesPerSecond: field('predictImagesPerSecond'),
        peakRssMiB: field('peakRssMiB'),
        rounds: got.map((x) => x.epochSeconds),
        note: engine.note,
      });
    });
  }
  console.log(`\nMedians of ${rounds} rounds:`);
  console.log('| model | engine | s/epoch | ms/step (wall) | ms/step (CPU) | images/s | predict images/s | peak RSS | rounds (s/epoch) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const f = (v: number | undefined, d = 2) => (v === undefined ? '' : v.toFixed(d));
    console.log(`| ${r.preset} | ${r.engine}${r.note ? ` (${r.note})` : ''} | ${f(r.epochSeconds)} | ${f(r.msPerStepWall)} | ${f(r.msPerStepCpu)} | ` +
      `${f(r.imagesPerSecond, 0)} | ${f(r.predictImagesPerSecond, 0)} | ${r.peakRssMiB ? `${Math.round(r.peakRssMiB)} MiB` : ''} | ${r.rounds.map((v) => v.toFixed(2)).join(', ')} |`);
  }
  for (const preset of presets) {
    const get = (engine: string) => rows.find((r) => r.preset === preset && r.engine === engine)?.epochSeconds;
    const fastest = Math.min(...rows.filter((r) => r.preset === preset && r.engine.startsWith('ours')).map((r) => r.epochSeconds));
    const [torch, tfjs, relaxed1, relaxed2] = [get('PyTorch 1T'), get('TF.js wasm'), get('ours relaxed 1T'), get('ours relaxed 2T')];
    const parts = [];
    if (relaxed1 && relaxed2) parts.push(`relaxed 2T vs 1T ${(relaxed1 / relaxed2).toFixed(2)}x`);
    if (torch && relaxed1) parts.push(`ours relaxed 1T / PyTorch 1T ${(relaxed1 / torch).toFixed(2)}`);
    if (torch && relaxed2) parts.push(`ours relaxed 2T / PyTorch 1T ${(relaxed2 / torch).toFixed(2)}`);
    if (tfjs) parts.push(`TF.js / ours fastest ${(tfjs / fastest).toFixed(1)}x`);
    const free = cores[preset];
    parts.push(`two cores did ${median(free).toFixed(2)} cores' worth (rounds ${Math.min(...free).toFixed(2)}-${Math.max(...free).toFixed(2)})`);
    console.log(`${preset}: ${parts.join('; ')}`);
  }
  for (const path of ctx.save('training', { batchSize: 128, rounds, coresWorth: cores, rows })) console.log(`wrote ${path}`);
}
