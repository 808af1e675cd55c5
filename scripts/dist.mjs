// The two file steps of `npm run build:js` around `tsc -p tsconfig.build.json`, in Node so that they
// run the same on every OS:
//   node scripts/dist.mjs clean      removes what the package build writes (dist/src, dist/bin,
//                                    dist/build), so a renamed or deleted module cannot linger in a
//                                    tarball; dist/web (the playground's static site) is left alone.
//   node scripts/dist.mjs copy-wasm  copies build/kernels.wasm and build/kernels-relaxed.wasm to
//                                    dist/build/, where dist/src/backend/wasm.js finds them by the
//                                    same relative URL (../../build/) as src/backend/wasm.ts in the repo.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';

const WASM = ['kernels.wasm', 'kernels-relaxed.wasm'];
const step = process.argv[2];

if (step === 'clean') {
  for (const dir of ['dist/src', 'dist/bin', 'dist/build']) rmSync(dir, { recursive: true, force: true });
} else if (step === 'copy-wasm') {
  const missing = WASM.filter((f) => !existsSync(`build/${f}`));
  if (missing.length > 0) {
    console.error(`build/${missing.join(', build/')} missing: run \`npm run build:wasm\` first`);
    process.exit(1);
  }
  mkdirSync('dist/build', { recursive: true });
  for (const f of WASM) copyFileSync(`build/${f}`, `dist/build/${f}`);
} else {
  console.error('usage: node scripts/dist.mjs clean|copy-wasm');
  process.exit(2);
}
