// Rebuilds the WASM kernels (`npm run build:wasm`) only when a source is newer than the builds, so
// that `npm run train` (and evaluate, predict, bench, and `npm pack`) does not spend ~25 s recompiling
// unchanged kernels.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const outputs = ['build/kernels.wasm', 'build/kernels-relaxed.wasm'];
const kernelSources = readdirSync('assembly', { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => `${e.parentPath}/${e.name}`);
const sources = ['asconfig.json', 'package.json', ...kernelSources];
const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const stale = outputs.some((f) => !existsSync(f) || statSync(f).mtimeMs < newestSource);
if (stale) execFileSync('npm', ['run', 'build:wasm', '--silent'], { stdio: 'inherit' });
