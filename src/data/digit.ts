/**
 * The preprocessing that turns any picture of a digit into an MNIST-like input: pure code (no
 * `node:` module, no decoder), shared by `npm run predict` (through ./png.ts, which decodes the
 * files) and the browser playground (which hands it the drawing canvas's pixels).
 *
 * MNIST was made like this (LeCun et al.): the digit's bounding box was size-normalised to fit a
 * 20x20 box keeping its aspect ratio (anti-aliased, hence grey levels), then placed in a 28x28 field
 * so that its centre of mass is at the centre. Digits are white (1.0) on black (0.0).
 * `prepareDigit` repeats those steps on an arbitrary RGBA picture.
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, RGBA, row-major (a canvas's ImageData.data fits as it is). */
  data: Uint8Array | Uint8ClampedArray;
}

export interface MnistInputOptions {
  /**
   * Ink level (0-1, after background removal and contrast stretch) above which a pixel counts as part
   * of the digit for the bounding box. Default 0.05.
   */
  threshold?: number;
  /** Polarity: 'auto' (default) decides from the border; true = dark digit on light paper; false = light on dark. */
  invert?: boolean | 'auto';
}

/** Side of the box the digit is scaled into, and of the output field (as MNIST). */
const BOX = 20;
const SIZE = 28;
const CENTRE = 14;
/**
 * Least difference between the ink and the paper (0-1) for a picture to hold a digit: below it,
 * stretching the contrast would turn paper texture or JPEG noise into strokes.
 */
const MIN_CONTRAST = 0.1;
/** Least extent, in pixels of the picture, of marks that can be a digit (smaller: a speck). */
const MIN_EXTENT = 4;

export interface PreparedDigit {
  /** MNIST's 28x28 input (all zeros when no digit was found). */
  input: Float32Array;
  /** Why the picture holds no digit (blank, a speck); undefined when it holds one. */
  noDigit?: string;
}

/**
 * Converts an RGBA picture of one digit to MNIST's 28x28 input (784 float32 in [0, 1], white
 * digit on black, row-major): grayscale, polarity, contrast stretch, crop, fit into 20x20,
 * centre of mass to (14, 14). All zeros for a picture without a digit.
 */
export function toMnistInput(image: RgbaImage, options: MnistInputOptions = {}): Float32Array {
  return prepareDigit(image, options).input;
}

/** As toMnistInput, and says when the picture holds no digit (blank, too faint, a speck). */
export function prepareDigit(image: RgbaImage, options: MnistInputOptions = {}): PreparedDigit {
  const { width: w, height: h, data } = image;
  if (!Number.isSafeInteger(w) || !Number.isSafeInteger(h) || w <= 0 || h <= 0) {
    throw new Error(`toMnistInput: the image size must be positive whole numbers, got ${w}x${h}`);
  }
  if (data.length !== w * h * 4) {
    throw new Error(`toMnistInput: ${data.length} bytes for a ${w}x${h} RGBA image (need ${w * h * 4})`);
  }
  const threshold = options.threshold ?? 0.05;
  const n = w * h;

  // 1. Grayscale (luminance, Rec. 601), alpha composited onto white paper.
  const gray = new Float32Array(n);
  let gMin = 1;
  let gMax = 0;
  let aMin = 255;
  for (let i = 0; i < n; i++) {
    const r = data[4 * i];
    const g = data[4 * i + 1];
    const b = data[4 * i + 2];
    const a = data[4 * i + 3] / 255;
    aMin = Math.min(aMin, data[4 * i + 3]);
    const lum = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    const v = a * lum + (1 - a);
    gray[i] = v;
    if (v < gMin) gMin = v;
    if (v > gMax) gMax = v;
  }

  // 2. Polarity: make the digit bright on a dark background.
  let ink: Float32Array;
  if (aMin < 250 && gMax - gMin < 0.05 && (options.invert ?? 'auto') === 'auto') {
    // A light digit on a transparent background vanishes on white paper: the alpha is the ink.
    ink = new Float32Array(n);
    for (let i = 0; i < n; i++) ink[i] = data[4 * i + 3] / 255;
  } else {
    const invert = options.invert === undefined || options.invert === 'auto' ? borderMedian(gray, w, h) > 0.5 : options.invert;
    ink = invert ? gray.map((v) => 1 - v) : gray;
  }

  // 3. Remove the background level and stretch the contrast so the strokes reach 1.
  const bg = borderMedian(ink, w, h);
  let peak = 0;
  for (let i = 0; i < n; i++) if (ink[i] > peak) peak = ink[i];
  const out = new Float32Array(SIZE * SIZE);
  if (peak - bg < MIN_CONTRAST) {
    return { input: out, noDigit: peak - bg < 1e-3 ? 'the picture is blank' : 'the picture is almost blank, too faint for a digit' };
  }
  const scale = 1 / (peak - bg);
  for (let i = 0; i < n; i++) ink[i] = Math.min(1, Math.max(0, (ink[i] - bg) * scale));
  // Paper texture / sensor noise: the level of the border's brightest 2 % is removed (0 for a clean image).
  const noise = Math.min(0.5, borderQuantile(ink, w, h, 0.98));
  if (noise > 0) for (let i = 0; i < n; i++) ink[i] = Math.max(0, (ink[i] - noise) / (1 - noise));

  // 4. Bounding box of the digit.
  let x0 = w;
  let x1 = -1;
  let y0 = h;
  let y1 = -1;
  // A pixel counts if it and at least one of its 8 neighbours are above the threshold (isolated
  // specks of noise do not stretch the box).
  const on = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && ink[y * w + x] > threshold;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (
        on(x, y) &&
        (on(x - 1, y - 1) || on(x, y - 1) || on(x + 1, y - 1) || on(x - 1, y) ||
          on(x + 1, y) || on(x - 1, y + 1) || on(x, y + 1) || on(x + 1, y + 1))
      ) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { input: out, noDigit: 'the picture has only isolated dots' };
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  if (Math.max(bw, bh) < MIN_EXTENT) return { input: out, noDigit: `the marks are a speck of ${bw}x${bh} pixels` };
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) crop[y * bw + x] = ink[(y0 + y) * w + x0 + x];
  }

  // 5. Fit into 20x20 keeping the aspect ratio.
  const s = BOX / Math.max(bw, bh);
  const ow = Math.max(1, Math.min(BOX, Math.round(bw * s)));
  const oh = Math.max(1, Math.min(BOX, Math.round(bh * s)));
  const patch = resize(crop, bw, bh, ow, oh);

  // 6. Centre of mass to (14, 14) in the 28x28 field (integer shift, as MNIST).
  let mass = 0;
  let my = 0;
  let mx = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const v = patch[y * ow + x];
      mass += v;
      my += v * y;
      mx += v * x;
    }
  }
  const offY = mass > 0 ? Math.round(CENTRE - my / mass) : Math.floor((SIZE - oh) / 2);
  const offX = mass > 0 ? Math.round(CENTRE - mx / mass) : Math.floor((SIZE - ow) / 2);
  for (let y = 0; y < oh; y++) {
    const ty = y + offY;
    if (ty < 0 || ty >= SIZE) continue;
    for (let x = 0; x < ow; x++) {
      const tx = x + offX;
      if (tx < 0 || tx >= SIZE) continue;
      out[ty * SIZE + tx] = Math.min(1, Math.max(0, patch[y * ow + x]));
    }
  }
  return { input: out };
}

/** Median of the outer one-pixel ring. */
function borderMedian(values: Float32Array, w: number, h: number): number {
  return borderQuantile(values, w, h, 0.5);
}

/** Quantile q of the outer one-pixel ring. */
function borderQuantile(values: Float32Array, w: number, h: number, q: number): number {
  const ring: number[] = [];
  for (let x = 0; x < w; x++) {
    ring.push(values[x]);
    if (h > 1) ring.push(values[(h - 1) * w + x]);
  }
  for (let y = 1; y < h - 1; y++) {
    ring.push(values[y * w]);
    if (w > 1) ring.push(values[y * w + w - 1]);
  }
  ring.sort((a, b) => a - b);
  return ring[Math.min(ring.length - 1, Math.floor(ring.length * q))];
}

/** For each output index, the source indices and weights: area averaging when shrinking, linear when growing. */
function resampleWeights(src: number, dst: number): { idx: number[]; wt: number[] }[] {
  const f = src / dst;
  const taps: { idx: number[]; wt: number[] }[] = [];
  for (let o = 0; o < dst; o++) {
    const idx: number[] = [];
    const wt: number[] = [];
    if (f > 1) {
      // Output pixel o covers source interval [o*f, (o+1)*f): average with fractional coverage.
      const a = o * f;
      const b = (o + 1) * f;
      for (let i = Math.floor(a); i < Math.min(src, Math.ceil(b)); i++) {
        const overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap > 1e-9) {
          idx.push(i);
          wt.push(overlap / f);
        }
      }
    } else {
      // Pixel centres aligned: source coordinate of output centre, then linear interpolation.
      const c = Math.min(src - 1, Math.max(0, (o + 0.5) * f - 0.5));
      const i0 = Math.floor(c);
      const i1 = Math.min(src - 1, i0 + 1);
      const t = c - i0;
      idx.push(i0);
      wt.push(1 - t);
      if (i1 !== i0 && t > 0) {
        idx.push(i1);
        wt.push(t);
      }
    }
    taps.push({ idx, wt });
  }
  return taps;
}

/** Separable resize of a single-channel image. */
function resize(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const tx = resampleWeights(sw, dw);
  const ty = resampleWeights(sh, dh);
  const tmp = new Float32Array(sh * dw);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      const { idx, wt } = tx[x];
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += wt[k] * src[y * sw + idx[k]];
      tmp[y * dw + x] = acc;
    }
  }
  const dst = new Float32Array(dh * dw);
  for (let y = 0; y < dh; y++) {
    const { idx, wt } = ty[y];
    for (let x = 0; x < dw; x++) {
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += wt[k] * tmp[idx[k] * dw + x];
      dst[y * dw + x] = acc;
    }
  }
  return dst;
}
