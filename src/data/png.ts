/**
 * PNG (and JPEG) in, PNG out, for Node. The preprocessing that turns a picture of a digit into an
 * MNIST-like input is pure code in ./digit.ts (the browser playground runs it too); it is
 * re-exported here, and `readDigit` joins the two.
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { prepareDigit, type MnistInputOptions, type PreparedDigit, type RgbaImage } from './digit.ts';

export { prepareDigit, toMnistInput, type MnistInputOptions, type PreparedDigit, type RgbaImage } from './digit.ts';

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

/** Reads a PNG or JPEG file and prepares its digit for the model. */
export async function readDigit(filePath: string, options?: MnistInputOptions): Promise<PreparedDigit> {
  return prepareDigit(await readImage(filePath), options);
}
