// How every CLI ends: a mistake in the flags or the input is one line on stderr that says the
// fix, never a stack trace; anything else unexpected keeps its stack for a bug report.
import { ArgsError, type FlagSpecs } from './args.ts';
import { MAX_THREADS, setDefaultThreads } from '../backend/index.ts';
import { DATASETS, type DatasetName, type LoadMnistOptions } from '../data/mnist.ts';

export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error instanceof ArgsError ? 2 : 1;
  });
}

/** --no-optimize, for every CLI that runs a model. */
export const OPTIMIZE_FLAG = {
  optimize: {
    type: 'boolean',
    default: true,
    help: "use the engine's optimised computation (--no-optimize runs the plain one, to check a result or find a bug)",
  },
} as const satisfies FlagSpecs;

/** The flags that choose how the engine runs, shared by the CLIs that train or evaluate. */
export const ENGINE_FLAGS = {
  ...OPTIMIZE_FLAG,
  threads: { type: 'int', min: 1, max: MAX_THREADS, help: 'threads for the kernels (default: every core; also ENGINE_THREADS)' },
  simd: { type: 'enum', values: ['auto', 'plain', 'relaxed'], default: 'auto', help: 'WASM build: relaxed SIMD (fused multiply-add) when the runtime has it, or force one (also ENGINE_SIMD)' },
} as const satisfies FlagSpecs;

/**
 * Applies --threads and --simd before the engine compiles its kernels. The CLIs use every core
 * unless told otherwise (ENGINE_THREADS and ENGINE_SIMD still apply when the flags are absent).
 */
export function useEngineFlags(flags: { threads?: number; simd?: string }): void {
  if (flags.threads !== undefined) process.env.ENGINE_THREADS = String(flags.threads);
  else setDefaultThreads('all');
  if (flags.simd && flags.simd !== 'auto') process.env.ENGINE_SIMD = flags.simd;
}

export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** --no-verify, for the CLIs that load a dataset. */
export const VERIFY_FLAG = {
  verify: {
    type: 'boolean',
    default: true,
    help: "check the IDX files against the dataset's checksums (--no-verify loads any IDX files of 28x28 images and 10 classes, with a warning)",
  },
} as const satisfies FlagSpecs;

/** The loader's options from the flags: its messages then name --data-dir, --dataset and --no-verify. */
export function dataOptions(flags: { dataDir?: string; verify: boolean }, dataset: DatasetName): LoadMnistOptions {
  return { dataDir: flags.dataDir, dataset, verify: flags.verify, optionName: '--data-dir' };
}
