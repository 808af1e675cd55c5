// placeholder: to be written
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';
export function referenceGemm(_arena: Arena): Pick<Kernels, 'gemmNN' | 'gemmNT' | 'gemmTN' | 'gemmNNBias'> {
  return {} as never;
}
