import { MNIST_DIR } from './paths.ts';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistSplit } from '../src/data/mnist.ts';
import jpeg from 'jpeg-js';
import { decodeImage, decodeJpeg, decodePng, encodeGrayPng, MAX_MEGAPIXELS, prepareDigit, type RgbaImage, toMnistInput } from '../src/data/png.ts';

const REAL = MNIST_DIR;

function centreOfMass(img: Float32Array): [number, number] {
  let m = 0;
  let my = 0;
  let mx = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = img[y * 28 + x];
      m += v;
      my += v * y;
      mx += v * x;
    }
  }
  return [my / m, mx / m];
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Draws a 28x28 digit (0 = background) scaled `k` times at (ox, oy) on a W x H canvas, as a PNG. */
function drawDigit(
  digit: Float32Array,
  opts: { width: number; height: number; ox: number; oy: number; k: number; darkOnLight: boolean; rgb: boolean },
): Buffer {
  const { width, height, ox, oy, k } = opts;
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x - ox) / k);
      const sy = Math.floor((y - oy) / k);
      const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 && x >= ox && y >= oy ? digit[sy * 28 + sx] : 0;
      const i = (y * width + x) * 4;
      if (opts.darkOnLight) {
        // Dark blue ink on cream paper.
        png.data[i] = Math.round(250 - 230 * v);
        png.data[i + 1] = Math.round(245 - 225 * v);
        png.data[i + 2] = Math.round(235 - 160 * v);
      } else {
        png.data[i] = png.data[i + 1] = png.data[i + 2] = Math.round(255 * v);
      }
      png.data[i + 3] = 255;
    }
  }
  if (opts.rgb) return PNG.sync.write(png, { colorType: 2 });
  return PNG.sync.write(png, { colorType: 0 });
}

describe('toMnistInput on real MNIST digits drawn on a larger canvas', () => {
  let images: Float32Array;
  beforeAll(async () => {
    images = (await loadMnistSplit('test', { dataDir: REAL, limit: 40 })).images.data;
  });

  for (const [name, darkOnLight, rgb] of [
    ['dark-on-light RGB', true, true],
    ['light-on-dark gray', false, false],
  ] as const) {
    it(`recovers the original 28x28 (${name})`, () => {
      let worst = 0;
      for (let n = 0; n < 40; n++) {
        const digit = images.subarray(n * 784, n * 784 + 784);
        const bytes = drawDigit(digit, { width: 100, height: 80, ox: 17 + (n % 5), oy: 9 + (n % 4), k: 2, darkOnLight, rgb });
        const decoded = decodePng(bytes, `digit-${n}.png`);
        expect(decoded.width).toBe(100);
        const input = toMnistInput(decoded);
        expect(input.length).toBe(784);
        expect(Math.min(...input)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...input)).toBeLessThanOrEqual(1);
        const [cy, cx] = centreOfMass(input);
        expect(Math.abs(cy - 14)).toBeLessThanOrEqual(1);
        expect(Math.abs(cx - 14)).toBeLessThanOrEqual(1);
        worst = Math.max(worst, meanAbsDiff(input, digit));
      }
      // Mean pixel of an MNIST digit is ~0.13; the round trip is nearly exact.
      expect(worst).toBeLessThan(0.02);
    });
  }

  it('copes with a blurred (bilinear) enlargement, a grey background and transparency', () => {
    const digit = images.subarray(0, 784); // a 7
    const W = 90;
    const H = 120;
    const img: RgbaImage = { width: W, height: H, data: new Uint8Array(W * H * 4) };
    const k = 3;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const fx = (x - 10 + 0.5) / k - 0.5;
        const fy = (y - 20 + 0.5) / k - 0.5;
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const g = (yy: number, xx: number) => (yy >= 0 && yy < 28 && xx >= 0 && xx < 28 ? digit[yy * 28 + xx] : 0);
        const tx = fx - x0;
        const ty = fy - y0;
        const v =
          (1 - ty) * ((1 - tx) * g(y0, x0) + tx * g(y0, x0 + 1)) + ty * ((1 - tx) * g(y0 + 1, x0) + tx * g(y0 + 1, x0 + 1));
        const i = (y * W + x) * 4;
        // Black ink whose opacity is the digit, on a transparent background: composited onto white paper.
        img.data[i + 3] = Math.round(255 * v);
      }
    }
    const input = toMnistInput(img);
    expect(meanAbsDiff(input, digit)).toBeLessThan(0.06);
    const [cy, cx] = centreOfMass(input);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(1);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(1);
  });
});

describe('toMnistInput on synthetic pictures', () => {
  it('fits a tall bar into 20 rows and centres it', () => {
    const W = 40;
    const H = 60;
    const data = new Uint8Array(W * H * 4).fill(255);
    for (let y = 5; y < 55; y++) {
      for (let x = 30; x < 35; x++) {
        const i = (y * W + x) * 4;
        data[i] = data[i + 1] = data[i + 2] = 0;
      }
    }
    const input = toMnistInput({ width: W, height: H, data });
    let rows = 0;
    for (let y = 0; y < 28; y++) if (input.subarray(y * 28, y * 28 + 28).some((v) => v > 0.5)) rows++;
    expect(rows).toBe(20);
    const [cy, cx] = centreOfMass(input);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5);
  });

  it('gives all zeros for a blank picture', () => {
    const input = toMnistInput({ width: 10, height: 10, data: new Uint8Array(400).fill(255) });
    expect(input.every((v) => v === 0)).toBe(true);
  });
});

describe('PNG encode / decode', () => {
  it('encodeGrayPng round-trips through decodePng', () => {
    const pixels = new Float32Array(12).map((_, i) => i / 11);
    const decoded = decodePng(encodeGrayPng(pixels, 4, 3), 'gray.png');
    expect([decoded.width, decoded.height]).toEqual([4, 3]);
    for (let i = 0; i < 12; i++) {
      expect(decoded.data[4 * i]).toBe(Math.round((i / 11) * 255));
      expect(decoded.data[4 * i + 3]).toBe(255);
    }
    const bytes = decodePng(encodeGrayPng(new Uint8Array([0, 128, 255, 7]), 2, 2), 'u8.png');
    expect([bytes.data[0], bytes.data[4], bytes.data[8], bytes.data[12]]).toEqual([0, 128, 255, 7]);
  });

  it('names the file for non-PNG and corrupt bytes', () => {
    expect(() => decodePng(Buffer.from('hello, not an image'), 'notes.png')).toThrow(
      'notes.png: not a PNG file',
    );
    const good = encodeGrayPng(new Uint8Array(64 * 64).fill(9), 64, 64);
    expect(() => decodePng(good.subarray(0, good.length - 30), 'cut.png')).toThrow(/^cut\.png: corrupt PNG/);
  });

  it('rejects a pixel count that does not match the size', () => {
    expect(() => encodeGrayPng(new Uint8Array(5), 2, 2)).toThrow(/5 pixels for a 2x2 image/);
  });
});

describe('pictures without a digit', () => {
  const rgba = (w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): RgbaImage => {
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
    return { width: w, height: h, data };
  };

  it('says why: blank (white, black, transparent, 1x1), almost blank (faint noise), a speck', () => {
    expect(prepareDigit(rgba(30, 30, () => [255, 255, 255, 255])).noDigit).toBe('the picture is blank');
    expect(prepareDigit(rgba(30, 30, () => [0, 0, 0, 255])).noDigit).toBe('the picture is blank');
    expect(prepareDigit(rgba(30, 30, () => [0, 0, 0, 0])).noDigit).toBe('the picture is blank');
    expect(prepareDigit(rgba(1, 1, () => [0, 0, 0, 255])).noDigit).toBe('the picture is blank');
    // Paper with a few grey levels of noise: stretching it used to make a confident "digit".
    const noise = prepareDigit(rgba(30, 30, (x, y) => { const v = 250 + ((x * 7 + y * 13) % 6); return [v, v, v, 255]; }));
    expect(noise.noDigit).toBe('the picture is almost blank, too faint for a digit');
    expect(noise.input.every((v) => v === 0)).toBe(true);
    const speck = prepareDigit(rgba(30, 30, (x, y) => (x >= 14 && x < 16 && y >= 14 && y < 16 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
    expect(speck.noDigit).toBe('the marks are a speck of 2x2 pixels');
  });

  it('finds the digit in a real one', () => {
    const bar = prepareDigit(rgba(30, 30, (x, y) => (x >= 14 && x < 17 && y >= 5 && y < 25 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
    expect(bar.noDigit).toBeUndefined();
    expect(Math.max(...bar.input)).toBe(1);
  });

  it('refuses an image size that is not whole positive numbers (it used to read past the pixels into NaN)', () => {
    expect(() => toMnistInput({ width: 2.5, height: 2, data: new Uint8Array(20) })).toThrow(
      'toMnistInput: the image size must be positive whole numbers, got 2.5x2',
    );
  });
});

describe('reading pictures: PNG limits and errors, JPEG', () => {
  it('says a truncated PNG ends early, not pngjs’s internal message', () => {
    const good = encodeGrayPng(new Uint8Array(64 * 64).map((_, i) => i % 251), 64, 64);
    for (const cut of [20, 40, good.length - 10]) {
      expect(() => decodePng(good.subarray(0, cut), 'cut.png')).toThrow(/^cut\.png: corrupt PNG: the file ends early$/);
    }
  });

  it(`refuses a PNG over ${MAX_MEGAPIXELS} megapixels from its header, before decoding`, () => {
    const png = Buffer.from(encodeGrayPng(new Uint8Array([0]), 1, 1));
    png.writeUInt32BE(32000, 16);
    png.writeUInt32BE(32000, 20);
    expect(() => decodePng(png, 'huge.png')).toThrow(
      'huge.png: the PNG is 32000x32000 pixels (1024 megapixels); pictures up to 50 megapixels are read: scale it down first',
    );
  });

  it('decodes a JPEG to RGBA, refuses a huge or truncated one, and tells files apart by content', () => {
    const w = 40;
    const h = 30;
    const data = new Uint8Array(w * h * 4).fill(255);
    for (let y = 5; y < 25; y++) for (let x = 18; x < 22; x++) data.fill(0, (y * w + x) * 4, (y * w + x) * 4 + 3);
    const bytes = jpeg.encode({ width: w, height: h, data }, 95).data;
    const img = decodeImage(bytes, 'digit.png'); // the name does not matter, the bytes do
    expect([img.width, img.height, img.data.length]).toEqual([w, h, w * h * 4]);
    expect(img.data[(15 * w + 20) * 4]).toBeLessThan(40);
    expect(img.data[(15 * w + 5) * 4]).toBeGreaterThan(215);
    expect(() => decodeJpeg(bytes.subarray(0, bytes.length - 40), 'cut.jpg')).toThrow(/^cut\.jpg: corrupt JPEG: the file ends early$/);
    const huge = Buffer.from(bytes);
    const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
    huge.writeUInt16BE(20000, sof + 5);
    huge.writeUInt16BE(20000, sof + 7);
    expect(() => decodeJpeg(huge, 'huge.jpg')).toThrow('huge.jpg: the JPEG is 20000x20000 pixels (400 megapixels)');
    expect(() => decodeImage(Buffer.from('GIF89a...'), 'x.gif')).toThrow('x.gif: not a PNG or JPEG file');
  });
});
