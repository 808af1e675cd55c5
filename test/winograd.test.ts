// Winograd F(2x2, 3x3) kernels (assembly/winograd.ts, reference/winograd.ts): the whole convolution
// built from them (kernel and input transforms, 16 products, output transform) equals im2col + GEMM,
// and its backward (the adjoint transforms) equals the textbook dW = colsᵀ·dz and dx =
// col2im(dz·Wᵀ), on awkward sizes (odd outputs that cut the last tiles, channels off the SIMD width),
// on every backend; and each WASM transform matches its reference twin.
import { describe, expect, test } from 'vitest';
import type { Kernels } from '../src/backend/kernels.ts';
import { backends, Buffers, expectClose, rng, uniform } from './kernel-utils.ts';

const { arena, reference, wasm } = backends();
const all = [{ name: 'reference', kernels: reference }, ...wasm];

interface Case { batch: number; h: number; w: number; c: number; f: number }

const CASES: Case[] = [];
for (const [h, w] of [[3, 3], [4, 4], [5, 7], [8, 6], [9, 9]]) {
  for (const c of [1, 4, 5, 17]) for (const f of [1, 4, 7]) CASES.push({ batch: 2, h, w, c, f });
}
CASES.push({ batch: 2, h: 26, w: 26, c: 32, f: 32 }, { batch: 3, h: 12, w: 12, c: 32, f: 64 }, { batch: 1, h: 10, w: 11, c: 64, f: 10 });

function geometry(g: Case) {
  const outH = g.h - 2, outW = g.w - 2;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2);
  return { outH, outW, tilesH, tilesW, tiles: g.batch * tilesH * tilesW, rows: g.batch * outH * outW };
}

/** Forward and backward of the conv through the Winograd kernels of `k` (products on the reference GEMM). */
function winogradConv(k: Kernels, bufs: Buffers, g: Case, x: number, kernel: number, bias: number, dz: number) {
  const { outH, outW, tilesH, tilesW, tiles, rows } = geometry(g);
  const { c, f } = g;
  const u = bufs.f32(16 * c * f), du = bufs.f32(16 * c * f), v = bufs.f32(16 * tiles * c), m = bufs.f32(16 * tiles * f);
  const y = bufs.f32(rows * f), dK = bufs.f32(9 * c * f), dx = bufs.f32(g.batch * g.h * g.w * c);
  k.winogradKernel(kernel, u, c, f);
  k.winogradInput(x, v, g.batch, g.h, g.w, c, tilesH, tilesW, tiles);
  for (let e = 0; e < 16; e++) reference.gemmNN(v + e * tiles * c * 4, u + e * c * f * 4, m + e * tiles * f * 4, tiles, c, f, 0);
  k.winogradOutput(m, y, bias, g.batch, outH, outW, f, tilesH, tilesW, tiles, bias ? 1 : 0);
  k.winogradOutputGrad(dz, m, g.batch, outH, outW, f, tilesH, tilesW, tiles);
  for (let e = 0; e < 16; e++) reference.gemmTN(v + e * tiles * c * 4, m + e * tiles * f * 4, du + e * c * f * 4, c, tiles, f, 0);
  k.winogradKernelGrad(du, dK, c, f);
  for (let e = 0; e < 16; e++) reference.gemmNT(m + e * tiles * f * 4, u + e * c * f * 4, v + e * tiles * c * 4, tiles, f, c, 0);
  k.winogradInputGrad(v, dx, g.batch, g.h, g.w, c, tilesH, tilesW, tiles);
  return { y: bufs.read(y, rows * f), dK: bufs.read(dK, 9 * c * f), dx: bufs.read(dx, g.batch * g.h * g.w * c) };
}

/** The textbook conv: im2col + GEMM forward, colsᵀ·dz and col2im(dz·Wᵀ) backward. */
function textbookConv(bufs: Buffers, g: Case, x: number, kernel: number, bias: number, dz: number) {
  const { outH, outW, rows } = geometry(g);
  const { c, f } = g;
  const patch = 9 * c;
  const cols = bufs.f32(rows * patch), y = bufs.f32(rows * f), dK = bufs.f32(patch * f), dcols = bufs.f32(rows * patch);
  const dx = bufs.f32(g.batch * g.h * g.w * c);
  const args = [g.batch, g.h, g.w, c, 3, 3, 1, 1, 0, 0, outH, outW] as const;
  reference.im2col(x, cols, ...args);
  if (bias) reference.gemmNNBias(cols, kernel, bias, y, rows, patch, f, 0);
  else reference.gemmNN(cols, kernel, y, rows, patch, f, 0);
  reference.gemmTN(cols, dz, dK, patch, rows, f, 0);
  reference.gemmNT(dz, kernel, dcols, rows, f, patch, 0);
  reference.col2im(dcols, dx, ...args);
  return { y: bufs.read(y, rows * f), dK: bufs.read(dK, patch * f), dx: bufs.read(dx, g.batch * g.h * g.w * c) };
}

describe.each(all)('$name Winograd F(2x2, 3x3) = im2col + GEMM, forward and backward', ({ kernels }) => {
  test.each(CASES)('batch $batch, $h x $w x $c → $f filters', (g) => {
    const rand = rng(g.h * 1000 + g.w * 100 + g.c * 10 + g.f);
    const { rows } = geometry(g);
    for (const withBias of [false, true]) {
      const bufs = new Buffers(arena);
      const x = bufs.f32(g.batch * g.h * g.w * g.c, uniform(rand, g.batch * g.h * g.w * g.c));
      const kernel = bufs.f32(9 * g.c * g.f, uniform(rand, 9 * g.c * g.f));
      const bias = withBias ? bufs.f32(g.f, uniform(rand, g.f)) : 0;
      const dz = bufs.f32(rows * g.f, uniform(rand, rows * g.f));
      const got = winogradConv(kernels, bufs, g, x, kernel, bias, dz);
      const want = textbookConv(bufs, g, x, kernel, bias, dz);
      // Sums of up to 9·C (forward, dx) or batch·positions (dK) products of values in [-1, 1].
      const tol = { rtol: 1e-5, atol: 2e-5 * Math.sqrt(9 * g.c) };
      expectClose(got.y, want.y, { ...tol, what: `y bias ${withBias}` });
      expectClose(got.dx, want.dx, { ...tol, what: 'dx' });
      expectClose(got.dK, want.dK, { rtol: 1e-5, atol: 2e-5 * Math.sqrt(rows), what: 'dK' });
      bufs.done();
    }
  });
});

describe.each(wasm)('$name WASM Winograd transforms vs reference', ({ kernels }) => {
  test.each(CASES.filter((_, i) => i % 2 === 0))('batch $batch, $h x $w x $c → $f filters', (g) => {
    const rand = rng(7 + g.h + g.c);
    const { outH, outW, tilesH, tilesW, tiles, rows } = geometry(g);
    const { c, f, batch, h, w } = g;
    const bufs = new Buffers(arena);
    const stride = tiles + 3; // a band's rows inside larger matrices
    const x = bufs.f32(batch * h * w * c, uniform(rand, batch * h * w * c));
    const dz = bufs.f32(rows * f, uniform(rand, rows * f));
    const kernel = bufs.f32(9 * c * f, uniform(rand, 9 * c * f));
    const bias = bufs.f32(f, uniform(rand, f));
    const vIn = bufs.f32(16 * stride * c, uniform(rand, 16 * stride * c));
    const mIn = bufs.f32(16 * stride * f, uniform(rand, 16 * stride * f));
    const uIn = bufs.f32(16 * c * f, uniform(rand, 16 * c * f));
    const run = (k: Kernels) => {
      const v = bufs.f32(16 * stride * c), m = bufs.f32(16 * stride * f), y = bufs.f32(rows * f);
      const dx = bufs.f32(batch * h * w * c), u = bufs.f32(16 * c * f), dK = bufs.f32(9 * c * f);
      k.winogradInput(x, v, batch, h, w, c, tilesH, tilesW, stride);
      k.winogradOutputGrad(dz, m, batch, outH, outW, f, tilesH, tilesW, stride);
      k.winogradOutput(mIn, y, bias, batch, outH, outW, f, tilesH, tilesW, stride, 1);
      k.winogradInputGrad(vIn, dx, batch, h, w, c, tilesH, tilesW, stride);
      k.winogradKernel(kernel, u, c, f);
      k.winogradKernelGrad(uIn, dK, c, f);
      // Rows past this call's tiles are not written: compare only the ones it owns.
      const owned = (ptr: number, width: number) => Array.from({ length: 16 }, (_, e) => [...bufs.read(ptr + e * stride * width * 4, tiles * width)]).flat();
      return { v: owned(v, c), m: owned(m, f), y: bufs.read(y, rows * f), dx: bufs.read(dx, batch * h * w * c), u: bufs.read(u, 16 * c * f), dK: bufs.read(dK, 9 * c * f) };
    };
    const got = run(kernels), want = run(reference);
    for (const key of ['v', 'm', 'y', 'dx', 'u', 'dK'] as const) {
      expectClose(got[key], want[key], { rtol: 1e-6, atol: 1e-6, what: key });
    }
    expect(got.v.length).toBe(16 * tiles * c);
    bufs.done();
  });
});

describe.each(wasm)('$name WASM gemmBatched vs reference', ({ kernels }) => {
  test.each([[0], [1], [2]])('form %i: 16 products at strides with gaps, awkward sizes', (form) => {
    const rand = rng(40 + form);
    for (const [m, k, n] of [[5, 3, 7], [33, 17, 32], [64, 32, 10]]) {
      const bufs = new Buffers(arena);
      const [sa, sb, sc] = [m * k + 3, k * n + 5, m * n + 1];
      const a = bufs.f32(16 * sa, uniform(rand, 16 * sa)), b = bufs.f32(16 * sb, uniform(rand, 16 * sb));
      const c1 = bufs.f32(16 * sc), c2 = bufs.f32(16 * sc);
      kernels.gemmBatched(form, a, b, c1, m, k, n, 16, sa, sb, sc);
      reference.gemmBatched(form, a, b, c2, m, k, n, 16, sa, sb, sc);
      for (let i = 0; i < 16; i++) {
        expectClose(bufs.read(c1 + 4 * i * sc, m * n), bufs.read(c2 + 4 * i * sc, m * n), { rtol: 1e-5, atol: 1e-5, what: `product ${i} of ${m}x${k}x${n}` });
      }
      bufs.done();
    }
  });
});
