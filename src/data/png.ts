/**
 * PNG (and JPEG) in, PNG out, and the preprocessing that turns any picture of a digit into an
 * MNIST-like input.
 *
 * MNIST was made like this (LeCun et al.): the digit's bounding box was size-normalised to fit a
 * 20x20 box keeping its aspect ratio (anti-aliased, hence grey levels), then placed in a 28x28 field
 * so that its centre of mass is at the centre. Digits are white (1.0) on black (0.0).
 * `toMnistInput` repeats those steps on an arbitrary RGBA picture.
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, RGBA, row-major. */
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/**
 * Largest picture decoded, in megapixels: the size is read from the header first, as a small file
 * can declare a huge image (a 1 MB PNG of 32000x32000 would decode to 4 GB of RGBA).
 */
export const MAX_MEGAPIXELS = 50;

const asBuffer = (bytes: Buffer | Uint8Array) =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const startsWith = (buf: Buffer, signature: number[]) => buf.length >= signature.length && signature.every((b, i) => buf[i] === b);

function checkSize(width: number, height: number, fileName: string, kind: string): void {
  if (width === 0 || height === 0) throw new Error(`${fileName}: empty ${kind} (${width}x${height})`);
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw new Error(
      `${fileName}: the ${kind} is ${width}x${height} pixels (${Math.round((width * height) / 1e6)} megapixels); ` +
        `pictures up to ${MAX_MEGAPIXELS} megapixels are read: scale it down first`,
    );
  }
}

/** Decodes a PNG (any colour type / bit depth) to 8-bit RGBA. Errors name the file. */
export function decodePng(bytes: Buffer | Uint8Array, fileName: string): RgbaImage {
  const buf = asBuffer(bytes);
  if (!startsWith(buf, PNG_SIGNATURE)) {
    throw new Error(`${fileName}: not a PNG file (it does not start with the PNG signature)`);
  }
  // The IHDR chunk comes first: length (4), "IHDR", width (4), height (4).
  if (buf.length < 24) throw new Error(`${fileName}: corrupt PNG: the file ends early`);
  if (buf.toString('latin1', 12, 16) !== 'IHDR') throw new Error(`${fileName}: corrupt PNG: it does not start with an IHDR header`);
  checkSize(buf.readUInt32BE(16), buf.readUInt32BE(20), fileName, 'PNG');
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    const message = (err as Error).message;
    // pngjs reports a truncated file as "There are some read requests waitng on finished stream".
    if (/read requests wait/i.test(message)) throw new Error(`${fileName}: corrupt PNG: the file ends early`);
    throw new Error(`${fileName}: corrupt PNG (${message})`);
  }
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}

/** Width and height from a JPEG's frame header (SOFn), or undefined if the file ends before one. */
function jpegSize(buf: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 <= buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC), carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    i += 2 + buf.readUInt16BE(i + 2);
  }
  return undefined;
}

/** Decodes a baseline or progressive JPEG to 8-bit RGBA (with jpeg-js). Errors name the file. */
export function decodeJpeg(bytes: Buffer | Uint8Array, fileName: string): RgbaImage {
  const buf = asBuffer(bytes);
  if (!startsWith(buf, JPEG_SIGNATURE)) throw new Error(`${fileName}: not a JPEG file (it does not start with the JPEG signature)`);
  const size = jpegSize(buf);
  if (!size) throw new Error(`${fileName}: corrupt JPEG: the file ends early`);
  checkSize(size.width, size.height, fileName, 'JPEG');
  try {
    const { width, height, data } = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS });
    return { width, height, data };
  } catch (err) {
    // jpeg-js reports a truncated file as "marker was not found" and the like: without the
    // end-of-image marker, say what happened.
    const ended = buf.length >= 4 && buf[buf.length - 2] === 0xff && buf[buf.length - 1] === 0xd9;
    throw new Error(`${fileName}: corrupt JPEG${ended ? ` (${(err as Error).message ?? err})` : ': the file ends early'}`);
  }
}

/** Decodes a PNG or a JPEG, told apart by their first bytes (not by the file name). */
export function decodeImage(bytes: Buffer | Uint8Array, fileName: string): RgbaImage {
  const buf = asBuffer(bytes);
  if (startsWith(buf, PNG_SIGNATURE)) return decodePng(buf, fileName);
  if (startsWith(buf, JPEG_SIGNATURE)) return decodeJpeg(buf, fileName);
  throw new Error(`${fileName}: not a PNG or JPEG file${buf.length === 0 ? ' (it is empty)' : ''}`);
}

/** Reads and decodes a PNG or JPEG file. */
export async function readImage(filePath: string): Promise<RgbaImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'this is a folder, not a picture' : `cannot read (${e.message})`;
    throw new Error(`${filePath}: ${why}`);
  }
  return decodeImage(bytes, filePath);
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

/** Reads a PNG or JPEG file and prepares its digit for the model. */
export async function readDigit(filePath: string, options?: MnistInputOptions): Promise<PreparedDigit> {
  return prepareDigit(await readImage(filePath), options);
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
