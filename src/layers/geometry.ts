// Where a sliding window (convolution kernel or pooling window) lands, with Keras's padding rules.
export type Padding = 'valid' | 'same';

export interface WindowGeometry {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/**
 * 'valid': only windows that fit, out = floor((in − k) / s) + 1.
 * 'same':  out = ceil(in / s); the padding needed, max((out − 1)·s + k − in, 0), is split with the
 *          smaller half before (top/left) and the larger after, as Keras and TensorFlow do.
 */
export function windowGeometry(h: number, w: number, kh: number, kw: number, sh: number, sw: number, padding: Padding): WindowGeometry {
  if (padding === 'valid') {
    return { outH: Math.floor((h - kh) / sh) + 1, outW: Math.floor((w - kw) / sw) + 1, padTop: 0, padLeft: 0 };
  }
  const outH = Math.ceil(h / sh);
  const outW = Math.ceil(w / sw);
  const padH = Math.max((outH - 1) * sh + kh - h, 0);
  const padW = Math.max((outW - 1) * sw + kw - w, 0);
  return { outH, outW, padTop: Math.floor(padH / 2), padLeft: Math.floor(padW / 2) };
}

/** Normalises `3` or `[3, 3]` to a pair, checking the values. */
export function pair(owner: string, what: string, value: number | readonly number[]): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a <= 0 || b <= 0 || (typeof value !== 'number' && value.length !== 2)) {
    throw new Error(`${owner}: ${what} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [a, b];
}

export function checkPadding(owner: string, padding: string | undefined): Padding {
  const p = padding ?? 'valid';
  if (p !== 'valid' && p !== 'same') throw new Error(`${owner}: padding must be "valid" or "same", got "${p}"`);
  return p;
}

export interface PoolWindowArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
}

/** A pooling layer's window: Keras's defaults are a 2x2 pool, strides equal to the pool size, 'valid'. */
export function poolWindow(owner: string, args: PoolWindowArgs): { poolSize: [number, number]; strides: [number, number]; padding: Padding } {
  const poolSize = pair(owner, 'poolSize', args.poolSize ?? 2);
  return { poolSize, strides: pair(owner, 'strides', args.strides ?? poolSize), padding: checkPadding(owner, args.padding) };
}

/** Where a pool's windows land on an [h, w, c] input; throws `shapeError`'s error if none fits. */
export function poolGeometry(
  inputShape: readonly number[],
  window: { poolSize: [number, number]; strides: [number, number]; padding: Padding },
  shapeError: (expected: string, got: readonly number[]) => Error,
): WindowGeometry {
  if (inputShape.length !== 3) throw shapeError('[height, width, channels]', inputShape);
  const [h, w] = inputShape;
  const [ph, pw] = window.poolSize;
  const geometry = windowGeometry(h, w, ph, pw, window.strides[0], window.strides[1], window.padding);
  if (geometry.outH <= 0 || geometry.outW <= 0) throw shapeError(`at least ${ph}x${pw} pixels for a ${ph}x${pw} 'valid' pool`, inputShape);
  return geometry;
}
