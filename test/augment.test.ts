// affineImages (random affine augmentation): hand-checked maps on every backend, then every WASM
// build against the reference twin on awkward sizes.
import { describe, test } from 'vitest';
import { backends, Buffers, expectClose, expectExact, rng, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const all = [{ name: 'reference', kernels: reference }, ...wasm];

const IDENTITY = [1, 0, 0, 0, 1, 0];
/** [a, b, tx, c, d, ty] of a whole-pixel shift by (dy, dx): the source of (x, y) is (x − dx, y − dy). */
const shift = (dy: number, dx: number) => [1, 0, -dx, 0, 1, -dy];

describe.each(all)('$name affineImages', ({ kernels }) => {
  test.each([[1, 1, 1], [3, 5, 1], [3, 5, 3], [28, 28, 1], [28, 28, 3]])('identity params reproduce a %ix%ix%i image exactly', (h, w, c) => {
    const bufs = new Buffers(arena);
    const batch = 2, n = batch * h * w * c;
    const image = uniform(rng(h * w + c), n);
    const src = bufs.f32(n, image);
    const dst = bufs.f32(n);
    kernels.affineImages(src, dst, bufs.f32(12, [...IDENTITY, ...IDENTITY]), batch, h, w, c);
    expectExact(bufs.read(dst, n), image);
    bufs.done();
  });

  test.each([[1, 1], [3, 5], [28, 28]])('whole-pixel shifts of %ix%i images equal translateImages', (h, w) => {
    const bufs = new Buffers(arena);
    const c = 3, moves = [[1, 2], [-2, 0], [0, -1], [h, 0]];
    const batch = moves.length, n = batch * h * w * c;
    const src = bufs.f32(n, uniform(rng(7), n));
    const out = bufs.f32(n), expected = bufs.f32(n);
    kernels.affineImages(src, out, bufs.f32(6 * batch, moves.flatMap(([dy, dx]) => shift(dy, dx))), batch, h, w, c);
    kernels.translateImages(src, expected, bufs.i32(moves.flat()), batch, h, w, c);
    expectExact(bufs.read(out, n), bufs.read(expected, n));
    bufs.done();
  });

  test('a 90° rotation of a square image', () => {
    const bufs = new Buffers(arena);
    const src = bufs.f32(9, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const dst = bufs.f32(9);
    // Source of (u, v) is (−v, u): a quarter turn counter-clockwise on screen (y down), the top row
    // becoming the left column.
    kernels.affineImages(src, dst, bufs.f32(6, [0, -1, 0, 1, 0, 0]), 1, 3, 3, 1);
    expectExact(bufs.read(dst, 9), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
    bufs.done();
  });

  test('bilinear interpolation at half-pixels, 0 outside the image', () => {
    const bufs = new Buffers(arena);
    // A 2x3 image, two channels (the second one the first times 10).
    const image = [1, 2, 3, 4, 5, 6].flatMap((v) => [v, 10 * v]);
    const src = bufs.f32(24, [...image, ...image]);
    const dst = bufs.f32(24);
    kernels.affineImages(src, dst, bufs.f32(12, [...shift(0, -0.5), ...shift(-0.5, -0.5)]), 2, 2, 3, 2);
    const out = bufs.read(dst, 24);
    // Half a pixel left: the mean of each pixel and its right neighbour, the last one with 0.
    expectExact(out.subarray(0, 12), [1.5, 2.5, 1.5, 4.5, 5.5, 3].flatMap((v) => [v, 10 * v]));
    // Half a pixel left and up: the mean of a 2x2 block, outside cells counting as 0.
    expectExact(out.subarray(12, 24), [3, 4, 2.25, 2.25, 2.75, 1.5].flatMap((v) => [v, 10 * v]));
    bufs.done();
  });
});

describe.each(wasm)('$name WASM affineImages vs reference', ({ kernels }) => {
  test.each([[1, 1, 1], [3, 5, 1], [3, 5, 3], [28, 28, 1], [28, 28, 3], [7, 4, 5]])('random maps on %ix%ix%i images, within 1e-6', (h, w, c) => {
    const bufs = new Buffers(arena);
    const batch = 6, n = batch * h * w * c;
    const rand = rng(h * 100 + w * 10 + c);
    const src = bufs.f32(n, uniform(rand, n));
    const params: number[] = [];
    for (let b = 0; b < batch; b++) {
      const angle = (rand() - 0.5) * 1.2, scale = 0.8 + 0.4 * rand();
      const cos = Math.cos(angle) / scale, sin = Math.sin(angle) / scale;
      params.push(cos, sin, (rand() - 0.5) * 6, -sin, cos, (rand() - 0.5) * 6);
    }
    const out = bufs.f32(n), expected = bufs.f32(n);
    const p = bufs.f32(6 * batch, params);
    kernels.affineImages(src, out, p, batch, h, w, c);
    reference.affineImages(src, expected, p, batch, h, w, c);
    expectClose(bufs.read(out, n), bufs.read(expected, n), { atol: 1e-6, rtol: 0 });
    bufs.done();
  });

  test('maps that send every pixel far outside (or to NaN) give zeros', () => {
    const bufs = new Buffers(arena);
    const n = 2 * 3 * 5;
    const src = bufs.f32(n, uniform(rng(3), n));
    const p = bufs.f32(12, [...shift(1e9, -1e9), 1, 0, NaN, 0, 1, 0]);
    const out = bufs.f32(n), expected = bufs.f32(n);
    kernels.affineImages(src, out, p, 2, 3, 5, 1);
    reference.affineImages(src, expected, p, 2, 3, 5, 1);
    expectExact(bufs.read(out, n), new Float32Array(n));
    expectExact(bufs.read(expected, n), new Float32Array(n));
    bufs.done();
  });
});
