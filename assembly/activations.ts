// Element-wise activations beyond ReLU and softmax (spec: src/backend/kernels.ts, formulas:
// src/layers/activations.ts, readable twin: src/backend/reference/activations.ts).
//
// The piecewise-linear ones and softsign run four lanes at a time in f32. Those built on exp, tanh
// or erf run one value at a time in f64, as the twin does, so that the two agree to the rounding of
// the result (and a scalar exp costs the same in either precision).
import { bytesOf } from './common';

// The ids of ACTIVATION_IDS in src/backend/kernels.ts.
const SIGMOID = 0;
const TANH = 1;
const ELU = 2;
const SELU = 3;
const SOFTPLUS = 4;
const SOFTSIGN = 5;
const RELU6 = 6;
const SWISH = 7;
const GELU = 8;
const HARD_SIGMOID = 9;
const LEAKY_RELU = 10;

// TF.js's SELU constants: λ and λ·α.
const SELU_SCALE: f64 = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA: f64 = 1.7580993408473768599402175208123;

/** Bytes covered by the f32x4 part of an n-float loop. */
// @ts-ignore: decorator
@inline function vecBytes(n: i32): usize {
  return <usize>(n & ~3) << 2;
}

// @ts-ignore: decorator
@inline function sigmoid(x: f64): f64 {
  return 1 / (1 + Math.exp(-x));
}

/**
 * erfc(z) by Numerical Recipes' Chebyshev fit (fractional error below 1.2e-7 for every z, about one
 * f32 ulp): WebAssembly and JavaScript have no erf.
 */
// @ts-ignore: decorator
@inline function erfc(z: f64): f64 {
  const a = Math.abs(z);
  const t = 1 / (1 + 0.5 * a);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-a * a + p);
  return z >= 0 ? r : 2 - r;
}

/** Φ(x), the standard normal distribution function. */
// @ts-ignore: decorator
@inline function normalCdf(x: f64): f64 {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

/** y = act(x) for the activations computed in f64. */
// @ts-ignore: decorator
@inline function scalarForward(x: f64, act: i32): f64 {
  switch (act) {
    case SIGMOID: return sigmoid(x);
    case TANH: return Math.tanh(x);
    case ELU: return x > 0 ? x : Math.expm1(x);
    case SELU: return x > 0 ? SELU_SCALE * x : SELU_SCALE_ALPHA * Math.expm1(x);
    case SOFTPLUS: return max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case SWISH: return x * sigmoid(x);
    default: return x * normalCdf(x); // GELU
  }
}

/** dL/dx = dy · act'(x) for the activations computed in f64; y = act(x). */
// @ts-ignore: decorator
@inline function scalarBackward(x: f64, y: f64, dy: f64, act: i32): f64 {
  switch (act) {
    case SIGMOID: return dy * y * (1 - y);
    case TANH: return dy * (1 - y * y);
    case ELU: return x > 0 ? dy : dy * Math.exp(x);
    case SELU: return x > 0 ? dy * SELU_SCALE : dy * SELU_SCALE_ALPHA * Math.exp(x);
    case SOFTPLUS: return dy * sigmoid(x);
    case SWISH: {
      const s = sigmoid(x);
      return dy * s * (1 + x * (1 - s));
    }
    default: // GELU: Φ(x) + x·φ(x)
      return dy * (normalCdf(x) + x * Math.exp(-0.5 * x * x) * 0.3989422804014327);
  }
}

/** y[i] = act(x[i]); alpha: leakyRelu's slope. y may equal x. */
export function activationForward(x: usize, y: usize, n: i32, act: i32, alpha: f32): void {
  if (<u32>act > <u32>LEAKY_RELU) unreachable();
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  let i: usize = 0;
  if (act == RELU6) {
    const six = f32x4.splat(6);
    for (; i < vecEnd; i += 16) v128.store(y + i, f32x4.min(f32x4.max(v128.load(x + i), zero), six));
    for (; i < bytes; i += 4) store<f32>(y + i, min<f32>(max<f32>(load<f32>(x + i), 0), 6));
  } else if (act == HARD_SIGMOID) {
    const fifth = f32x4.splat(0.2), half = f32x4.splat(0.5);
    for (; i < vecEnd; i += 16) {
      v128.store(y + i, f32x4.min(f32x4.max(f32x4.add(f32x4.mul(fifth, v128.load(x + i)), half), zero), one));
    }
    for (; i < bytes; i += 4) store<f32>(y + i, min<f32>(max<f32>(0.2 * load<f32>(x + i) + 0.5, 0), 1));
  } else if (act == LEAKY_RELU) {
    const a = f32x4.splat(alpha);
    for (; i < vecEnd; i += 16) {
      const v = v128.load(x + i);
      v128.store(y + i, v128.bitselect(v, f32x4.mul(a, v), f32x4.gt(v, zero)));
    }
    for (; i < bytes; i += 4) {
      const v = load<f32>(x + i);
      store<f32>(y + i, v > 0 ? v : alpha * v);
    }
  } else if (act == SOFTSIGN) {
    for (; i < vecEnd; i += 16) {
      const v = v128.load(x + i);
      v128.store(y + i, f32x4.div(v, f32x4.add(one, f32x4.abs(v))));
    }
    for (; i < bytes; i += 4) {
      const v = load<f32>(x + i);
      store<f32>(y + i, v / (1 + Mathf.abs(v)));
    }
  } else {
    for (; i < bytes; i += 4) store<f32>(y + i, <f32>scalarForward(<f64>load<f32>(x + i), act));
  }
}

/** dx[i] = dy[i] · act'(x[i]), y = activationForward's output; alpha: leakyRelu's slope. dx may equal dy. */
export function activationBackward(x: usize, y: usize, dy: usize, dx: usize, n: i32, act: i32, alpha: f32): void {
  if (<u32>act > <u32>LEAKY_RELU) unreachable();
  const bytes = bytesOf(n);
  const vecEnd = vecBytes(n);
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  let i: usize = 0;
  if (act == RELU6) {
    // 1 on (0, 6], as TF.js's relu6 gradient.
    const six = f32x4.splat(6);
    for (; i < vecEnd; i += 16) {
      const v = v128.load(x + i);
      v128.store(dx + i, v128.and(v128.load(dy + i), v128.and(f32x4.gt(v, zero), f32x4.le(v, six))));
    }
    for (; i < bytes; i += 4) {
      const v = load<f32>(x + i);
      store<f32>(dx + i, v > 0 && v <= 6 ? load<f32>(dy + i) : 0);
    }
  } else if (act == HARD_SIGMOID) {
    // 0.2 where the clip lets 0.2x + 0.5 through, bounds included, as TF.js's clipByValue gradient.
    const fifth = f32x4.splat(0.2), half = f32x4.splat(0.5);
    for (; i < vecEnd; i += 16) {
      const p = f32x4.add(f32x4.mul(fifth, v128.load(x + i)), half);
      const inside = v128.and(f32x4.ge(p, zero), f32x4.le(p, one));
      v128.store(dx + i, v128.and(f32x4.mul(fifth, v128.load(dy + i)), inside));
    }
    for (; i < bytes; i += 4) {
      const p: f32 = 0.2 * load<f32>(x + i) + 0.5;
      store<f32>(dx + i, p >= 0 && p <= 1 ? 0.2 * load<f32>(dy + i) : 0);
    }
  } else if (act == LEAKY_RELU) {
    const a = f32x4.splat(alpha);
    for (; i < vecEnd; i += 16) {
      const g = v128.load(dy + i);
      v128.store(dx + i, v128.bitselect(g, f32x4.mul(a, g), f32x4.gt(v128.load(x + i), zero)));
    }
    for (; i < bytes; i += 4) {
      const g = load<f32>(dy + i);
      store<f32>(dx + i, load<f32>(x + i) > 0 ? g : alpha * g);
    }
  } else if (act == SOFTSIGN) {
    for (; i < vecEnd; i += 16) {
      const d = f32x4.add(one, f32x4.abs(v128.load(x + i)));
      v128.store(dx + i, f32x4.div(v128.load(dy + i), f32x4.mul(d, d)));
    }
    for (; i < bytes; i += 4) {
      const d: f32 = 1 + Mathf.abs(load<f32>(x + i));
      store<f32>(dx + i, load<f32>(dy + i) / (d * d));
    }
  } else {
    for (; i < bytes; i += 4) {
      store<f32>(dx + i, <f32>scalarBackward(<f64>load<f32>(x + i), <f64>load<f32>(y + i), <f64>load<f32>(dy + i), act));
    }
  }
}
