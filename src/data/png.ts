/**
 * PNG in and out, and the preprocessing that turns any picture of a digit into an MNIST-like input.
 *
 * MNIST was made like this (LeCun et al.): the digit's bounding box was size-normalised to fit a
 * 20x20 box keeping its aspect ratio (anti-aliased, hence grey levels), then placed in a 28x28 field
 * so that its centre of mass is at the centre. Digits are white (1.0) on black (0.0).
 * `toMnistInput` repeats those steps on an arbitrary RGBA picture.
 */
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, RGBA, row-major. */
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes a PNG (any colour type / bit depth) to 8-bit RGBA. Errors name the file. */
export function decodePng(bytes: Buffer | Uint8Array, fileName: string): RgbaImage {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || PNG_SIGNATURE.some((b, i) => buf[i] !== b)) {
    throw new Error(`${fileName}: not a PNG file (it does not start with the PNG signature)`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new Error(`${fileName}: corrupt PNG (${(err as Error).message})`);
  }
  if (png.width === 0 || png.height === 0) throw new Error(`${fileName}: empty PNG (${png.width}x${png.height})`);
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}

/** Reads and decodes a PNG file. */
export async function readPng(filePath: string): Promise<RgbaImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${filePath}: ${e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.message})`}`);
  }
  return decodePng(bytes, filePath);
}

/**
 * Encodes a grayscale image as an 8-bit grayscale PNG. Float32Array values are taken as [0, 1]
 * (clamped, x255); Uint8Array values as 0-255.
 */
export function encodeGrayPng(pixels: Float32Array | Uint8Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`encodeGrayPng: invalid size ${width}x${height}`);
  }
  if (pixels.length !== width * height) {
    throw new Error(`encodeGrayPng: ${pixels.length} pixels for a ${width}x${height} image (need ${width * height})`);
  }
  const gray = Buffer.alloc(width * height);
  if (pixels instanceof Float32Array) {
    for (let i = 0; i < gray.length; i++) {
      const v = pixels[i];
      gray[i] = Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  } else {
    gray.set(pixels);
  }
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = gray;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
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
 * Converts an RGBA picture of one digit to MNIST's 28x28 input (784 float32 in [0, 1], white
 * digit on black, row-major): grayscale, polarity, contrast stretch, crop, fit into 20x20,
 * centre of mass to (14, 14).
 */
export function toMnistInput(image: RgbaImage, options: MnistInputOptions = {}): Float32Array {
  const { width: w, height: h, data } = image;
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
  if (peak - bg < 1e-3) return out; // blank picture
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
  if (x1 < 0) return out;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
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
  return out;
}

/** Reads a PNG file and returns its MNIST input (784 values). */
export async function pngFileToMnistInput(filePath: string, options?: MnistInputOptions): Promise<Float32Array> {
  return toMnistInput(await readPng(filePath), options);
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
