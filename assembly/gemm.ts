// GEMM: the three matrix-product forms backprop needs, plus the forward pass with a fused bias+ReLU
// epilogue. f32, row-major, pointers are byte offsets into the imported memory (see
// src/backend/kernels.ts for the exact contract). One register-blocked micro-kernel serves all forms;
// the forms differ only in how they pack their operands.
//
// Blocking (BLIS loop order, single thread):
//   for jc in N step NC:
//     for pc in K step kc (kc <= KC; K split into equal blocks):
//       pack B[pc:pc+kc, jc:jc+nc] -> B block: panels of NR columns,     (KC*NC*16 B = 360 KiB, L2)
//                                     every value pre-splatted to a v128
//       for ic in M step MC:
//         pack A[ic:ic+MC, pc:pc+kc] -> A block: panels [kc][MR]          (MC*KC*4 B = 160 KiB, L2)
//         for jr in nc step NR:                              B panel kc*96 B (<= 30 KiB) stays in L1
//           for ir in mc step MR:                            A panels (kc*32 B) stream from L2
//             micro-kernel: C[ic+ir : +MR, jc+jr : +NR] (+)= A panel · B panel, epilogue fused
//
// Micro-kernel: MR x NR = 8 x 6 tile held in 12 v128 accumulators, each one column of C for 4 rows
// (acc[j][h] = C[4h..4h+3][j]). Per k step: two v128 loads of the A panel (8 rows), then for each of
// the 6 columns one v128 load of the pre-splatted B value and two multiply-adds. That is 8 plain
// `v128.load`s (V8 folds their constant offsets into the address) + 12 multiply-adds per k in
// 15 xmm registers: no spills with FMA (mul + add needs a 16th register for the product: V8 spills
// one accumulator per k step, which the FP-port-bound plain loop hides). `v128.load32_splat` would
// not fold its offset (one more lea per load); load + lane shuffle needs a 16th register. The k
// loop is not unrolled (V8 hoists the loads and spills). Multiply-add is `f32x4.relaxed_madd`
// (vfmadd231ps) when the relaxed-SIMD target is compiled, mul + add otherwise: one source, both
// builds. An 8 x 4 variant serves a last B panel of <= 4 columns (N = 64 = 10·6 + 4, N = 10).
// Write-back transposes the column accumulators into rows (4x4 shuffles) in registers.
//
// Why pre-splat B rather than A: pre-splatting costs one 16-byte store per value, packing an A panel
// is a cheap 4x4-transpose; B's block is packed once per (jc, pc) and reused by every row panel of
// A, so its packing cost is amortised over M, the long dimension in this engine (batch x pixels).
//
// Edges: packing zero-pads partial A panels (rows >= mr) and B panels (columns >= nr), so the
// micro-kernel always computes a full tile; only the write-back is masked (a partial tile goes
// through a small scratch tile and a scalar loop). Any M, N, K >= 0 works. No alignment is required
// of a, b, c or bias beyond 4 bytes (wasm v128 accesses may be unaligned).
//
// Epilogue, fused into the micro-kernel's write-back (no second pass over C): for each K block,
// C = (first block ? (accumulate ? C : 0) + bias : C) + A·B; on the last K block, max(0, ·) if relu.
//
// Scratch and threads: the module keeps no mutable globals. Packing scratch is per call, in slot s
// = the SLOT_BYTES (~520 KiB) at SCRATCH + s·SLOT_BYTES; GEMM_SLOTS slots are reserved statically
// (memory.data, below heapBase()). The contract kernels use slot 0; gemmStridedAt below takes
// the slot, so threads can compute bands of one product concurrently, each in its own slot
// (a slot >= GEMM_SLOTS lies above the static ones and must be reserved by the caller).
import { madd } from './common';

const MR: i32 = 8;
const NR: i32 = 6;
/** Max depth of one K block: 320 keeps K = 288 (3x3x32 convolutions) in one block. */
const KC: i32 = 320;
/** Max width of one B block, a multiple of NR. */
const NC: i32 = 72;
/** Max height of one A block, a multiple of MR. */
const MC: i32 = 128;

const B_PANEL_STRIDE: usize = <usize>NR * 16; // bytes per k in a pre-splatted B panel
const A_PANEL_STRIDE: usize = <usize>MR * 4; // bytes per k in an A panel
const B_BLOCK_BYTES: usize = <usize>KC * <usize>NC * 16; // 360 KiB, in L2 (2 MiB here)
const A_BLOCK_BYTES: usize = <usize>MC * <usize>KC * 4; // 160 KiB, in L2
const TILE_BYTES: usize = <usize>MR * <usize>NR * 4;
const SLOT_BYTES: usize = B_BLOCK_BYTES + A_BLOCK_BYTES + ((TILE_BYTES + 63) & ~63);

/** Number of independent scratch slots (one per thread that may run a GEMM at the same time). */
const GEMM_SLOTS: i32 = 2;
const SCRATCH: usize = memory.data(<i32>SLOT_BYTES * GEMM_SLOTS, 64);

const FORM_NN: i32 = 0;
const FORM_NT: i32 = 1;
const FORM_TN: i32 = 2;

const F_LOADC: i32 = 1;
const F_BIAS: i32 = 2;
const F_RELU: i32 = 4;

// ---------------------------------------------------------------------------------------------
// Exported kernels (src/backend/kernels.ts)

/** C[m,n] (+)= A[m,k] · B[k,n] */
export function gemmNN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_NN, a, b, c, m, k, n, k, n, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] (+)= A[m,k] · B[n,k]ᵀ */
export function gemmNT(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_NT, a, b, c, m, k, n, k, k, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] (+)= A[k,m]ᵀ · B[k,n] */
export function gemmTN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  gemmSlot(FORM_TN, a, b, c, m, k, n, m, n, n, accumulate != 0 ? F_LOADC : 0, 0, 0);
}

/** C[m,n] = A[m,k] · B[k,n] + bias[n], then max(0, ·) if relu = 1. */
export function gemmNNBias(a: usize, b: usize, bias: usize, c: usize, m: i32, k: i32, n: i32, relu: i32): void {
  gemmSlot(FORM_NN, a, b, c, m, k, n, k, n, n, F_BIAS | (relu != 0 ? F_RELU : 0), bias, 0);
}

// ---------------------------------------------------------------------------------------------
// Any product on an explicit scratch slot, for the threaded kernels (src/backend/split-kernels.ts):
// each thread computes its band of one product in its own slot. Slot s is the SLOT_BYTES at
// gemmScratch() + s·gemmSlotBytes(); slots 0 .. gemmSlots()-1 are the static ones below heapBase,
// a higher slot lies in the arena and the caller must have reserved it there (the pool does).

export function gemmSlots(): i32 {
  return GEMM_SLOTS;
}

export function gemmSlotBytes(): usize {
  return SLOT_BYTES;
}

export function gemmScratch(): usize {
  return SCRATCH;
}

/**
 * Any form on sub-matrices: a band of rows or columns of a larger product (what a gemmTN band, or
 * any column band, needs). form: 0 = NN, 1 = NT, 2 = TN. Leading dimensions in elements:
 * A(i,p) = a[i·lda + p] (NN, NT) or a[p·lda + i] (TN); B(p,j) = b[p·ldb + j] (NN, TN) or
 * b[j·ldb + p] (NT); C(i,j) = c[i·ldc + j]. flags: 1 = accumulate into C, 2 = add bias[j],
 * 4 = ReLU at the end. C (+)= A·B (+ bias), max(0, ·).
 */
export function gemmStridedAt(form: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32,
  lda: i32, ldb: i32, ldc: i32, flags: i32, bias: usize, slot: i32): void {
  gemmSlot(form, a, b, c, m, k, n, lda, ldb, ldc, flags & (F_LOADC | F_BIAS | F_RELU), bias, slot);
}

/**
 * `count` independent products of one form (0 = NN, 1 = NT, 2 = TN, as gemmNN/gemmNT/gemmTN with
 * accumulate = 0), product i on a + i·strideA, b + i·strideB, c + i·strideC (strides in
 * elements): Winograd's 16 products per convolution. Slot as in gemmStridedAt.
 */
export function gemmBatchedAt(form: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, count: i32,
  strideA: i32, strideB: i32, strideC: i32, slot: i32): void {
  const lda = form == FORM_TN ? m : k;
  const ldb = form == FORM_NT ? k : n;
  for (let i = 0; i < count; i++) {
    gemmSlot(form, a + (<usize>i * <usize>strideA << 2), b + (<usize>i * <usize>strideB << 2), c + (<usize>i * <usize>strideC << 2),
      m, k, n, lda, ldb, n, 0, 0, slot);
  }
}

/** gemmBatchedAt on the static slot 0. */
export function gemmBatched(form: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, count: i32,
  strideA: i32, strideB: i32, strideC: i32): void {
  gemmBatchedAt(form, a, b, c, m, k, n, count, strideA, strideB, strideC, 0);
}

// ---------------------------------------------------------------------------------------------
// Driver

/**
 * The whole GEMM for one form, using the scratch of slot `slot` (at SCRATCH + slot·SLOT_BYTES).
 * Leading dimensions lda, ldb, ldc in elements (see gemmStridedAt).
 * flags: F_LOADC (accumulate into C), F_BIAS (add bias[j]), F_RELU.
 */
function gemmSlot(form: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32,
  lda: i32, ldb: i32, ldc: i32, flags: i32, bias: usize, slot: i32): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    noProduct(c, m, n, ldc, flags, bias);
    return;
  }
  const scratch = SCRATCH + <usize>slot * SLOT_BYTES;
  const bBlock = scratch;
  const aBlock = scratch + B_BLOCK_BYTES;
  const tile = aBlock + A_BLOCK_BYTES;
  const ldcBytes = <usize>ldc << 2;

  // Split K into equal blocks of at most KC (multiples of 4 where possible).
  const kBlocks = (k + KC - 1) / KC;
  let kcStep = (k + kBlocks - 1) / kBlocks;
  kcStep = min((kcStep + 3) & ~3, KC);

  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcStep) {
      const kc = min(kcStep, k - pc);
      // This K block's epilogue: the caller's accumulate and bias on the first block, accumulate
      // afterwards; ReLU once the sum is complete.
      let blockFlags = pc == 0 ? flags & (F_LOADC | F_BIAS) : F_LOADC;
      if (pc + kc >= k) blockFlags |= flags & F_RELU;

      if (form == FORM_NT) packBT(b, bBlock, ldb, jc, nc, pc, kc);
      else packB(b, bBlock, ldb, jc, nc, pc, kc);

      const bPanelBytes = <usize>kc * B_PANEL_STRIDE;
      const aPanelBytes = <usize>kc * A_PANEL_STRIDE;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        let aPanel = aBlock;
        for (let ir = 0; ir < mc; ir += MR) {
          if (form == FORM_TN) packAT(a, aPanel, lda, ic + ir, min(MR, mc - ir), pc, kc);
          else packA(a, aPanel, lda, ic + ir, min(MR, mc - ir), pc, kc);
          aPanel += aPanelBytes;
        }
        let bPanel = bBlock;
        const cBlock = c + ((<usize>ic * <usize>ldc + <usize>jc) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const biasPtr = bias + (<usize>(jc + jr) << 2);
          let cTile = cBlock + (<usize>jr << 2);
          aPanel = aBlock;
          for (let ir = 0; ir < mc; ir += MR) {
            if (nr > 4) micro8x6(aPanel, bPanel, kc, cTile, ldcBytes, min(MR, mc - ir), nr, blockFlags, biasPtr, tile);
            else micro8x4(aPanel, bPanel, kc, cTile, ldcBytes, min(MR, mc - ir), nr, blockFlags, biasPtr, tile);
            aPanel += aPanelBytes;
            cTile += ldcBytes << 3;
          }
          bPanel += bPanelBytes;
        }
      }
    }
  }
}

/** K = 0: C = (accumulate ? C : 0) + bias, then ReLU. */
function noProduct(c: usize, m: i32, n: i32, ldc: i32, flags: i32, bias: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const p = c + ((<usize>i * <usize>ldc + <usize>j) << 2);
      let v: f32 = (flags & F_LOADC) != 0 ? load<f32>(p) : 0;
      if ((flags & F_BIAS) != 0) v += load<f32>(bias + (<usize>j << 2));
      if ((flags & F_RELU) != 0) v = max<f32>(v, 0);
      store<f32>(p, v);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Packing.
// A panel: kc rows of MR floats, A(ir + i, pc + p) at [p][i]; zero rows past mr.
// B block: ceil(nc / NR) panels of kc rows; row p of panel q holds NR v128s, the j-th one the value
// B(pc + p, jc + q*NR + j) splatted to four lanes; zero past the last column.

/** A(i,p) = a[i·ld + p] (NN, NT): rows ir..ir+mr, columns pc..pc+kc. 4x4 transposes. */
function packA(a: usize, dst: usize, ld: i32, ir: i32, mr: i32, pc: i32, kc: i32): void {
  const lda = <usize>ld << 2;
  const src = a + ((<usize>ir * <usize>ld + <usize>pc) << 2);
  const z = f32x4.splat(0);
  // Row pointers; rows past mr read row 0 and are masked to zero.
  const s1: usize = mr > 1 ? lda : 0, s2: usize = mr > 2 ? 2 * lda : 0, s3: usize = mr > 3 ? 3 * lda : 0;
  const s4: usize = mr > 4 ? 4 * lda : 0, s5: usize = mr > 5 ? 5 * lda : 0, s6: usize = mr > 6 ? 6 * lda : 0, s7: usize = mr > 7 ? 7 * lda : 0;
  let s = src;
  let d = dst;
  let p = 0;
  if (mr == MR) {
    for (; p + 4 <= kc; p += 4) {
      transpose8x4(d, v128.load(s), v128.load(s + s1), v128.load(s + s2), v128.load(s + s3),
        v128.load(s + s4), v128.load(s + s5), v128.load(s + s6), v128.load(s + s7));
      s += 16;
      d += 4 * A_PANEL_STRIDE;
    }
  } else {
    for (; p + 4 <= kc; p += 4) {
      transpose8x4(d, v128.load(s), mr > 1 ? v128.load(s + s1) : z, mr > 2 ? v128.load(s + s2) : z,
        mr > 3 ? v128.load(s + s3) : z, mr > 4 ? v128.load(s + s4) : z, mr > 5 ? v128.load(s + s5) : z,
        mr > 6 ? v128.load(s + s6) : z, z);
      s += 16;
      d += 4 * A_PANEL_STRIDE;
    }
  }
  for (; p < kc; p++) {
    for (let i = 0; i < MR; i++) {
      store<f32>(d + (<usize>i << 2), i < mr ? load<f32>(s + <usize>i * lda) : 0);
    }
    s += 4;
    d += A_PANEL_STRIDE;
  }
}

/** Rows r0..r7 (4 consecutive k each) -> four panel rows of 8 floats at d, d+32, d+64, d+96. */
// @ts-ignore: decorator
@inline function transpose8x4(d: usize, r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128, r7: v128): void {
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
}

/** A given transposed (TN): A(i,p) = at[p·ld + i]. A plain copy of 8-float rows. */
function packAT(at: usize, dst: usize, lda: i32, ir: i32, mr: i32, pc: i32, kc: i32): void {
  const ld = <usize>lda << 2;
  let s = at + ((<usize>pc * <usize>lda + <usize>ir) << 2);
  let d = dst;
  if (mr == MR) {
    for (let p = 0; p < kc; p++) {
      v128.store(d, v128.load(s));
      v128.store(d, v128.load(s, 16), 16);
      s += ld;
      d += A_PANEL_STRIDE;
    }
  } else {
    for (let p = 0; p < kc; p++) {
      for (let i = 0; i < MR; i++) {
        store<f32>(d + (<usize>i << 2), i < mr ? load<f32>(s + (<usize>i << 2)) : 0);
      }
      s += ld;
      d += A_PANEL_STRIDE;
    }
  }
}

/** B(p,j) = b[p·ld + j] (NN, TN): rows pc..pc+kc, columns jc..jc+nc, pre-splatted. */
function packB(b: usize, dst: usize, ld: i32, jc: i32, nc: i32, pc: i32, kc: i32): void {
  const ldb = <usize>ld << 2;
  let d = dst;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let s = b + ((<usize>pc * <usize>ld + <usize>(jc + jr)) << 2);
    if (nr == NR) {
      for (let p = 0; p < kc; p++) {
        const v = v128.load(s);
        v128.store(d, f32x4.shuffle(v, v, 0, 0, 0, 0));
        v128.store(d, f32x4.shuffle(v, v, 1, 1, 1, 1), 16);
        v128.store(d, f32x4.shuffle(v, v, 2, 2, 2, 2), 32);
        v128.store(d, f32x4.shuffle(v, v, 3, 3, 3, 3), 48);
        const w = v128.load64_zero(s, 16);
        v128.store(d, f32x4.shuffle(w, w, 0, 0, 0, 0), 64);
        v128.store(d, f32x4.shuffle(w, w, 1, 1, 1, 1), 80);
        s += ldb;
        d += B_PANEL_STRIDE;
      }
    } else {
      const z = f32x4.splat(0);
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          v128.store(d + (<usize>j << 4), j < nr ? v128.load32_splat(s + (<usize>j << 2)) : z);
        }
        s += ldb;
        d += B_PANEL_STRIDE;
      }
    }
  }
}

/** B given transposed (NT): B(p,j) = bt[j·ldb + p], pre-splatted. */
function packBT(bt: usize, dst: usize, ldb: i32, jc: i32, nc: i32, pc: i32, kc: i32): void {
  const ld = <usize>ldb << 2;
  const z = f32x4.splat(0);
  let panel = dst;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let row = bt + ((<usize>(jc + jr) * <usize>ldb + <usize>pc) << 2);
    for (let j = 0; j < NR; j++) {
      let d = panel + (<usize>j << 4);
      if (j < nr) {
        let s = row;
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const v = v128.load(s);
          v128.store(d, f32x4.shuffle(v, v, 0, 0, 0, 0));
          v128.store(d, f32x4.shuffle(v, v, 1, 1, 1, 1), B_PANEL_STRIDE);
          v128.store(d, f32x4.shuffle(v, v, 2, 2, 2, 2), 2 * B_PANEL_STRIDE);
          v128.store(d, f32x4.shuffle(v, v, 3, 3, 3, 3), 3 * B_PANEL_STRIDE);
          s += 16;
          d += 4 * B_PANEL_STRIDE;
        }
        for (; p < kc; p++) {
          v128.store(d, v128.load32_splat(s));
          s += 4;
          d += B_PANEL_STRIDE;
        }
        row += ld;
      } else {
        for (let p = 0; p < kc; p++) {
          v128.store(d, z);
          d += B_PANEL_STRIDE;
        }
      }
    }
    panel += <usize>kc * B_PANEL_STRIDE;
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernel

/**
 * C[0:mr, 0:nr] (ldc bytes per row) gets the 8x6 product of an A panel (32 B per k) and a
 * pre-splatted B panel (96 B per k) over kc steps, through the epilogue selected by `flags`.
 */
function micro8x6(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, flags: i32, bias: usize, tile: usize): void {
  // cJH: column J of the tile, rows 4H..4H+3.
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  const end = ap + (<usize>kc << 5);
  while (ap < end) {
    const a0 = v128.load(ap);
    const a1 = v128.load(ap, 16);
    let s = v128.load(bp);
    c00 = madd(a0, s, c00); c01 = madd(a1, s, c01);
    s = v128.load(bp, 16);
    c10 = madd(a0, s, c10); c11 = madd(a1, s, c11);
    s = v128.load(bp, 32);
    c20 = madd(a0, s, c20); c21 = madd(a1, s, c21);
    s = v128.load(bp, 48);
    c30 = madd(a0, s, c30); c31 = madd(a1, s, c31);
    s = v128.load(bp, 64);
    c40 = madd(a0, s, c40); c41 = madd(a1, s, c41);
    s = v128.load(bp, 80);
    c50 = madd(a0, s, c50); c51 = madd(a1, s, c51);
    ap += 32;
    bp += 96;
  }

  if (mr == MR && nr == NR) {
    if (flags == 0) {
      put4(c, ldc, c00, c10, c20, c30, c40, c50);
      put4(c + (ldc << 2), ldc, c01, c11, c21, c31, c41, c51);
    } else {
      put4Epilogue(c, ldc, c00, c10, c20, c30, c40, c50, flags, bias);
      put4Epilogue(c + (ldc << 2), ldc, c01, c11, c21, c31, c41, c51, flags, bias);
    }
  } else {
    // Partial tile: spill the accumulators column-major (column j at tile + 32j) and copy out.
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    v128.store(tile, c40, 128); v128.store(tile, c41, 144);
    v128.store(tile, c50, 160); v128.store(tile, c51, 176);
    storePartial(tile, c, ldc, mr, nr, flags, bias);
  }
}

/**
 * The 8x4 variant for the last panel of a B block when it has at most 4 columns (N = 64 = 10·6 + 4,
 * N = 10 = 6 + 4, ...): the same loop without the two unused columns' multiply-adds. The B panel
 * keeps its 6-column layout (columns 4 and 5 are zero and not read).
 */
function micro8x4(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, flags: i32, bias: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = ap + (<usize>kc << 5);
  while (ap < end) {
    const a0 = v128.load(ap);
    const a1 = v128.load(ap, 16);
    let s = v128.load(bp);
    c00 = madd(a0, s, c00); c01 = madd(a1, s, c01);
    s = v128.load(bp, 16);
    c10 = madd(a0, s, c10); c11 = madd(a1, s, c11);
    s = v128.load(bp, 32);
    c20 = madd(a0, s, c20); c21 = madd(a1, s, c21);
    s = v128.load(bp, 48);
    c30 = madd(a0, s, c30); c31 = madd(a1, s, c31);
    ap += 32;
    bp += 96;
  }
  if (mr == MR && nr == 4) {
    put4x4(c, ldc, c00, c10, c20, c30, flags, bias);
    put4x4(c + (ldc << 2), ldc, c01, c11, c21, c31, flags, bias);
  } else {
    v128.store(tile, c00); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    storePartial(tile, c, ldc, mr, nr, flags, bias);
  }
}

/** Four rows x four columns of a tile given as column vectors: transpose, epilogue, store. */
// @ts-ignore: decorator
@inline function put4x4(c: usize, ldc: usize, x0: v128, x1: v128, x2: v128, x3: v128, flags: i32, bias: usize): void {
  const t0 = f32x4.shuffle(x0, x1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(x0, x1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(x2, x3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(x2, x3, 2, 6, 3, 7);
  let r0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5);
  let r1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
  let r2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5);
  let r3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
  const c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  if (flags != 0) {
    if ((flags & F_LOADC) != 0) {
      r0 = f32x4.add(v128.load(c), r0);
      r1 = f32x4.add(v128.load(c1), r1);
      r2 = f32x4.add(v128.load(c2), r2);
      r3 = f32x4.add(v128.load(c3), r3);
    }
    if ((flags & F_BIAS) != 0) {
      const b03 = v128.load(bias);
      r0 = f32x4.add(r0, b03);
      r1 = f32x4.add(r1, b03);
      r2 = f32x4.add(r2, b03);
      r3 = f32x4.add(r3, b03);
    }
    if ((flags & F_RELU) != 0) {
      const z = f32x4.splat(0);
      r0 = f32x4.max(r0, z);
      r1 = f32x4.max(r1, z);
      r2 = f32x4.max(r2, z);
      r3 = f32x4.max(r3, z);
    }
  }
  v128.store(c, r0);
  v128.store(c1, r1);
  v128.store(c2, r2);
  v128.store(c3, r3);
}

/**
 * Four rows of a full tile, given as six column vectors x0..x5 (lanes = rows): transposed to rows
 * (columns 0..3 in a v128, columns 4..5 in the low or high half of another) and stored.
 */
// @ts-ignore: decorator
@inline function put4(c: usize, ldc: usize, x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128): void {
  const t0 = f32x4.shuffle(x0, x1, 0, 4, 1, 5); // r0c0 r0c1 r1c0 r1c1
  const t1 = f32x4.shuffle(x0, x1, 2, 6, 3, 7); // r2c0 r2c1 r3c0 r3c1
  const t2 = f32x4.shuffle(x2, x3, 0, 4, 1, 5); // r0c2 r0c3 r1c2 r1c3
  const t3 = f32x4.shuffle(x2, x3, 2, 6, 3, 7); // r2c2 r2c3 r3c2 r3c3
  const e0 = f32x4.shuffle(x4, x5, 0, 4, 1, 5); // r0c4 r0c5 r1c4 r1c5
  const e1 = f32x4.shuffle(x4, x5, 2, 6, 3, 7); // r2c4 r2c5 r3c4 r3c5
  v128.store(c, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store64_lane(c, e0, 0, 16);
  c += ldc;
  v128.store(c, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store64_lane(c, e0, 1, 16);
  c += ldc;
  v128.store(c, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store64_lane(c, e1, 0, 16);
  c += ldc;
  v128.store(c, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
  v128.store64_lane(c, e1, 1, 16);
}

/** put4 through the epilogue: C = [C +] x [+ bias], [max(0, ·)]. */
// @ts-ignore: decorator
@inline function put4Epilogue(c: usize, ldc: usize, x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, flags: i32, bias: usize): void {
  const t0 = f32x4.shuffle(x0, x1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(x0, x1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(x2, x3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(x2, x3, 2, 6, 3, 7);
  let r0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5);
  let r1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
  let r2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5);
  let r3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
  let e0 = f32x4.shuffle(x4, x5, 0, 4, 1, 5); // rows 0, 1: columns 4, 5
  let e1 = f32x4.shuffle(x4, x5, 2, 6, 3, 7); // rows 2, 3
  const c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  if ((flags & F_LOADC) != 0) {
    r0 = f32x4.add(v128.load(c), r0);
    r1 = f32x4.add(v128.load(c1), r1);
    r2 = f32x4.add(v128.load(c2), r2);
    r3 = f32x4.add(v128.load(c3), r3);
    e0 = f32x4.add(v128.load64_lane(c1, v128.load64_zero(c, 16), 1, 16), e0);
    e1 = f32x4.add(v128.load64_lane(c3, v128.load64_zero(c2, 16), 1, 16), e1);
  }
  if ((flags & F_BIAS) != 0) {
    const b03 = v128.load(bias);
    const b45 = v128.load64_splat(bias, 16);
    r0 = f32x4.add(r0, b03);
    r1 = f32x4.add(r1, b03);
    r2 = f32x4.add(r2, b03);
    r3 = f32x4.add(r3, b03);
    e0 = f32x4.add(e0, b45);
    e1 = f32x4.add(e1, b45);
  }
  if ((flags & F_RELU) != 0) {
    const z = f32x4.splat(0);
    r0 = f32x4.max(r0, z);
    r1 = f32x4.max(r1, z);
    r2 = f32x4.max(r2, z);
    r3 = f32x4.max(r3, z);
    e0 = f32x4.max(e0, z);
    e1 = f32x4.max(e1, z);
  }
  v128.store(c, r0);
  v128.store64_lane(c, e0, 0, 16);
  v128.store(c1, r1);
  v128.store64_lane(c1, e0, 1, 16);
  v128.store(c2, r2);
  v128.store64_lane(c2, e1, 0, 16);
  v128.store(c3, r3);
  v128.store64_lane(c3, e1, 1, 16);
}

/** Writes the valid mr x nr corner of a tile (column-major, 32 B columns) through the epilogue. */
function storePartial(tile: usize, c: usize, ldc: usize, mr: i32, nr: i32, flags: i32, bias: usize): void {
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const p = c + (<usize>j << 2);
      let v = load<f32>(tile + (<usize>j << 5) + (<usize>i << 2));
      if ((flags & F_LOADC) != 0) v = load<f32>(p) + v;
      if ((flags & F_BIAS) != 0) v += load<f32>(bias + (<usize>j << 2));
      if ((flags & F_RELU) != 0) v = max<f32>(v, 0);
      store<f32>(p, v);
    }
    c += ldc;
  }
}
