// Before/after training speed in one run, for a change's record:
//   npm run bench:compare -- <git ref> [--presets mlp,cnn] [--threads 1,2] [--rounds 3] [--no-optimize]
// (--no-optimize: the current code runs its textbook layers alone, e.g. `HEAD --no-optimize` measures
// what the fast pass gains.)
// Checks the ref out into a temporary git worktree (sharing this checkout's node_modules), builds
// its WASM, then runs bench/training-run.ts (with bench/common.ts), this checkout's copy in both
// trees so that both sides are measured the same way, alternately on the old and the current code,
// `rounds` times per configuration (relaxed SIMD). Reports medians and the speed-up, and writes
// bench/results/compare-<ref>-<date>.json. This machine's speed drifts by 10-30% within minutes:
// alternating old and new in one run is what makes the ratio mean something.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, MNIST_DIR } from './common.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const RESULTS_DIR = path.join(ROOT, 'bench/results');

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const ref = argv.find((a, i) => !a.startsWith('--') && !(argv[i - 1]?.startsWith('--') && argv[i - 1] !== '--no-optimize'));
if (!ref) throw new Error('usage: npm run bench:compare -- <git ref> [--presets mlp,cnn] [--threads 1,2] [--rounds 3]');
const presets = option('presets', 'mlp,cnn').split(',');
const threadCounts = option('threads', '1,2').split(',').map(Number);
const rounds = Number(option('rounds', '3'));
const textbookAfter = argv.includes('--no-optimize');

const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
const before = git('rev-parse', '--short', ref);
const after = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+changes' : '');

const tree = mkdtempSync(path.join(os.tmpdir(), 'engine-before-'));
try {
  git('worktree', 'add', '--detach', tree, before);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
  for (const file of ['bench/training-run.ts', 'bench/common.ts']) copyFileSync(path.join(ROOT, file), path.join(tree, file));
  execFileSync('npm', ['run', 'build'], { cwd: tree, stdio: 'ignore' });
  console.log(`before = ${before} (worktree ${tree}), after = ${after}${textbookAfter ? ' with --no-optimize' : ''}; ${rounds} rounds, relaxed SIMD`);

  const run = (dir: string, preset: string, threads: number): number => {
    const steps = preset === 'mlp' ? 200 : 40;
    const textbook = dir === ROOT && textbookAfter ? ['--no-optimize'] : [];
    const out = execFileSync(TSX, [path.join(dir, 'bench/training-run.ts'), '--preset', preset, '--steps', String(steps), '--repeats', '3', ...textbook], {
      cwd: dir,
      // Both trees read the same MNIST, by absolute path (the old tree runs in its own folder).
      env: { ...process.env, ENGINE_SIMD: 'relaxed', ENGINE_THREADS: String(threads), MNIST_DIR: path.resolve(MNIST_DIR) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out.trim().split('\n').pop()!).msPerStepWall;
  };

  const rows = [];
  for (const preset of presets) {
    for (const threads of threadCounts) {
      const old: number[] = [];
      const now: number[] = [];
      for (let r = 0; r < rounds; r++) {
        old.push(run(tree, preset, threads));
        now.push(run(ROOT, preset, threads));
      }
      const row = { preset, threads, beforeMsPerStep: median(old), afterMsPerStep: median(now), speedup: median(old) / median(now), before: old, after: now };
      rows.push(row);
      console.log(`${preset} ${threads}T: ${row.beforeMsPerStep.toFixed(2)} -> ${row.afterMsPerStep.toFixed(2)} ms/step (${row.speedup.toFixed(2)}x)` +
        `  [before ${old.map((v) => v.toFixed(2)).join(', ')}; after ${now.map((v) => v.toFixed(2)).join(', ')}]`);
    }
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date();
  const file = path.join(RESULTS_DIR, `compare-${before}${textbookAfter ? '-no-optimize' : ''}-${date.toISOString().slice(0, 10)}.json`);
  const json = JSON.stringify({ bench: 'compare', date: date.toISOString(), before, after, afterOptimized: !textbookAfter, loadAverage: os.loadavg(), rows }, null, 2) + '\n';
  writeFileSync(`${file}.tmp-${process.pid}`, json);
  renameSync(`${file}.tmp-${process.pid}`, file);
  console.log(`wrote ${file}`);
} finally {
  try {
    git('worktree', 'remove', '--force', tree);
  } catch {
    rmSync(tree, { recursive: true, force: true });
    git('worktree', 'prune');
  }
}
