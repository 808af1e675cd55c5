// placeholder: to be written
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';
export function referenceConv(_arena: Arena): Pick<Kernels, 'im2col' | 'col2im' | 'maxPoolForward' | 'maxPoolBackward'> {
  return {} as never;
}
