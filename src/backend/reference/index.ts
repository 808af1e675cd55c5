// The reference backend: every kernel of kernels.ts in plain, readable TypeScript over the same
// memory as the WASM backend. It is the specification the SIMD kernels are tested against.
import type { Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';
import { referenceGemm } from './gemm.ts';
import { referenceElementwise } from './elementwise.ts';
import { referenceConv } from './conv.ts';
import { referenceSparse } from './sparse.ts';
import { referenceActivations } from './activations.ts';
import { referenceNormalization } from './normalization.ts';
import { referenceAveragePooling } from './average-pooling.ts';
import { referenceAugment } from './augment.ts';
import { referenceWinograd } from './winograd.ts';
import { referenceBatchNormRelu } from './batch-norm-relu.ts';

export function referenceKernels(arena: Arena): Kernels {
  return {
    ...referenceGemm(arena), ...referenceElementwise(arena), ...referenceConv(arena), ...referenceSparse(arena),
    ...referenceActivations(arena), ...referenceNormalization(arena), ...referenceAveragePooling(arena), ...referenceAugment(arena), ...referenceWinograd(arena), ...referenceBatchNormRelu(arena),
  };
}
