// im2col / col2im and max pooling (NHWC): hand-worked examples, the adjoint identity, and every WASM
// build against the reference twin over many geometries ('valid'/'same', strides ≠ kernel, odd
// sizes, channels at SIMD edges). These kernels only move, add and compare floats in a fixed
// order, so WASM and reference must agree bit for bit.
import { describe, expect, test } from 'vitest';
import { backends, Buffers, CONV_GEOMETRIES as GEOMS, convGeometry, expectClose, expectExact, rng, SIZES, uniform, type Conv } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const all = [{ name: 'reference', kernels: reference }, ...wasm];

function geometry(g: Conv) {
  return convGeometry(g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.padding);
}

function cases(maxCols: number): Conv[] {
  const out: Conv[] = [];
  for (const c of SIZES) {
    for (const g of GEOMS) {
      const conv = { ...g, batch: 2, c };
      const { outH, outW } = geometry(conv);
      if (conv.batch * outH * outW * g.kh * g.kw * c <= maxCols) out.push(conv);
    }
  }
  return out;
}

/** The 14 geometry arguments of im2col/col2im, in order after the two pointers. */
function args(g: Conv) {
  const { outH, outW, padTop, padLeft } = geometry(g);
  return [g.batch, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, padTop, padLeft, outH, outW] as const;
}

describe.each(all)('$name im2col / col2im hand examples', ({ kernels }) => {
  const image = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3x3x1

  test('valid 2x2 on a 3x3x1 image', () => {
    const bufs = new Buffers(arena);
    const x = bufs.f32(9, image), cols = bufs.f32(16);
    kernels.im2col(x, cols, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2);
    expectExact(bufs.read(cols, 16), [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
    bufs.done();
  });

  test("'same' 3x3 with stride 2 on a 3x3x1 image (outH = 2, padTop = 1)", () => {
    expect(convGeometry(3, 3, 3, 3, 2, 2, 'same')).toEqual({ outH: 2, outW: 2, padTop: 1, padLeft: 1 });
    const bufs = new Buffers(arena);
    const x = bufs.f32(9, image), cols = bufs.f32(36);
    kernels.im2col(x, cols, 1, 3, 3, 1, 3, 3, 2, 2, 1, 1, 2, 2);
    expectExact(bufs.read(cols, 36), [
      0, 0, 0, 0, 1, 2, 0, 4, 5,
      0, 0, 0, 2, 3, 0, 5, 6, 0,
      0, 4, 5, 0, 7, 8, 0, 0, 0,
      5, 6, 0, 8, 9, 0, 0, 0, 0,
    ]);
    bufs.done();
  });

  test('two channels: a cols row holds (ky, kx, ci) with ci fastest', () => {
    const bufs = new Buffers(arena);
    // 2x2x2 image, pixel p has channels (p, 10p); one 2x2 valid window.
    const x = bufs.f32(8, [1, 10, 2, 20, 3, 30, 4, 40]), cols = bufs.f32(8);
    kernels.im2col(x, cols, 1, 2, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1);
    expectExact(bufs.read(cols, 8), [1, 10, 2, 20, 3, 30, 4, 40]);
    bufs.done();
  });

  test('col2im adds overlapping entries back: all-ones cols give each pixel its window count', () => {
    const bufs = new Buffers(arena);
    const cols = bufs.f32(16, new Float32Array(16).fill(1)), x = bufs.f32(9, image);
    kernels.col2im(cols, x, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2);
    expectExact(bufs.read(x, 9), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
    // 'same' 3x3 stride 2: padding entries are dropped, the rest summed.
    const cols2 = bufs.f32(36, Array.from({ length: 36 }, (_, i) => i + 1));
    kernels.col2im(cols2, x, 1, 3, 3, 1, 3, 3, 2, 2, 1, 1, 2, 2);
    // pixel (0,0) = cols[0][4] + 0; pixel (1,1) = cols[0][8] + cols[1][6] + cols[2][2] + cols[3][0] ...
    const expected = new Float32Array(9);
    const im = [0, 0, 0, 0, 1, 2, 0, 4, 5, 0, 0, 0, 2, 3, 0, 5, 6, 0, 0, 4, 5, 0, 7, 8, 0, 0, 0, 5, 6, 0, 8, 9, 0, 0, 0, 0];
    im.forEach((pixel, i) => { if (pixel) expected[pixel - 1] += i + 1; });
    expectExact(bufs.read(x, 9), expected);
    bufs.done();
  });
});

describe.each(all)('$name col2im is the adjoint of im2col', ({ kernels }) => {
  test('<im2col(x), y> = <x, col2im(y)> on random data', () => {
    const rand = rng(21);
    for (const g of cases(200_000)) {
      const bufs = new Buffers(arena);
      const a = args(g);
      const xLen = g.batch * g.h * g.w * g.c, colLen = g.batch * a[10] * a[11] * g.kh * g.kw * g.c;
      const xv = uniform(rand, xLen), yv = uniform(rand, colLen);
      const x = bufs.f32(xLen, xv), cols = bufs.f32(colLen), y = bufs.f32(colLen, yv), xt = bufs.f32(xLen);
      kernels.im2col(x, cols, ...a);
      kernels.col2im(y, xt, ...a);
      const c = bufs.read(cols, colLen), back = bufs.read(xt, xLen);
      let lhs = 0, rhs = 0, mag = 0;
      for (let i = 0; i < colLen; i++) { lhs += c[i] * yv[i]; mag += Math.abs(c[i] * yv[i]); }
      for (let i = 0; i < xLen; i++) rhs += xv[i] * back[i];
      expect(Math.abs(lhs - rhs), JSON.stringify(g)).toBeLessThanOrEqual(1e-6 * mag + 1e-12);
      bufs.done();
    }
  });
});

describe.each(wasm)('$name WASM im2col / col2im vs reference (exact)', ({ kernels }) => {
  test('im2col and col2im over geometries x channels', () => {
    const rand = rng(22);
    for (const g of cases(3_000_000)) {
      const bufs = new Buffers(arena);
      const a = args(g);
      const xLen = g.batch * g.h * g.w * g.c, colLen = g.batch * a[10] * a[11] * g.kh * g.kw * g.c;
      const what = JSON.stringify(g);
      const x = bufs.f32(xLen, uniform(rand, xLen));
      const colsR = bufs.f32(colLen, uniform(rand, colLen)), colsW = bufs.f32(colLen); // colsW starts as guard values
      reference.im2col(x, colsR, ...a);
      kernels.im2col(x, colsW, ...a);
      expectExact(bufs.read(colsW, colLen), bufs.read(colsR, colLen), `im2col ${what}`);
      const dy = bufs.f32(colLen, uniform(rand, colLen));
      const dxR = bufs.f32(xLen), dxW = bufs.f32(xLen); // col2im must zero x first
      reference.col2im(dy, dxR, ...a);
      kernels.col2im(dy, dxW, ...a);
      expectExact(bufs.read(dxW, xLen), bufs.read(dxR, xLen), `col2im ${what}`);
      bufs.done();
    }
  });
});

// ---- Max pooling ----

interface Pool {
  batch: number; h: number; w: number; c: number;
  ph: number; pw: number; sh: number; sw: number;
  padding: 'valid' | 'same';
}

function poolArgs(p: Pool) {
  const { outH, outW, padTop, padLeft } = convGeometry(p.h, p.w, p.ph, p.pw, p.sh, p.sw, p.padding);
  return { outH, outW, list: [p.batch, p.h, p.w, p.c, p.ph, p.pw, p.sh, p.sw, padTop, padLeft, outH, outW] as const };
}

/** Runs forward (and backward with dy) on one kernel set; returns y, argmax, dx. */
function pool(kernels: (typeof all)[number]['kernels'], bufs: Buffers, p: Pool, x: ArrayLike<number>, dy?: ArrayLike<number>, positiveOnly = 0) {
  const { outH, outW, list } = poolArgs(p);
  const inSize = p.batch * p.h * p.w * p.c, outSize = p.batch * outH * outW * p.c;
  const px = bufs.f32(inSize, x), py = bufs.f32(outSize), pa = bufs.f32(outSize), pdx = bufs.f32(inSize);
  kernels.maxPoolForward(px, py, pa, ...list, positiveOnly);
  kernels.maxPoolBackward(bufs.f32(outSize, dy ?? new Float32Array(outSize).fill(1)), pa, pdx, outSize, inSize);
  return { y: bufs.read(py, outSize), argmax: bufs.readI32(pa, outSize), dx: bufs.read(pdx, inSize) };
}

describe.each(all)('$name max pooling hand examples', ({ kernels }) => {
  test('4x4, pool 2, stride 2: values, argmax (flat index into x), backward scatter', () => {
    const bufs = new Buffers(arena);
    const x = [
      1, 5, 2, 0,
      3, 4, 8, 7,
      9, 0, 1, 1,
      2, 6, 1, 3,
    ];
    const { y, argmax, dx } = pool(kernels, bufs, { batch: 1, h: 4, w: 4, c: 1, ph: 2, pw: 2, sh: 2, sw: 2, padding: 'valid' }, x, [10, 20, 30, 40]);
    expectExact(y, [5, 8, 9, 3]);
    expectExact(argmax, [1, 6, 8, 15]);
    expectExact(dx, [0, 10, 0, 0, 0, 0, 20, 0, 30, 0, 0, 0, 0, 0, 0, 40]);
    bufs.done();
  });

  test('ties go to the first maximum in window order (row, then column), per channel', () => {
    const bufs = new Buffers(arena);
    // 2x2x2: channel 0 all equal, channel 1 has its maximum twice (pixels 1 and 3).
    const x = [4, 1, 4, 7, 4, 2, 4, 7];
    const { y, argmax } = pool(kernels, bufs, { batch: 1, h: 2, w: 2, c: 2, ph: 2, pw: 2, sh: 2, sw: 2, padding: 'valid' }, x);
    expectExact(y, [4, 7]);
    expectExact(argmax, [0, 3]);
    bufs.done();
  });

  test("odd size 'same' (5x5, pool 2, stride 2): padding never wins, even against all-negative inputs", () => {
    const bufs = new Buffers(arena);
    expect(convGeometry(5, 5, 2, 2, 2, 2, 'same')).toEqual({ outH: 3, outW: 3, padTop: 0, padLeft: 0 });
    const x = Array.from({ length: 25 }, (_, i) => -(i + 1)); // x[i] = −(i+1): the top-left cell wins
    const { y, argmax, dx } = pool(kernels, bufs, { batch: 1, h: 5, w: 5, c: 1, ph: 2, pw: 2, sh: 2, sw: 2, padding: 'same' }, x);
    expectExact(argmax, [0, 2, 4, 10, 12, 14, 20, 22, 24]);
    expectExact(y, [-1, -3, -5, -11, -13, -15, -21, -23, -25]);
    expectExact(dx, x.map((_, i) => ([0, 2, 4, 10, 12, 14, 20, 22, 24].includes(i) ? 1 : 0)));
    bufs.done();
  });

  test("'same' 3x3 stride 1 (padTop = 1) on all-negative input", () => {
    const bufs = new Buffers(arena);
    const x = [-9, -8, -7, -6, -5, -4, -3, -2, -1];
    const { y, argmax } = pool(kernels, bufs, { batch: 1, h: 3, w: 3, c: 1, ph: 3, pw: 3, sh: 1, sw: 1, padding: 'same' }, x);
    expectExact(y, [-5, -4, -4, -2, -1, -1, -2, -1, -1]);
    expectExact(argmax, [4, 5, 5, 7, 8, 8, 7, 8, 8]);
    bufs.done();
  });

  test('overlapping windows (pool 3, stride 2): a shared maximum collects both gradients', () => {
    const bufs = new Buffers(arena);
    const x = new Array(25).fill(0);
    x[12] = 5; // centre of a 5x5 image: inside all four 3x3 windows
    const { y, argmax, dx } = pool(kernels, bufs, { batch: 1, h: 5, w: 5, c: 1, ph: 3, pw: 3, sh: 2, sw: 2, padding: 'valid' }, x, [1, 2, 3, 4]);
    expectExact(y, [5, 5, 5, 5]);
    expectExact(argmax, [12, 12, 12, 12]);
    expect(dx[12]).toBe(10);
    bufs.done();
  });

  test('gaps (pool 2, stride 3): cells between windows get no gradient', () => {
    const bufs = new Buffers(arena);
    const x = Array.from({ length: 25 }, (_, i) => i); // increasing: bottom-right of each window wins
    const { y, argmax, dx } = pool(kernels, bufs, { batch: 1, h: 5, w: 5, c: 1, ph: 2, pw: 2, sh: 3, sw: 3, padding: 'valid' }, x);
    expectExact(argmax, [6, 9, 21, 24]);
    expectExact(y, [6, 9, 21, 24]);
    expect(dx.reduce((s, v) => s + v, 0)).toBe(4);
    bufs.done();
  });

  test('positiveOnly: windows whose max is <= 0 get argmax −1, so backward = ReLU backward after pool backward', () => {
    const bufs = new Buffers(arena);
    // 4x4 of ReLU outputs (>= 0): windows with max 3, 0, 0 (all zero) and 2.
    const x = [
      0, 3, 0, 0,
      1, 0, 0, 0,
      0, 0, 0, 2,
      0, 0, 1, 0,
    ];
    const { y, argmax, dx } = pool(kernels, bufs, { batch: 1, h: 4, w: 4, c: 1, ph: 2, pw: 2, sh: 2, sw: 2, padding: 'valid' }, x, [10, 20, 30, 40], 1);
    expectExact(y, [3, 0, 0, 2]);
    expectExact(argmax, [1, -1, -1, 11]);
    expectExact(dx, [0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0]);
    bufs.done();
  });

  test('a window entirely in the padding (non-Keras geometry) gives y = 0, argmax = −1, and no gradient', () => {
    const bufs = new Buffers(arena);
    const px = bufs.f32(4, [1, 2, 3, 4]), py = bufs.f32(2), pa = bufs.f32(2), pdx = bufs.f32(4);
    // 2x2 image, pool 2x2 stride 2, padTop 2: the first output row sees only padding.
    kernels.maxPoolForward(px, py, pa, 1, 2, 2, 1, 2, 2, 2, 2, 2, 0, 2, 1, 0);
    expectExact(bufs.read(py, 2), [0, 4]);
    expectExact(bufs.readI32(pa, 2), [-1, 3]);
    kernels.maxPoolBackward(bufs.f32(2, [7, 8]), pa, pdx, 2, 4);
    expectExact(bufs.read(pdx, 4), [0, 0, 0, 8]);
    bufs.done();
  });
});

describe.each(wasm)('$name WASM max pooling vs reference (exact)', ({ kernels }) => {
  test('forward (y, argmax) and backward over geometries x channels, with ties and negatives', () => {
    const rand = rng(23);
    const shapes: Omit<Pool, 'batch' | 'c'>[] = [];
    for (const [h, w] of [[1, 1], [3, 4], [5, 5], [7, 3], [8, 8], [17, 5], [28, 28]]) {
      for (const [ph, pw, sh, sw] of [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 2, 2], [2, 2, 3, 3], [2, 3, 1, 2], [3, 3, 1, 1]]) {
        for (const padding of ['valid', 'same'] as const) {
          if (padding === 'valid' && (h < ph || w < pw)) continue;
          shapes.push({ h, w, ph, pw, sh, sw, padding });
        }
      }
    }
    for (const c of SIZES) {
      for (const s of shapes) {
        const p = { ...s, batch: 2, c };
        const inSize = p.batch * p.h * p.w * c;
        if (inSize > 400_000) continue;
        const { outH, outW } = poolArgs(p);
        for (const positiveOnly of [0, 1]) {
          // Small integers, many ties. Plain: negative, so a padding zero would beat every cell.
          // positiveOnly: ReLU-like, with 0 and positive maxima mixed.
          const x = new Float32Array(inSize).map(() => Math.floor(rand() * 4) - (positiveOnly ? 2 : 5));
          const dy = uniform(rand, p.batch * outH * outW * c);
          const bufs = new Buffers(arena);
          const r = pool(reference, bufs, p, x, dy, positiveOnly), k = pool(kernels, bufs, p, x, dy, positiveOnly);
          const what = `${JSON.stringify(p)} positiveOnly ${positiveOnly}`;
          expectExact(k.y, r.y, `maxPool y ${what}`);
          expectExact(k.argmax, r.argmax, `maxPool argmax ${what}`);
          expectExact(k.dx, r.dx, `maxPool dx ${what}`);
          if (p.padding === 'valid' && p.sh === p.ph && p.sw === p.pw) {
            // Side-by-side windows: the one-pass backward gives the same dx, over a buffer of garbage.
            const pa = bufs.i32(Array.from(r.argmax)), pdy = bufs.f32(dy.length, dy);
            for (const kn of [reference, kernels]) {
              const pdx = bufs.f32(inSize, new Float32Array(inSize).fill(NaN));
              kn.maxPoolBackwardWindows(pdy, pa, pdx, p.batch, p.h, p.w, c, p.ph, p.pw, outH, outW);
              expectExact(bufs.read(pdx, inSize), r.dx, `maxPoolBackwardWindows (${kn === reference ? 'reference' : 'wasm'}) ${what}`);
            }
          }
          for (let i = 0; i < r.y.length; i++) {
            if (positiveOnly && !(r.y[i] > 0)) {
              if (r.argmax[i] !== -1) throw new Error(`argmax[${i}] should be −1 for y = ${r.y[i]} ${what}`);
            } else if (r.argmax[i] < 0 || x[r.argmax[i]] !== r.y[i]) {
              throw new Error(`argmax does not point at y[${i}] ${what}`);
            }
          }
          bufs.done();
        }
      }
    }
  });
});

test('maxPoolBackward vs reference on random indices (repeats accumulate)', () => {
  const rand = rng(24);
  for (const { kernels } of wasm) {
    for (const inSize of SIZES) {
      const outSize = inSize * 2;
      const bufs = new Buffers(arena);
      const idx = bufs.i32(Array.from({ length: outSize }, () => Math.floor(rand() * inSize)));
      const dy = bufs.f32(outSize, uniform(rand, outSize));
      const dxR = bufs.f32(inSize), dxW = bufs.f32(inSize);
      reference.maxPoolBackward(dy, idx, dxR, outSize, inSize);
      kernels.maxPoolBackward(dy, idx, dxW, outSize, inSize);
      expectClose(bufs.read(dxW, inSize), bufs.read(dxR, inSize), { rtol: 0 });
      bufs.done();
    }
  }
});

describe.each(all)('$name translateImages (data augmentation)', ({ kernels }) => {
  test('hand example: a 3x3 image shifted down-right, up-left and not at all', () => {
    const bufs = new Buffers(arena);
    const image = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const src = bufs.f32(27, [...image, ...image, ...image]);
    const dst = bufs.f32(27);
    const shifts = bufs.i32([1, 1, -1, -2, 0, 0]);
    kernels.translateImages(src, dst, shifts, 3, 3, 3, 1);
    expectExact(bufs.read(dst, 27), [
      0, 0, 0, 0, 1, 2, 0, 4, 5, // (dy, dx) = (1, 1)
      6, 0, 0, 9, 0, 0, 0, 0, 0, // (−1, −2)
      ...image, // (0, 0)
    ]);
    bufs.done();
  });

  test('a shift as large as the image leaves only zeros', () => {
    const bufs = new Buffers(arena);
    const src = bufs.f32(2 * 4 * 3 * 2, uniform(rng(1), 48));
    const dst = bufs.f32(48);
    kernels.translateImages(src, dst, bufs.i32([0, 3, -4, 0]), 2, 4, 3, 2);
    expectExact(bufs.read(dst, 48), new Float32Array(48));
    bufs.done();
  });
});

describe.each(wasm)('$name WASM translateImages vs reference (exact)', ({ kernels }) => {
  test.each([1, 3, 4, 5, 17])('%i channels, random shifts within ±3 on 7x9 images', (c) => {
    const bufs = new Buffers(arena);
    const batch = 5, h = 7, w = 9, n = batch * h * w * c;
    const rand = rng(c);
    const src = bufs.f32(n, uniform(rand, n));
    const shifts = bufs.i32(Array.from({ length: 2 * batch }, () => Math.floor(rand() * 7) - 3));
    const out = bufs.f32(n), expected = bufs.f32(n);
    kernels.translateImages(src, out, shifts, batch, h, w, c);
    reference.translateImages(src, expected, shifts, batch, h, w, c);
    expectExact(bufs.read(out, n), bufs.read(expected, n));
    bufs.done();
  });
});

// ---- Direct convolution of one input channel (stride 1, 'valid') ----

interface C1 { batch: number; h: number; w: number; kh: number; kw: number; filters: number }

/** Awkward sizes: batch 1 and 3, images 3..30, kernels 1x1 to 5x5, filters at every block edge (32, 4, 1). */
function c1Cases(): C1[] {
  const out: C1[] = [];
  const images = [[3, 3], [5, 4], [7, 11], [13, 6], [28, 28], [30, 17], [9, 30], [4, 5]];
  let i = 0;
  for (const [kh, kw] of [[1, 1], [2, 3], [3, 3], [5, 5]]) {
    for (const filters of [1, 3, 4, 5, 8, 17, 32, 39, 64]) {
      for (const batch of [1, 3]) {
        // Two image sizes per (kernel, filters, batch), cycling through the list; each at least kh x kw.
        for (let j = 0; j < 2; j++) {
          const [h, w] = images[i++ % images.length];
          if (h >= kh && w >= kw) out.push({ batch, h, w, kh, kw, filters });
        }
      }
    }
  }
  return out;
}

/** Allocates x, kernel, bias, dz for one case; returns them with the output sizes. */
function c1Buffers(bufs: Buffers, rand: () => number, g: C1) {
  const outH = g.h - g.kh + 1, outW = g.w - g.kw + 1;
  const xLen = g.batch * g.h * g.w, kLen = g.kh * g.kw * g.filters, yLen = g.batch * outH * outW * g.filters;
  const xv = uniform(rand, xLen), kv = uniform(rand, kLen), bv = uniform(rand, g.filters), dzv = uniform(rand, yLen);
  return {
    outH, outW, xLen, kLen, yLen, xv, kv, bv, dzv,
    x: bufs.f32(xLen, xv), kernel: bufs.f32(kLen, kv), bias: bufs.f32(g.filters, bv), dz: bufs.f32(yLen, dzv),
  };
}

describe('reference conv2dC1Forward / conv2dC1KernelGrad equal im2col + gemmNNBias / gemmTN', () => {
  test('on every case', () => {
    const rand = rng(25);
    for (const g of c1Cases().filter((_, i) => i % 3 === 0)) {
      const bufs = new Buffers(arena);
      const d = c1Buffers(bufs, rand, g);
      const what = JSON.stringify(g);
      const taps = g.kh * g.kw, rows = g.batch * d.outH * d.outW;
      const cols = bufs.f32(rows * taps);
      reference.im2col(d.x, cols, g.batch, g.h, g.w, 1, g.kh, g.kw, 1, 1, 0, 0, d.outH, d.outW);
      for (const relu of [0, 1]) {
        const yD = bufs.f32(d.yLen), yG = bufs.f32(d.yLen);
        reference.conv2dC1Forward(d.x, d.kernel, d.bias, yD, g.batch, g.h, g.w, g.kh, g.kw, d.outH, d.outW, g.filters, relu);
        reference.gemmNNBias(cols, d.kernel, d.bias, yG, rows, taps, g.filters, relu);
        expectClose(bufs.read(yD, d.yLen), bufs.read(yG, d.yLen), { rtol: 1e-6, atol: 1e-6, what: `forward relu ${relu} ${what}` });
      }
      const dkD = bufs.f32(d.kLen), dkG = bufs.f32(d.kLen), dbD = bufs.f32(g.filters), dbG = bufs.f32(g.filters);
      reference.conv2dC1KernelGrad(d.x, d.dz, dkD, dbD, g.batch, g.h, g.w, g.kh, g.kw, d.outH, d.outW, g.filters);
      reference.gemmTN(cols, d.dz, dkG, taps, rows, g.filters, 0);
      reference.colSum(d.dz, dbG, rows, g.filters, 0);
      expectClose(bufs.read(dkD, d.kLen), bufs.read(dkG, d.kLen), { rtol: 1e-6, atol: 1e-5, what: `dK ${what}` });
      expectClose(bufs.read(dbD, g.filters), bufs.read(dbG, g.filters), { rtol: 1e-6, atol: 1e-5, what: `dbias ${what}` });
      bufs.done();
    }
  });
});

describe.each(wasm)('$name WASM conv2dC1Forward / conv2dC1KernelGrad vs reference', ({ kernels }) => {
  test('forward (with and without ReLU) and kernel gradient on awkward sizes', () => {
    const rand = rng(26);
    for (const g of c1Cases()) {
      const bufs = new Buffers(arena);
      const d = c1Buffers(bufs, rand, g);
      const what = JSON.stringify(g);
      const taps = g.kh * g.kw;
      const geo = [g.batch, g.h, g.w, g.kh, g.kw, d.outH, d.outW, g.filters] as const;
      // Tolerances scale with Σ|terms| of each output: f32 sums (in a different order, with or
      // without FMA) against the reference's float64 sums.
      const fwdMag = new Float64Array(d.yLen);
      for (let b = 0, o = 0; b < g.batch; b++) {
        for (let oy = 0; oy < d.outH; oy++) {
          for (let ox = 0; ox < d.outW; ox++) {
            for (let f = 0; f < g.filters; f++, o++) {
              let m = Math.abs(d.bv[f]);
              for (let t = 0; t < taps; t++) {
                const ky = Math.floor(t / g.kw), kx = t % g.kw;
                m += Math.abs(d.xv[(b * g.h + oy + ky) * g.w + ox + kx] * d.kv[t * g.filters + f]);
              }
              fwdMag[o] = m;
            }
          }
        }
      }
      for (const relu of [0, 1]) {
        const yR = bufs.f32(d.yLen), yW = bufs.f32(d.yLen); // yW starts as guard values
        reference.conv2dC1Forward(d.x, d.kernel, d.bias, yR, g.batch, g.h, g.w, g.kh, g.kw, d.outH, d.outW, g.filters, relu);
        kernels.conv2dC1Forward(d.x, d.kernel, d.bias, yW, g.batch, g.h, g.w, g.kh, g.kw, d.outH, d.outW, g.filters, relu);
        const yw = bufs.read(yW, d.yLen);
        expectClose(yw, bufs.read(yR, d.yLen), { tol: (i) => 4e-7 * fwdMag[i], what: `forward relu ${relu} ${what}` });
        if (relu) for (let i = 0; i < d.yLen; i++) if (!(yw[i] >= 0)) throw new Error(`negative after ReLU at ${i} ${what}`);
      }
      const dkMag = new Float64Array(d.kLen);
      for (let b = 0; b < g.batch; b++) {
        for (let oy = 0; oy < d.outH; oy++) {
          for (let ox = 0; ox < d.outW; ox++) {
            for (let t = 0; t < taps; t++) {
              const xv = Math.abs(d.xv[(b * g.h + oy + Math.floor(t / g.kw)) * g.w + ox + (t % g.kw)]);
              const row = ((b * d.outH + oy) * d.outW + ox) * g.filters;
              for (let f = 0; f < g.filters; f++) dkMag[t * g.filters + f] += xv * Math.abs(d.dzv[row + f]);
            }
          }
        }
      }
      // dkW and dbW start as guard values: overwritten.
      const dkR = bufs.f32(d.kLen), dkW = bufs.f32(d.kLen), dbR = bufs.f32(g.filters), dbW = bufs.f32(g.filters);
      reference.conv2dC1KernelGrad(d.x, d.dz, dkR, dbR, ...geo);
      kernels.conv2dC1KernelGrad(d.x, d.dz, dkW, dbW, ...geo);
      expectClose(bufs.read(dkW, d.kLen), bufs.read(dkR, d.kLen), { tol: (i) => 1e-6 * dkMag[i], what: `dK ${what}` });
      const dbMag = new Float64Array(g.filters);
      for (let i = 0; i < d.yLen; i++) dbMag[i % g.filters] += Math.abs(d.dzv[i]);
      expectClose(bufs.read(dbW, g.filters), bufs.read(dbR, g.filters), { tol: (i) => 1e-6 * dbMag[i], what: `dbias ${what}` });
      bufs.done();
    }
  });
});

describe.each(all)('$name conv2dC1PoolForward / conv2dC1PoolKernelGrad = conv2dC1Forward → maxPoolForward, and back', ({ name, kernels }) => {
  test('same pooled values and winners, same dK and dbias, on awkward sizes and pools that leave rows over', () => {
    const rand = rng(27);
    const pools = [[2, 2], [3, 2], [1, 1], [2, 3]];
    let i = 0;
    for (const g of c1Cases().filter((c) => c.h - c.kh + 1 >= 3 && c.w - c.kw + 1 >= 3)) {
      const [poolH, poolW] = pools[i++ % pools.length];
      const bufs = new Buffers(arena);
      const d = c1Buffers(bufs, rand, g);
      const outH = Math.floor(d.outH / poolH), outW = Math.floor(d.outW / poolW);
      const convW = outW * poolW, pooled = g.batch * outH * outW * g.filters;
      const what = `${JSON.stringify(g)} pool ${poolH}x${poolW}`;
      // Unfused: the conv's outputs the pool reads (cropped to outH·poolH x convW), then the pool.
      const conv = bufs.f32(g.batch * outH * poolH * convW * g.filters);
      const y1 = bufs.f32(pooled), a1 = bufs.f32(pooled);
      kernels.conv2dC1Forward(d.x, d.kernel, d.bias, conv, g.batch, g.h, g.w, g.kh, g.kw, outH * poolH, convW, g.filters, 1);
      kernels.maxPoolForward(conv, y1, a1, g.batch, outH * poolH, convW, g.filters, poolH, poolW, poolH, poolW, 0, 0, outH, outW, 1);
      // Fused, over guard-filled outputs.
      const y2 = bufs.f32(pooled), a2 = bufs.f32(pooled), scratch = bufs.f32(poolH * convW * g.filters);
      const geo = [g.batch, g.h, g.w, g.kh, g.kw, g.filters, poolH, poolW, outH, outW] as const;
      kernels.conv2dC1PoolForward(d.x, d.kernel, d.bias, y2, a2, scratch, ...geo);
      expectExact(bufs.read(y2, pooled), bufs.read(y1, pooled), `${name} pooled y ${what}`);
      // Winners: the unfused flat index into the conv output, re-based to the window's band of rows.
      const flat = bufs.readI32(a1, pooled), band = bufs.readI32(a2, pooled);
      const bandSize = poolH * convW * g.filters;
      for (let o = 0; o < pooled; o++) {
        const bandStart = Math.floor(o / (outW * g.filters)) * bandSize; // (b·outH + py)-th band
        const expected = flat[o] < 0 ? -1 : flat[o] - bandStart;
        if (band[o] !== expected) throw new Error(`${name} argmax[${o}]: got ${band[o]}, expected ${expected} ${what}`);
      }
      // Backward: dz from the pooled gradient, then the kernel gradient; against the fused kernel.
      const dy = bufs.f32(pooled, uniform(rand, pooled));
      const dz = bufs.f32(g.batch * outH * poolH * convW * g.filters);
      kernels.maxPoolBackwardWindows(dy, a1, dz, g.batch, outH * poolH, convW, g.filters, poolH, poolW, outH, outW);
      const dk1 = bufs.f32(d.kLen), db1 = bufs.f32(g.filters), dk2 = bufs.f32(d.kLen), db2 = bufs.f32(g.filters);
      kernels.conv2dC1KernelGrad(d.x, dz, dk1, db1, g.batch, g.h, g.w, g.kh, g.kw, outH * poolH, convW, g.filters);
      kernels.conv2dC1PoolKernelGrad(d.x, dy, a2, dk2, db2, bufs.f32(poolH * convW * g.filters), ...geo);
      if (name === 'reference') {
        // float64 sums in another order, rounded once each.
        expectClose(bufs.read(dk2, d.kLen), bufs.read(dk1, d.kLen), { rtol: 1e-6, atol: 1e-6, what: `${name} dK ${what}` });
        expectClose(bufs.read(db2, g.filters), bufs.read(db1, g.filters), { rtol: 1e-6, atol: 1e-6, what: `${name} dbias ${what}` });
      } else {
        // The same row sums added in the same (b, oy) order: bit-identical.
        expectExact(bufs.read(dk2, d.kLen), bufs.read(dk1, d.kLen), `${name} dK ${what}`);
        expectExact(bufs.read(db2, g.filters), bufs.read(db1, g.filters), `${name} dbias ${what}`);
      }
      bufs.done();
    }
  });
});

describe.each(wasm)('$name WASM conv2dC1PoolForward vs reference', ({ kernels }) => {
  test('pooled values within the rounding of the conv sums; ReLU zeros get argmax −1 in both', () => {
    const rand = rng(28);
    for (const g of c1Cases().filter((c) => c.h - c.kh + 1 >= 2 && c.w - c.kw + 1 >= 2)) {
      const bufs = new Buffers(arena);
      const d = c1Buffers(bufs, rand, g);
      const outH = Math.floor(d.outH / 2), outW = Math.floor(d.outW / 2), pooled = g.batch * outH * outW * g.filters;
      const geo = [g.batch, g.h, g.w, g.kh, g.kw, g.filters, 2, 2, outH, outW] as const;
      const yR = bufs.f32(pooled), aR = bufs.f32(pooled), yW = bufs.f32(pooled), aW = bufs.f32(pooled);
      reference.conv2dC1PoolForward(d.x, d.kernel, d.bias, yR, aR, bufs.f32(1), ...geo);
      kernels.conv2dC1PoolForward(d.x, d.kernel, d.bias, yW, aW, bufs.f32(2 * outW * 2 * g.filters), ...geo);
      // |terms| <= 1 each (inputs in [-1, 1)), kh·kw + 1 of them.
      expectClose(bufs.read(yW, pooled), bufs.read(yR, pooled), { atol: 4e-7 * (g.kh * g.kw + 1), what: JSON.stringify(g) });
      const y = bufs.read(yW, pooled), ar = bufs.readI32(aR, pooled), aw = bufs.readI32(aW, pooled);
      for (let o = 0; o < pooled; o++) {
        const fail = (why: string) => new Error(`argmax[${o}] ${why}: reference ${ar[o]}, WASM ${aw[o]}, y ${y[o]} ${JSON.stringify(g)}`);
        if ((y[o] === 0) !== (aw[o] === -1)) throw fail('is -1 exactly where y = 0');
        // Away from 0 (where the two may round to either side), the reference found a winner too.
        if (y[o] > 1e-5 && ar[o] === -1) throw fail('reference found no winner');
      }
      bufs.done();
    }
  });
});
