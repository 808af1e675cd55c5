// The fast pass: rewrites a built model's textbook layers into faster layers that compute the same
// thing (up to float rounding), sharing their parameters. `new Sequential(layers, { optimize: false })`
// skips it. Each rewrite's file says which layers it replaces, when, and why the result is exact:
//
//   conv-pool-one-channel.ts  Conv2D (1 channel, ReLU) → MaxPooling2D at the start: one direct pass each way
//   conv-relu-max-pool.ts     Conv2D (ReLU) → MaxPooling2D: cropped conv, the pool does the ReLU's
//                             backward, the backward products skip dL/dz's zeros
//   direct-conv.ts            Conv2D with one input channel: convolved directly, no im2col
//   winograd-conv.ts          Conv2D 3x3, stride 1, 'valid', >= 16 channels: Winograd F(2x2, 3x3)
//   batch-norm-relu.ts        BatchNormalization → ReLU: fused passes, f32 SIMD, split across threads
//   tiling-max-pool.ts        MaxPooling2D with side-by-side windows: dx in one pass
//   sparse-input-dense.ts     Dense reading the model's input: products over the nonzero pixels only
//
// Rewrites are tried in that order at each position, first match wins.
import type { Backend } from '../backend/index.ts';
import { Conv2D } from '../layers/conv2d.ts';
import { Dense } from '../layers/dense.ts';
import { Flatten } from '../layers/flatten.ts';
import type { Layer } from '../layers/layer.ts';
import { MaxPooling2D } from '../layers/pooling.ts';
import { ConvPoolOneChannel } from './conv-pool-one-channel.ts';
import { ConvReluMaxPool } from './conv-relu-max-pool.ts';
import { DirectConv2D } from './direct-conv.ts';
import { SparseInputDense } from './sparse-input-dense.ts';
import { TilingMaxPool } from './tiling-max-pool.ts';
import { WinogradConv2D } from './winograd-conv.ts';
import { BatchNormRelu } from './batch-norm-relu.ts';
import { BatchNormalization } from '../layers/batch-normalization.ts';
import { ReLU } from '../layers/activations.ts';

/** The layers to run for a built model: fast layers where a rewrite applies, the textbook ones elsewhere. */
export function optimizeLayers(layers: readonly Layer[], backend: Backend): Layer[] {
  const out: Layer[] = [];
  for (let i = 0; i < layers.length; i++) {
    const [layer, next] = [layers[i], layers[i + 1]];
    const before = layers.slice(0, i);
    // Nobody wants dL/dx of a layer with no parameters before it.
    const needInputGrad = before.some((l) => l.params.length > 0);
    if (layer instanceof Conv2D && next instanceof MaxPooling2D && ConvPoolOneChannel.applies(layer, next, needInputGrad)) {
      out.push(new ConvPoolOneChannel(layer, next, backend));
      i++;
    } else if (layer instanceof Conv2D && next instanceof MaxPooling2D && ConvReluMaxPool.applies(layer, next)) {
      out.push(new ConvReluMaxPool(layer, next, backend));
      i++;
    } else if (layer instanceof Conv2D && DirectConv2D.applies(layer)) {
      out.push(new DirectConv2D(layer, backend));
    } else if (layer instanceof Conv2D && WinogradConv2D.applies(layer)) {
      out.push(new WinogradConv2D(layer, backend));
    } else if (layer instanceof BatchNormalization && next instanceof ReLU) {
      out.push(new BatchNormRelu(layer, next, backend));
      i++;
    } else if (layer instanceof MaxPooling2D && TilingMaxPool.applies(layer)) {
      out.push(new TilingMaxPool(layer, backend));
    } else if (layer instanceof Dense && before.every((l) => l instanceof Flatten)) {
      out.push(new SparseInputDense(layer, backend));
    } else {
      out.push(layer);
    }
  }
  return out;
}
