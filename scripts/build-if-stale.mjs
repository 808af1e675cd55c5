// Rebuilds the WASM kernels only when a source is newer than the builds, so that `npm run train`
// (and evaluate, predict, bench) does not spend ~10 s recompiling unchanged kernels.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const outputs = ['build/kernels.wasm', 'build/kernels-relaxed.wasm'];
const sources = ['asconfig.json', 'package.json', ...readdirSync('assembly').map((f) => `assembly/${f}`)];
const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const stale = outputs.some((f) => !existsSync(f) || statSync(f).mtimeMs < newestSource);
if (stale) execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
