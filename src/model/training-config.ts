// The compile settings in model.json, in the form TF.js writes with `save(..., { includeOptimizer: true })`
// and reads back in `loadLayersModel`:
//   trainingConfig: { loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'],
//                     optimizer_config: { class_name: 'Adam', config: { learningRate, beta1, beta2, epsilon } } }
// TF.js's optimizer classes: SGD (no momentum), Momentum (SGD with momentum), Adam, RMSProp.
import { Adam, type AdamArgs } from '../optimizers/adam.ts';
import { RMSprop } from '../optimizers/rmsprop.ts';
import { SGD } from '../optimizers/sgd.ts';
import type { Optimizer } from '../optimizers/optimizer.ts';
import { getLoss, type Loss, type LossName } from '../losses.ts';

export interface TrainingConfig {
  loss: string | { class_name: string; config: Record<string, unknown> };
  metrics: string[];
  optimizer_config: { class_name: string; config: Record<string, number | boolean> };
}

const snake = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The model's compile settings as TF.js writes them. */
export function trainingConfigOf(optimizer: Optimizer, loss: Loss, metrics: readonly string[]): TrainingConfig {
  const c = optimizer.getConfig();
  const optimizerConfig =
    optimizer instanceof SGD
      ? c.momentum
        ? { class_name: 'Momentum', config: { learningRate: c.learningRate, momentum: c.momentum, useNesterov: c.nesterov } }
        : { class_name: 'SGD', config: { learningRate: c.learningRate } }
      : optimizer instanceof RMSprop
        ? { class_name: 'RMSProp', config: { learningRate: c.learningRate, decay: c.rho, momentum: c.momentum, epsilon: c.epsilon, centered: c.centered } }
        : { class_name: optimizer.className, config: c };
  // TF.js names a loss by a string alone; `fromLogits` needs Keras's object form.
  const lossConfig = loss.fromLogits
    ? { class_name: loss.name[0].toUpperCase() + loss.name.slice(1), config: { from_logits: true } }
    : snake(loss.name);
  return { loss: lossConfig, metrics: [...metrics], optimizer_config: optimizerConfig };
}

/** The compile arguments a saved trainingConfig describes; throws, saying what, if it is not one the engine has. */
export function compileArgsOf(value: unknown): { optimizer: Optimizer; loss: Loss; metrics: string[] } {
  const tc = value as Partial<TrainingConfig>;
  if (!tc || typeof tc !== 'object' || !tc.optimizer_config || typeof tc.optimizer_config !== 'object') {
    throw new Error('trainingConfig needs loss and optimizer_config');
  }
  const { class_name: name, config = {} } = tc.optimizer_config;
  const num = (key: string) => {
    const v = (config as Record<string, unknown>)[key] ?? (config as Record<string, unknown>)[snake(key)];
    if (v !== undefined && typeof v !== 'number') throw new Error(`trainingConfig: ${name}'s ${key} must be a number, got ${JSON.stringify(v)}`);
    return v as number | undefined;
  };
  const args = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  let optimizer: Optimizer;
  switch (name) {
    case 'SGD':
      optimizer = new SGD(args({ learningRate: num('learningRate') }));
      break;
    case 'Momentum':
      optimizer = new SGD(args({ learningRate: num('learningRate'), momentum: num('momentum'), nesterov: Boolean(config.useNesterov ?? config.use_nesterov) }));
      break;
    case 'Adam':
      optimizer = new Adam(args<AdamArgs>({ learningRate: num('learningRate'), beta1: num('beta1'), beta2: num('beta2'), epsilon: num('epsilon') }));
      break;
    case 'RMSProp':
    case 'RMSprop':
      optimizer = new RMSprop(args({ learningRate: num('learningRate'), rho: num('decay') ?? num('rho'), momentum: num('momentum'), epsilon: num('epsilon'), centered: Boolean(config.centered) }));
      break;
    default:
      throw new Error(`trainingConfig: unsupported optimizer "${name}" (supported: SGD, Momentum, Adam, RMSProp)`);
  }
  let loss: Loss;
  if (typeof tc.loss === 'string') {
    loss = getLoss('trainingConfig', camel(tc.loss) as LossName);
  } else if (tc.loss && typeof tc.loss === 'object' && typeof tc.loss.class_name === 'string') {
    const lossName = (tc.loss.class_name[0].toLowerCase() + tc.loss.class_name.slice(1)) as LossName;
    const fromLogits = Boolean(tc.loss.config?.from_logits ?? tc.loss.config?.fromLogits);
    const base = getLoss('trainingConfig', lossName);
    loss = fromLogits ? new (base.constructor as new (a: { fromLogits: boolean }) => Loss)({ fromLogits }) : base;
  } else {
    throw new Error(`trainingConfig: unsupported loss ${JSON.stringify(tc.loss)}`);
  }
  const metrics = Array.isArray(tc.metrics) ? tc.metrics.filter((m): m is string => typeof m === 'string') : [];
  return { optimizer, loss, metrics };
}
