// Optimizers by name, as `compile({ optimizer: 'adam' })` takes them, with Keras's defaults.
import { Adam } from './adam.ts';
import { Optimizer } from './optimizer.ts';
import { RMSprop } from './rmsprop.ts';
import { SGD } from './sgd.ts';

const BY_NAME = {
  adam: () => new Adam(), // learning rate 0.001
  sgd: () => new SGD(), // 0.01
  rmsprop: () => new RMSprop(), // 0.001
};

/** TF.js's names and Keras's class names; any case is taken. */
export type OptimizerName = keyof typeof BY_NAME | 'Adam' | 'SGD' | 'RMSprop';

/** A new optimizer for a name (any case: 'adam', 'Adam', 'RMSprop'); an Optimizer is returned as is. */
export function getOptimizer(owner: string, optimizer: OptimizerName | Optimizer): Optimizer {
  if (optimizer instanceof Optimizer) return optimizer;
  const name = typeof optimizer === 'string' ? optimizer.toLowerCase() : '';
  if (!Object.hasOwn(BY_NAME, name)) {
    const got = typeof optimizer === 'string' ? `"${optimizer}"` : String(optimizer);
    throw new Error(`${owner}: unknown optimizer ${got}; give one of ${Object.keys(BY_NAME).join(', ')} or an optimizer object (new Adam({ learningRate: 1e-3 }))`);
  }
  return BY_NAME[name as keyof typeof BY_NAME]();
}
