/**
 * Pixels: small PNGs encoded with pngjs (the digit tiles embedded as data URIs)
 * and SVG -> PNG rasterisation of whole figures.
 *
 * Why resvg (@resvg/resvg-wasm) rather than a hand-written rasteriser with a
 * bitmap font: every picture already exists as SVG for the HTML, so rendering
 * that same SVG gives PNG files identical in layout to what the page shows,
 * with anti-aliased lines and real, hinted text (a 5x7 bitmap font scaled up
 * looks blocky and only covers the glyphs someone typed in). The WebAssembly
 * build is one platform-independent .wasm inside the npm package — no native
 * addon, no postinstall download — and it cannot see system fonts, so output
 * is the same on every machine: the only fonts are the DejaVu Sans TTFs shipped
 * in the dejavu-fonts-ttf npm package, loaded from node_modules.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

const require = createRequire(import.meta.url);

/** PNG files are rendered at this many pixels per SVG user unit (crisp on high-DPI screens). */
export const PNG_SCALE = 2;

let ready: Promise<Uint8Array[]> | undefined;

/** Loads the wasm module and the fonts once per process. */
function resvgReady(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    const wasm = await readFile(require.resolve('@resvg/resvg-wasm/index_bg.wasm'));
    try {
      await initWasm(wasm);
    } catch (e) {
      // Another copy of this module (e.g. a test runner re-importing it) already initialised the shared wasm.
      if (!/already initiali[sz]ed/i.test(String((e as Error)?.message ?? e))) throw e;
    }
    const fonts = await Promise.all(
      ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map(async (f) => new Uint8Array(await readFile(require.resolve(`dejavu-fonts-ttf/ttf/${f}`)))),
    );
    return fonts;
  })();
  ready.catch(() => (ready = undefined)); // allow a retry after a failure
  return ready;
}

/** Renders a standalone SVG document to PNG bytes at `scale` pixels per user unit. */
export async function svgToPng(svg: string, scale = PNG_SCALE): Promise<Buffer> {
  const fontBuffers = await resvgReady();
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
    font: { fontBuffers, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', defaultFontSize: 12 },
  });
  try {
    const img = r.render();
    try {
      return Buffer.from(img.asPng());
    } finally {
      img.free();
    }
  } finally {
    r.free();
  }
}

/** Encodes an RGBA buffer as PNG bytes. */
export function encodeRgba(rgba: Uint8Array, width: number, height: number, colorType: 0 | 2 | 6 = 6): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType });
}

export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/**
 * One grayscale image (values in [0,1], white digit on black as stored) as a
 * small grayscale PNG shown as dark ink on white paper, which reads better on
 * a light page. Pixel size stays native (e.g. 28x28); the figures enlarge it
 * with nearest-neighbour sampling.
 */
export function digitPng(pixels: ArrayLike<number>, width: number, height: number): Buffer {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = pixels[i];
    const ink = Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
    const g = Math.round(255 - ink * 238); // 255 paper .. 17 ink
    rgba[i * 4] = g;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = g;
    rgba[i * 4 + 3] = 255;
  }
  return encodeRgba(rgba, width, height, 0);
}
