// Keras's default initializers, drawn from the model's seeded generator.
import type { Random } from '../random.ts';

/** glorotUniform: U(−l, l) with l = sqrt(6 / (fanIn + fanOut)), keeping activations' variance steady. */
export function glorotUniform(fanIn: number, fanOut: number) {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return (values: Float32Array, rng: Random): void => {
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-limit, limit);
  };
}

export function zeros(values: Float32Array): void {
  values.fill(0);
}

/** How these initializers are written in TF.js model files. */
export const GLOROT_UNIFORM_CONFIG = {
  class_name: 'VarianceScaling',
  config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null },
};
export const ZEROS_CONFIG = { class_name: 'Zeros', config: {} };
