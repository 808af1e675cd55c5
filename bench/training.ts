// Training throughput of the `mlp` and `cnn` presets at batch 128: plain vs relaxed SIMD, 1 vs 2
// threads, each configuration in its own process (bench/training-run.ts), and, with --peers, the
// same training in PyTorch and TensorFlow.js measured in the same run (installed outside the
// project, see ../shared/peers/README.md), so the ratios come from one session on one machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DATA_DIR } from '../src/data/mnist.ts';
import type { BenchContext } from './index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const PEERS = fileURLToPath(new URL('../../shared/peers/', import.meta.url));
const SHARED_MNIST = fileURLToPath(new URL('../../shared/data/mnist', import.meta.url));
// MNIST for our runs and the peers': $MNIST_DIR, else the team's shared copy, else data/mnist (downloaded if missing).
const MNIST_DIR = process.env.MNIST_DIR ?? (existsSync(SHARED_MNIST) ? SHARED_MNIST : DEFAULT_DATA_DIR);
const TFJS_DIR = process.env.TFJS_DIR ?? '/tmp/peers-tfjs';

/** Timed repeats per engine; every figure is their median. */
const REPEATS = 3;

interface Row {
  preset: string;
  engine: string;
  epochSeconds: number;
  repeats: number;
  msPerStepWall?: number;
  msPerStepCpu?: number;
  imagesPerSecond?: number;
  predictImagesPerSecond?: number;
  peakRssMiB?: number;
  note?: string;
}

function ours(preset: string, simd: string, threads: number, steps: number, repeats: number): Row {
  const out = execFileSync(TSX, [`${ROOT}bench/training-run.ts`, '--preset', preset, '--steps', String(steps), '--repeats', String(repeats)], {
    env: { ...process.env, ENGINE_SIMD: simd, ENGINE_THREADS: String(threads), MNIST_DIR },
    encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  return { preset, engine: `ours ${r.simd} ${r.threads}T`, ...r };
}

/**
 * Median epoch time of a peer script's per-epoch JSON lines. The first epoch is warm-up and dropped,
 * so `epochs` = 1 + the number of timed repeats.
 */
function peer(preset: string, engine: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Row | null {
  try {
    const out = execFileSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const epochs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.epoch !== undefined);
    const times: number[] = epochs.map((e) => e.seconds).filter((t) => typeof t === 'number');
    const timed = (times.length > 1 ? times.slice(1) : times).sort((a, b) => a - b);
    if (!timed.length) return null;
    return {
      preset,
      engine,
      epochSeconds: timed[timed.length >> 1],
      repeats: timed.length,
      note: epochs.some((e) => e.extrapolated) ? 'extrapolated from --max-batches' : undefined,
    };
  } catch {
    return null;
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const withPeers = process.argv.includes('--peers');
  const rows: Row[] = [];
  const configs: [string, number][] = [['plain', 1], ['relaxed', 1], ['plain', 2], ['relaxed', 2]];
  for (const preset of ['mlp', 'cnn']) {
    const steps = ctx.quick ? 10 : preset === 'mlp' ? 200 : 40;
    for (const [simd, threads] of configs) {
      const row = ours(preset, simd, threads, steps, ctx.quick ? 1 : REPEATS);
      rows.push(row);
      console.log(`${preset} ${row.engine.padEnd(18)} ${row.msPerStepWall!.toFixed(2)} ms/step wall, ${row.msPerStepCpu!.toFixed(2)} cpu, ` +
        `${row.epochSeconds.toFixed(2)} s/epoch, ${Math.round(row.imagesPerSecond!)} img/s, predict ${Math.round(row.predictImagesPerSecond!)} img/s, ${row.peakRssMiB} MiB`);
    }
    if (withPeers && !ctx.quick) {
      // 1 warm-up + 3 timed epochs each; TF.js times 100 (mlp) or 20 (cnn) batches of each epoch.
      const epochs = String(1 + REPEATS);
      const torch = peer(preset, 'PyTorch 1T', '/usr/bin/python3', [`${PEERS}torch_mnist.py`, '--model', preset, '--epochs', epochs, '--threads', '1', '--data-dir', MNIST_DIR]);
      const tfjs = existsSync(TFJS_DIR)
        ? peer(preset, 'TF.js wasm', 'node', [`${PEERS}tfjs_mnist.cjs`, '--model', preset, '--epochs', epochs, '--backend', 'wasm', '--max-batches', preset === 'mlp' ? '100' : '20', '--data-dir', MNIST_DIR], { TFJS_DIR })
        : null;
      for (const r of [torch, tfjs]) {
        if (!r) continue;
        rows.push(r);
        console.log(`${preset} ${r.engine.padEnd(18)} ${r.epochSeconds.toFixed(2)} s/epoch${r.note ? ` (${r.note})` : ''}`);
      }
    }
  }
  console.log('\n| model | engine | s/epoch | ms/step (wall) | ms/step (CPU) | images/s | predict images/s | peak RSS |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const f = (v: number | undefined, d = 2) => (v === undefined ? '' : v.toFixed(d));
    console.log(`| ${r.preset} | ${r.engine} | ${f(r.epochSeconds)} | ${f(r.msPerStepWall)} | ${f(r.msPerStepCpu)} | ${f(r.imagesPerSecond, 0)} | ${f(r.predictImagesPerSecond, 0)} | ${r.peakRssMiB ? `${r.peakRssMiB} MiB` : ''} |`);
  }
  for (const path of ctx.save('training', { batchSize: 128, rows })) console.log(`wrote ${path}`);
}
