// `npm run bench [-- NAME ...] [--quick] [--list] [--peers] [--rounds N] [--model mlp,cnn,cnn-bn]`: runs the benchmark modules (all, or those whose
// name is given), each of which prints its table and writes bench/results/<name>-<date>.json and
// bench/results/<name>-latest.json with the machine it ran on (not with --quick).
//
// To add a benchmark: write bench/<name>.ts exporting `run(ctx: BenchContext): Promise<void>` and
// list it in BENCHES below.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  totalMemoryGiB: number;
  /** 1/5/15-minute load averages when the benchmark started: other work skews wall times. */
  loadAverage: number[];
}

export interface BenchContext {
  /** Fewer shapes / shorter runs (smoke test of the benchmark itself). */
  quick: boolean;
  /** `--rounds N`, for the benchmarks that interleave rounds (training); undefined: their default. */
  rounds?: number;
  /** `--model a,b`: the presets the training benchmark measures; undefined: its default. */
  models?: string[];
  machine: MachineInfo;
  /**
   * Writes `data` (plus date and machine) to bench/results/<name>-<YYYY-MM-DD>.json and
   * <name>-latest.json; returns the paths written.
   */
  save(name: string, data: object): string[];
}

interface BenchEntry {
  name: string;
  description: string;
  load: () => Promise<{ run(ctx: BenchContext): Promise<void> }>;
}

const BENCHES: BenchEntry[] = [
  { name: 'gemm', description: 'GEMM kernels: GFLOP/s per shape, form and SIMD build, vs the reference', load: () => import('./gemm.ts') },
  { name: 'training', description: 'MNIST training throughput: mlp, cnn and cnn-bn, SIMD builds x 1/2 threads (--peers: PyTorch, TF.js; --model: some presets)', load: () => import('./training.ts') },
  { name: 'browser', description: 'The cnn training step in headless Chromium (Worker, 2 threads) against Node, in one run', load: () => import('./browser.ts') },
  { name: 'cores', description: 'Is the second core free? A register-only loop on 1 thread, then on 2 at once', load: () => import('./cores.ts') },
];

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: os.platform(),
    arch: os.arch(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

function save(name: string, data: object, machine: MachineInfo): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date();
  const json = JSON.stringify({ bench: name, date: date.toISOString(), machine, ...data }, null, 2) + '\n';
  const paths = [`${name}-${date.toISOString().slice(0, 10)}.json`, `${name}-latest.json`].map((f) => RESULTS_DIR + f);
  for (const path of paths) {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, json);
    renameSync(tmp, path);
  }
  return paths;
}

async function main(args: string[]): Promise<void> {
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : undefined;
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds needs a whole number >= 1, got ${args[roundsAt + 1]}`);
  const modelAt = args.indexOf('--model');
  const models = modelAt >= 0 ? (args[modelAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  if (models !== undefined && !models.length) throw new Error('--model needs a preset name (or several, comma-separated)');
  // The options that take a value, and their values.
  const valued = new Set([roundsAt, modelAt].filter((i) => i >= 0).flatMap((i) => [i, i + 1]));
  const argv = args.filter((_, i) => !valued.has(i));
  const flags = argv.filter((a) => a.startsWith('--'));
  const names = argv.filter((a) => !a.startsWith('--'));
  for (const f of flags) {
    if (!['--quick', '--list', '--peers', '--no-optimize'].includes(f)) throw new Error(`unknown option ${f} (options: --quick, --list, --peers, --no-optimize, --rounds N, --model PRESETS)`);
  }
  if (flags.includes('--list')) {
    for (const b of BENCHES) console.log(`${b.name.padEnd(10)} ${b.description}`);
    return;
  }
  for (const n of names) {
    if (!BENCHES.some((b) => b.name === n)) {
      throw new Error(`unknown benchmark "${n}" (available: ${BENCHES.map((b) => b.name).join(', ')})`);
    }
  }
  const selected = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  for (const bench of selected) {
    const machine = machineInfo();
    const quick = flags.includes('--quick');
    // A --quick run only checks that the benchmark works: it must not replace real results.
    const ctx: BenchContext = { quick, rounds, models, machine, save: (name, data) => (quick ? [] : save(name, data, machine)) };
    console.log(`\n=== ${bench.name}: ${bench.description}`);
    console.log(`    ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverage.join(' ')}\n`);
    const started = performance.now();
    const module = await bench.load();
    await module.run(ctx);
    console.log(`\n=== ${bench.name} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
