// placeholder: to be written
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';
export function referenceElementwise(_arena: Arena): Pick<Kernels, 'biasAdd' | 'biasRelu' | 'relu' | 'reluBackward' | 'colSum' | 'softmax' | 'softmaxBackward' | 'softmaxCrossEntropy' | 'argmaxRows' | 'mul' | 'scale' | 'axpy' | 'gatherRows' | 'sgdUpdate' | 'adamUpdate'> {
  return {} as never;
}
