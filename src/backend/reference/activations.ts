// Reference twin of assembly/activations.ts: the activation kernels of kernels.ts as plain loops,
// in float64 rounded to float32 on store (formulas: src/layers/activations.ts).
import { ACTIVATION_IDS, type Kernels } from '../kernels.ts';
import type { Arena } from '../memory.ts';

type ActivationKernels = Pick<Kernels, 'activationForward' | 'activationBackward'>;

const { sigmoid: SIGMOID, tanh: TANH, elu: ELU, selu: SELU, softplus: SOFTPLUS, softsign: SOFTSIGN, relu6: RELU6,
  swish: SWISH, gelu: GELU, hardSigmoid: HARD_SIGMOID, leakyRelu: LEAKY_RELU } = ACTIVATION_IDS;

// TF.js's SELU constants: λ and λ·α.
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = 1.7580993408473768599402175208123;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * erfc(z) by Numerical Recipes' Chebyshev fit (fractional error below 1.2e-7 for every z, about one
 * float32 ulp): JavaScript has no erf.
 */
function erfc(z: number): number {
  const a = Math.abs(z);
  const t = 1 / (1 + 0.5 * a);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-a * a + p);
  return z >= 0 ? r : 2 - r;
}

/** Φ(x), the standard normal distribution function. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

/** φ(x), the standard normal density. */
function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** y = act(x); alpha: leakyRelu's slope. */
function forward(x: number, act: number, alpha: number): number {
  switch (act) {
    case SIGMOID: return sigmoid(x);
    case TANH: return Math.tanh(x);
    case ELU: return x > 0 ? x : Math.expm1(x);
    case SELU: return x > 0 ? SELU_SCALE * x : SELU_SCALE_ALPHA * Math.expm1(x);
    case SOFTPLUS: return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case SOFTSIGN: return x / (1 + Math.abs(x));
    case RELU6: return Math.min(Math.max(x, 0), 6);
    case SWISH: return x * sigmoid(x);
    case GELU: return x * normalCdf(x);
    case HARD_SIGMOID: return Math.min(Math.max(0.2 * x + 0.5, 0), 1);
    case LEAKY_RELU: return x > 0 ? x : alpha * x;
    default: throw new Error(`activation kernels: unknown activation id ${act}`);
  }
}

/** dL/dx = dy · act'(x), with y = act(x). */
function backward(x: number, y: number, dy: number, act: number, alpha: number): number {
  switch (act) {
    case SIGMOID: return dy * y * (1 - y);
    case TANH: return dy * (1 - y * y);
    case ELU: return x > 0 ? dy : dy * Math.exp(x);
    case SELU: return x > 0 ? dy * SELU_SCALE : dy * SELU_SCALE_ALPHA * Math.exp(x);
    case SOFTPLUS: return dy * sigmoid(x);
    case SOFTSIGN: return dy / (1 + Math.abs(x)) ** 2;
    case RELU6: return x > 0 && x <= 6 ? dy : 0; // TF.js: 1 on (0, 6]
    case SWISH: {
      const s = sigmoid(x);
      return dy * s * (1 + x * (1 - s));
    }
    case GELU: return dy * (normalCdf(x) + x * normalPdf(x));
    case HARD_SIGMOID: {
      const p = 0.2 * x + 0.5; // TF.js's clipByValue passes the gradient on [0, 1], bounds included
      return p >= 0 && p <= 1 ? 0.2 * dy : 0;
    }
    case LEAKY_RELU: return x > 0 ? dy : alpha * dy;
    default: throw new Error(`activation kernels: unknown activation id ${act}`);
  }
}

export function referenceActivations(arena: Arena): ActivationKernels {
  return {
    activationForward(x, y, n, act, alpha) {
      const f = arena.f32;
      alpha = Math.fround(alpha); // the WASM kernel takes it as f32
      const X = x >> 2, Y = y >> 2;
      for (let i = 0; i < n; i++) f[Y + i] = forward(f[X + i], act, alpha);
    },

    activationBackward(x, y, dy, dx, n, act, alpha) {
      const f = arena.f32;
      alpha = Math.fround(alpha);
      const X = x >> 2, Y = y >> 2, DY = dy >> 2, DX = dx >> 2;
      for (let i = 0; i < n; i++) f[DX + i] = backward(f[X + i], f[Y + i], f[DY + i], act, alpha);
    },
  };
}
