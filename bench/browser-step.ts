// The measurement bench/browser.ts makes on both sides, the same code in Node (through src/index.ts)
// and in Chromium (through src/browser.ts, inside the page's Worker): the `cnn` preset's training
// step, Adam, batch 128, on real MNIST digits. One fit of 1 + repeats passes over `steps` batches:
// the first is warm-up (memory plan, V8's tiers, the one-time copy of the data into WASM memory),
// the others are timed at their ends, as bench/training-run.ts does.
import type * as Core from '../src/core.ts';

type Engine = Pick<typeof Core, 'Sequential' | 'Conv2D' | 'MaxPooling2D' | 'Flatten' | 'Dropout' | 'Dense' | 'Adam'>;

/** The `cnn` preset (src/cli/presets.ts), built from the given entry's classes. */
export function cnn(engine: Engine, seed: number): Core.Sequential {
  const { Sequential, Conv2D, MaxPooling2D, Flatten, Dropout, Dense } = engine;
  return new Sequential(
    [
      new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dropout({ rate: 0.5 }),
      new Dense({ units: 10, activation: 'softmax' }),
    ],
    { seed, name: 'cnn' },
  );
}

export interface StepTiming {
  /** ms per step of each timed pass. */
  msPerStep: number[];
  threads: number;
  simd: string;
  steps: number;
  batchSize: number;
}

export async function timeCnnSteps(engine: Engine, x: Core.Tensor, y: Uint8Array, options: { steps: number; repeats: number; batchSize?: number }): Promise<StepTiming> {
  const batchSize = options.batchSize ?? 128;
  const { steps, repeats } = options;
  if (x.shape[0] < steps * batchSize) throw new Error(`${steps} steps need ${steps * batchSize} images, got ${x.shape[0]}`);
  const model = cnn(engine, 1);
  model.compile({ optimizer: new engine.Adam(), loss: 'sparseCategoricalCrossentropy' });
  const msPerStep: number[] = [];
  let t0 = 0;
  await model.fit(x, y, {
    epochs: 1 + repeats,
    batchSize,
    verbose: 0,
    shuffle: true,
    randomShift: 1,
    onEpochEnd: (epoch) => {
      const t = performance.now();
      if (epoch > 0) msPerStep.push((t - t0) / steps);
      t0 = t;
    },
  });
  const result = { msPerStep, threads: model.backend.threads, simd: String(model.backend.flavor), steps, batchSize };
  model.dispose();
  return result;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
