// GEMM: the three matrix-product forms backprop needs, plus the forward pass with a fused bias+ReLU
// epilogue. f32, row-major, pointers are byte offsets into the imported memory (see
// src/backend/kernels.ts for the exact contract). One register-blocked micro-kernel serves all forms:
// each form only differs in how it packs its operands.
//
// Blocking (BLIS-style, single thread):
//   for jc in N step NC:                      B block  [kc x nc]  packed into panels of NR columns
//     for pc in K step KC:                      (L2-resident, KC*NC*4 bytes)
//       pack B[pc:pc+kc, jc:jc+nc]
//       for ir in M step MR:                  A panel  [kc x MR]  pre-splatted (L1-resident)
//         pack A[ir:ir+MR, pc:pc+kc]
//         for jr in nc step NR:
//           micro-kernel: C[ir:ir+MR, jc+jr:jc+jr+NR] (+)= Apanel · Bpanel
//
// Micro-kernel: MR x NR = 6 x 8 tile held in 12 v128 accumulators (two per row). Per k step it
// loads two B vectors (8 columns) and, for each of the 6 rows, one *pre-splatted* A vector (the A
// panel stores every A value already broadcast to 4 lanes, 96 bytes per k). That keeps the loop at
// 8 plain `v128.load`s (V8 folds their constant offsets) + 12 multiply-adds, 15 xmm registers, no
// spills with FMA. `v128.load32_splat` would not fold its offset (an extra lea per row) and
// load+shuffle needs a 16th register. The k loop is not unrolled (V8 would hoist loads and spill).
// Multiply-add is `f32x4.relaxed_madd` (one vfmadd231ps) when the relaxed-SIMD target is compiled,
// mul+add otherwise: the same source yields both builds.
//
// Edges: packing zero-pads partial A panels (rows >= mr) and B panels (columns >= nr), so the
// micro-kernel always computes a full tile; only the write-back is masked (a partial tile goes
// through a small scratch tile and a scalar loop). Any M, N, K >= 0 works; no alignment is required
// of a, b, c or bias (unaligned v128 accesses are fine in wasm), 4-byte alignment is assumed.
//
// Epilogue (fused, no second pass over C): per K block, C = (first block ? (accumulate ? C : 0) + bias
// : C) + A·B, and on the last K block max(0, ·) when relu = 1.
//
// Scratch and threads: the module keeps no mutable globals. Packing scratch is a static region of
// GEMM_SLOTS independent slots (memory.data); every exported kernel uses slot 0. A later
// worker_threads version can give thread t slot t through `gemmSlot(...)` below, which is the whole
// implementation parameterised by slot.

const MR: i32 = 6;
const NR: i32 = 8;
/** Max depth of one K block. 320 keeps K = 288 (3x3x32 convolutions) in one block; the A panel
 *  (KC * 96 B = 30 KiB) and one B panel (KC * 32 B = 10 KiB) fit in a 48 KiB L1. */
const KC: i32 = 320;
/** Max width of one B block (multiple of NR): KC * NC * 4 B = 320 KiB, in L2. */
const NC: i32 = 256;

const A_PANEL_BYTES: usize = <usize>KC * <usize>MR * 16;
const B_BLOCK_BYTES: usize = <usize>KC * <usize>NC * 4;
const TILE_BYTES: usize = <usize>MR * <usize>NR * 4;
const SLOT_BYTES: usize = B_BLOCK_BYTES + A_PANEL_BYTES + 256;

/** Number of independent scratch slots (one per thread that may run a GEMM at the same time). */
const GEMM_SLOTS: i32 = 2;
const SCRATCH: usize = memory.data(<i32>SLOT_BYTES * GEMM_SLOTS, 64);

const FORM_NN: i32 = 0;
const FORM_NT: i32 = 1;
const FORM_TN: i32 = 2;

const F_LOADC: i32 = 1;
const F_BIAS: i32 = 2;
const F_RELU: i32 = 4;

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}

// ---------------------------------------------------------------------------------------------
// Exported kernels (src/backend/kernels.ts)

/** C[m,n] (+)= A[m,k] · B[k,n] */
export function gemmNN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_NN, a, b, c, m, k, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] (+)= A[m,k] · B[n,k]ᵀ */
export function gemmNT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_NT, a, b, c, m, k, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] (+)= A[k,m]ᵀ · B[k,n] */
export function gemmTN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_TN, a, b, c, m, k, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] = A[m,k] · B[k,n] + bias[n], then max(0, ·) if relu = 1. */
export function gemmNNBias(a: usize, b: usize, bias: usize, c: usize, m: i32, k: i32, n: i32, relu: i32): void {
  gemmSlot(FORM_NN, a, b, c, m, k, n, F_BIAS | (relu != 0 ? F_RELU : 0), bias, 0);
}

// ---------------------------------------------------------------------------------------------
// Driver

/**
 * The whole GEMM for one form, using scratch slot `slot` (0 <= slot < GEMM_SLOTS).
 * flags: F_LOADC (accumulate into C), F_BIAS (add bias[n], needs `bias`), F_RELU.
 */
function gemmSlot(form: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, flags: i32, bias: usize, slot: i32): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    noProduct(c, m, n, flags, bias);
    return;
  }
  const scratch = SCRATCH + <usize>slot * SLOT_BYTES;
  const bBlock = scratch;
  const aPanel = scratch + B_BLOCK_BYTES;
  const tile = aPanel + A_PANEL_BYTES;
  const ldc = <usize>n << 2;

  // Split K into equal blocks of at most KC (multiples of 4 where possible).
  const kBlocks = (k + KC - 1) / KC;
  let kcStep = (k + kBlocks - 1) / kBlocks;
  kcStep = min((kcStep + 3) & ~3, KC);

  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcStep) {
      const kc = min(kcStep, k - pc);
      // Flags for this K block: the caller's accumulate/bias on the first block, accumulate
      // afterwards; ReLU only once the sum is complete.
      let blockFlags = pc == 0 ? flags & (F_LOADC | F_BIAS) : F_LOADC;
      if (pc + kc >= k) blockFlags |= flags & F_RELU;

      if (form == FORM_NT) packBT(b, bBlock, k, jc, nc, pc, kc);
      else packB(b, bBlock, n, jc, nc, pc, kc);

      for (let ir = 0; ir < m; ir += MR) {
        const mr = min(MR, m - ir);
        if (form == FORM_TN) packAT(a, aPanel, m, ir, mr, pc, kc);
        else packA(a, aPanel, k, ir, mr, pc, kc);

        let cRow = c + ((<usize>ir * <usize>n + <usize>jc) << 2);
        let bPanel = bBlock;
        const bPanelBytes = <usize>kc << 5;
        let biasPtr = bias + (<usize>jc << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          micro6x8(aPanel, bPanel, kc, cRow, ldc, mr, nr, blockFlags, biasPtr, tile);
          bPanel += bPanelBytes;
          cRow += <usize>NR << 2;
          biasPtr += <usize>NR << 2;
        }
      }
    }
  }
}

/** K = 0: C = (accumulate ? C : 0) + bias, then ReLU. */
function noProduct(c: usize, m: i32, n: i32, flags: i32, bias: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const p = c + ((<usize>i * <usize>n + <usize>j) << 2);
      let v: f32 = (flags & F_LOADC) != 0 ? load<f32>(p) : 0;
      if ((flags & F_BIAS) != 0) v += load<f32>(bias + (<usize>j << 2));
      if ((flags & F_RELU) != 0) v = max<f32>(v, 0);
      store<f32>(p, v);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Packing. A panel: for each k, MR v128s, the row values broadcast (zero rows past mr).
// B block: ceil(nc/NR) panels, each kc rows of NR floats (zero columns past the edge).

/** A[m,k] row-major (NN, NT): rows ir..ir+mr, columns pc..pc+kc. */
function packA(a: usize, dst: usize, k: i32, ir: i32, mr: i32, pc: i32, kc: i32): void {
  const lda = <usize>k << 2;
  let src = a + ((<usize>ir * <usize>k + <usize>pc) << 2);
  for (let r = 0; r < MR; r++) {
    let d = dst + (<usize>r << 4);
    if (r < mr) {
      let s = src;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const v = v128.load(s);
        v128.store(d, f32x4.shuffle(v, v, 0, 0, 0, 0));
        v128.store(d, f32x4.shuffle(v, v, 1, 1, 1, 1), 96);
        v128.store(d, f32x4.shuffle(v, v, 2, 2, 2, 2), 192);
        v128.store(d, f32x4.shuffle(v, v, 3, 3, 3, 3), 288);
        s += 16;
        d += 384;
      }
      for (; p < kc; p++) {
        v128.store(d, v128.load32_splat(s));
        s += 4;
        d += 96;
      }
      src += lda;
    } else {
      const z = f32x4.splat(0);
      for (let p = 0; p < kc; p++) {
        v128.store(d, z);
        d += 96;
      }
    }
  }
}

/** A given as Aᵀ[k,m] row-major (TN): A(i,p) = at[p*m + i]. */
function packAT(at: usize, dst: usize, m: i32, ir: i32, mr: i32, pc: i32, kc: i32): void {
  const ld = <usize>m << 2;
  let src = at + ((<usize>pc * <usize>m + <usize>ir) << 2);
  let d = dst;
  if (mr == MR) {
    for (let p = 0; p < kc; p++) {
      const v = v128.load(src);
      v128.store(d, f32x4.shuffle(v, v, 0, 0, 0, 0));
      v128.store(d, f32x4.shuffle(v, v, 1, 1, 1, 1), 16);
      v128.store(d, f32x4.shuffle(v, v, 2, 2, 2, 2), 32);
      v128.store(d, f32x4.shuffle(v, v, 3, 3, 3, 3), 48);
      v128.store(d, v128.load32_splat(src, 16), 64);
      v128.store(d, v128.load32_splat(src, 20), 80);
      src += ld;
      d += 96;
    }
  } else {
    const z = f32x4.splat(0);
    for (let p = 0; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        v128.store(d + (<usize>r << 4), r < mr ? v128.load32_splat(src + (<usize>r << 2)) : z);
      }
      src += ld;
      d += 96;
    }
  }
}

/** B[k,n] row-major (NN, TN): rows pc..pc+kc, columns jc..jc+nc. */
function packB(b: usize, dst: usize, n: i32, jc: i32, nc: i32, pc: i32, kc: i32): void {
  const ldb = <usize>n << 2;
  let d = dst;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let src = b + ((<usize>pc * <usize>n + <usize>(jc + jr)) << 2);
    if (nr == NR) {
      for (let p = 0; p < kc; p++) {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += ldb;
        d += 32;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), j < nr ? load<f32>(src + (<usize>j << 2)) : 0);
        }
        src += ldb;
        d += 32;
      }
    }
  }
}

/** B given as Bᵀ[n,k] row-major (NT): B(p,j) = bt[j*k + p]. Transposes 4x4 blocks. */
function packBT(bt: usize, dst: usize, k: i32, jc: i32, nc: i32, pc: i32, kc: i32): void {
  const ld = <usize>k << 2;
  let d = dst;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const src = bt + ((<usize>(jc + jr) * <usize>k + <usize>pc) << 2);
    if (nr == NR) {
      let s = src;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        // Columns j0..j3 and j4..j7, four k values each; transpose into four rows of 8.
        const r0 = v128.load(s), r1 = v128.load(s + ld), r2 = v128.load(s + 2 * ld), r3 = v128.load(s + 3 * ld);
        const r4 = v128.load(s + 4 * ld), r5 = v128.load(s + 5 * ld), r6 = v128.load(s + 6 * ld), r7 = v128.load(s + 7 * ld);
        let t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
        let t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
        v128.store(d, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
        v128.store(d, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
        v128.store(d, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
        v128.store(d, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
        t0 = f32x4.shuffle(r4, r5, 0, 4, 1, 5); t1 = f32x4.shuffle(r4, r5, 2, 6, 3, 7);
        t2 = f32x4.shuffle(r6, r7, 0, 4, 1, 5); t3 = f32x4.shuffle(r6, r7, 2, 6, 3, 7);
        v128.store(d, f32x4.shuffle(t0, t2, 0, 1, 4, 5), 16);
        v128.store(d, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 48);
        v128.store(d, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 80);
        v128.store(d, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 112);
        s += 16;
        d += 128;
      }
      for (; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), load<f32>(s + <usize>j * ld));
        }
        s += 4;
        d += 32;
      }
    } else {
      let s = src;
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), j < nr ? load<f32>(s + <usize>j * ld) : 0);
        }
        s += 4;
        d += 32;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernel

/**
 * C[0:mr, 0:nr] (ldc bytes per row) gets the 6x8 product of an A panel (pre-splatted, 96 B per k)
 * and a B panel (32 B per k) over kc steps, through the epilogue selected by `flags`.
 */
function micro6x8(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, flags: i32, bias: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  const end = bp + (<usize>kc << 5);
  while (bp < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let s = v128.load(ap);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load(ap, 16);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load(ap, 32);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load(ap, 48);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    s = v128.load(ap, 64);
    c40 = madd(s, b0, c40); c41 = madd(s, b1, c41);
    s = v128.load(ap, 80);
    c50 = madd(s, b0, c50); c51 = madd(s, b1, c51);
    ap += 96;
    bp += 32;
  }

  if (mr == MR && nr == NR) {
    if (flags == 0) {
      v128.store(c, c00); v128.store(c, c01, 16); c += ldc;
      v128.store(c, c10); v128.store(c, c11, 16); c += ldc;
      v128.store(c, c20); v128.store(c, c21, 16); c += ldc;
      v128.store(c, c30); v128.store(c, c31, 16); c += ldc;
      v128.store(c, c40); v128.store(c, c41, 16); c += ldc;
      v128.store(c, c50); v128.store(c, c51, 16);
    } else {
      let bv0 = f32x4.splat(0), bv1 = f32x4.splat(0);
      if ((flags & F_BIAS) != 0) {
        bv0 = v128.load(bias);
        bv1 = v128.load(bias, 16);
      }
      storeRow(c, c00, c01, flags, bv0, bv1); c += ldc;
      storeRow(c, c10, c11, flags, bv0, bv1); c += ldc;
      storeRow(c, c20, c21, flags, bv0, bv1); c += ldc;
      storeRow(c, c30, c31, flags, bv0, bv1); c += ldc;
      storeRow(c, c40, c41, flags, bv0, bv1); c += ldc;
      storeRow(c, c50, c51, flags, bv0, bv1);
    }
  } else {
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    v128.store(tile, c40, 128); v128.store(tile, c41, 144);
    v128.store(tile, c50, 160); v128.store(tile, c51, 176);
    storePartial(tile, c, ldc, mr, nr, flags, bias);
  }
}

// @ts-ignore: decorator
@inline function storeRow(c: usize, v0: v128, v1: v128, flags: i32, bv0: v128, bv1: v128): void {
  if ((flags & F_LOADC) != 0) {
    v0 = f32x4.add(v128.load(c), v0);
    v1 = f32x4.add(v128.load(c, 16), v1);
  }
  if ((flags & F_BIAS) != 0) {
    v0 = f32x4.add(v0, bv0);
    v1 = f32x4.add(v1, bv1);
  }
  if ((flags & F_RELU) != 0) {
    v0 = f32x4.max(v0, f32x4.splat(0));
    v1 = f32x4.max(v1, f32x4.splat(0));
  }
  v128.store(c, v0);
  v128.store(c, v1, 16);
}

/** Writes the valid mr x nr corner of a 6x8 tile (row-major, 32 B rows) through the epilogue. */
function storePartial(tile: usize, c: usize, ldc: usize, mr: i32, nr: i32, flags: i32, bias: usize): void {
  for (let r = 0; r < mr; r++) {
    const t = tile + (<usize>r << 5);
    for (let j = 0; j < nr; j++) {
      const p = c + (<usize>j << 2);
      let v = load<f32>(t + (<usize>j << 2));
      if ((flags & F_LOADC) != 0) v = load<f32>(p) + v;
      if ((flags & F_BIAS) != 0) v += load<f32>(bias + (<usize>j << 2));
      if ((flags & F_RELU) != 0) v = max<f32>(v, 0);
      store<f32>(p, v);
    }
    c += ldc;
  }
}
