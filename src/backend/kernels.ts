// The kernel contract. Every pointer is a byte offset into the engine's one WebAssembly.Memory
// (see memory.ts); f32 arrays unless named otherwise; matrices are row-major. The WASM backend
// (assembly/, compiled) and the reference backend (reference/, plain TypeScript) implement exactly
// these signatures, so any model runs on either and tests compare them.
//
// Outputs may not alias inputs unless a kernel says so.

export interface Kernels {
  // ---- Matrix products (the three forms backprop needs). `accumulate` = 1 adds into C. ----
  /** C[m,n] (+)= A[m,k] · B[k,n] */
  gemmNN(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: number): void;
  /** C[m,n] (+)= A[m,k] · B[n,k]ᵀ */
  gemmNT(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: number): void;
  /** C[m,n] (+)= A[k,m]ᵀ · B[k,n] */
  gemmTN(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: number): void;
  /**
   * `count` independent products C_i = A_i·B_i of one form (0: gemmNN, 1: gemmNT, 2: gemmTN, each
   * with accumulate = 0), at a + i·strideA, b + i·strideB, c + i·strideC (strides in elements).
   */
  gemmBatched(form: number, a: number, b: number, c: number, m: number, k: number, n: number, count: number,
    strideA: number, strideB: number, strideC: number): void;
  /** C[m,n] = A[m,k] · B[k,n] + bias[n] (broadcast over rows), then max(0, ·) if relu = 1. */
  gemmNNBias(a: number, b: number, bias: number, c: number, m: number, k: number, n: number, relu: number): void;

  // ---- Sparse left operand (a Dense layer fed image pixels; a conv's dL/dz behind a max pool) ----
  // A sparse matrix in compressed rows (CSR): row i's entries are p in start[i]..start[i+1]
  // (start: i32[rows + 1]), each with its column index[p] (i32) and value values[p] (f32).
  /**
   * Writes the CSR of x[rows, cols]: every value that is not ±0 (NaN kept), columns ascending.
   * index and values need room for rows·cols entries. Returns the number of entries. When sums is
   * not 0, also writes the column sums of x there (sums[j] = Σ_i x[i, j]).
   */
  sparseRows(x: number, rows: number, cols: number, start: number, index: number, values: number, sums: number): number;
  /**
   * The transpose of a CSR matrix [rows, cols], in CSR (tStart: i32[cols + 1]): the original's
   * columns, each with its entries in ascending row order.
   */
  sparseTranspose(start: number, index: number, values: number, rows: number, cols: number,
    tStart: number, tIndex: number, tValues: number): void;
  /** C[m,n] = A·B[k,n] for A[m,k] in CSR: gemmNN over A's entries only. */
  sparseGemm(start: number, index: number, values: number, b: number, c: number, m: number, n: number): void;
  /** C[m,n] = A·B + bias[n], then max(0, ·) if relu = 1: gemmNNBias for A[m,k] in CSR. */
  sparseGemmBias(start: number, index: number, values: number, b: number, bias: number, c: number,
    m: number, n: number, relu: number): void;
  /**
   * C[k,n] = Aᵀ·B for A[m,k] in CSR and B[m,n]: gemmTN over A's entries only (C = 0, then each
   * entry (i, j, v) adds v·B[i,:] to C[j,:], rows i in order).
   */
  sparseGemmTN(start: number, index: number, values: number, b: number, c: number, m: number, k: number, n: number): void;

  // ---- Element-wise and row-wise ----
  /** y[i] = max(0, x[i]); y may equal x. */
  relu(x: number, y: number, n: number): void;
  /** dx[i] = y[i] > 0 ? dy[i] : 0, where y is the ReLU's output; dx may equal dy. */
  reluBackward(dy: number, y: number, dx: number, n: number): void;
  /** out[c] (+)= Σ_r x[r,c]: the bias gradient. */
  colSum(x: number, out: number, rows: number, cols: number, accumulate: number): void;
  /** y[r,:] = softmax(x[r,:]), computed as exp(x - max) / Σ exp(x - max); y may equal x. */
  softmax(x: number, y: number, rows: number, cols: number): void;
  /** Vector-Jacobian product of softmax: dx[r,c] = y[r,c] · (dy[r,c] − Σ_j dy[r,j]·y[r,j]). */
  softmaxBackward(y: number, dy: number, dx: number, rows: number, cols: number): void;
  /**
   * Softmax fused with sparse categorical cross-entropy. labels: i32[rows], each in [0, cols).
   * Writes probs[r,:] = softmax(logits[r,:]) and dLogits[r,c] = scale · (probs[r,c] − [c = label_r]).
   * Returns Σ_r −log(max(probs[r,label_r], 1e-7)) (a sum; the caller averages).
   * dLogits may equal logits; probs may not alias either.
   */
  softmaxCrossEntropy(logits: number, labels: number, probs: number, dLogits: number, rows: number, cols: number, scale: number): number;
  /** out[r] = index of the first maximum of x[r,:]; out is i32[rows]. */
  argmaxRows(x: number, out: number, rows: number, cols: number): void;
  /** out[i] = a[i] · b[i] (dropout: a mask of 0 or 1/(1 − rate)); out may equal a or b. */
  mul(a: number, b: number, out: number, n: number): void;
  /**
   * Inverted-dropout mask: mask[i] = 0 where u < rate, else scale, with u in [0, 1) the hash of
   * (seed, start + i) (see dropoutUniform in reference/elementwise.ts). A counter-based generator:
   * any range can be computed on its own, so threads split it and every backend agrees bit for bit.
   */
  dropoutMask(mask: number, n: number, rate: number, scale: number, seed: number, start: number): void;
  /** y[i] += alpha · x[i] */
  axpy(x: number, y: number, n: number, alpha: number): void;
  /** y[c, r] = x[r, c] for x[rows, cols]. */
  transpose(x: number, y: number, rows: number, cols: number): void;
  /**
   * dst[i, :] = src[indices[i], :] for i < count, rows of rowLen f32 values; indices: i32[count].
   * Gathers a shuffled mini-batch out of a dataset that lives in WASM memory.
   */
  gatherRows(src: number, indices: number, dst: number, count: number, rowLen: number): void;

  // ---- Activations beyond ReLU and softmax (element-wise; act: an id of ACTIVATION_IDS) ----
  /** y[i] = act(x[i]), TF.js's definitions (src/layers/activations.ts); alpha: leakyRelu's slope, unused by the others. y may equal x. */
  activationForward(x: number, y: number, n: number, act: number, alpha: number): void;
  /**
   * dx[i] = dy[i] · act'(x[i]), given the input x and output y of activationForward (each
   * activation reads whichever gives its derivative more cheaply). dx may equal dy.
   */
  activationBackward(x: number, y: number, dy: number, dx: number, n: number, act: number, alpha: number): void;

  // ---- Batch normalization over the last axis: x[rows, cols], one channel per column ----
  /** mean[c] = Σ_r x[r,c] / rows and the biased variance[c] = Σ_r (x[r,c] − mean[c])² / rows. */
  batchNormStats(x: number, mean: number, variance: number, rows: number, cols: number): void;
  /** y[r,c] = (x[r,c] − mean[c]) · gamma[c] / sqrt(variance[c] + epsilon) + beta[c]; y may equal x. */
  batchNormForward(x: number, y: number, mean: number, variance: number, gamma: number, beta: number,
    rows: number, cols: number, epsilon: number): void;
  /**
   * The sums behind every BatchNormalization gradient, with x̂ = (x − mean) / sqrt(variance + epsilon):
   * dBeta[c] = Σ_r dy[r,c] and dGamma[c] = Σ_r dy[r,c] · x̂[r,c] (both overwritten).
   */
  batchNormParamGrads(x: number, dy: number, mean: number, variance: number, dGamma: number, dBeta: number,
    rows: number, cols: number, epsilon: number): void;
  /**
   * dx of batchNormForward, given batchNormParamGrads' sums: with s = gamma / sqrt(variance + epsilon),
   * dx = s · (dy − (dBeta + x̂ · dGamma) / rows) when the statistics were the batch's own
   * (training = 1: mean and variance depend on x), else dx = s · dy. dx may equal dy.
   */
  batchNormInputGrad(x: number, dy: number, dx: number, mean: number, variance: number, gamma: number,
    dGamma: number, dBeta: number, rows: number, cols: number, epsilon: number, training: number): void;
  /**
   * moving[i] = moving[i] · momentum + value[i] · (1 − momentum), computed as TF.js does:
   * moving − (moving − value) · (1 − momentum), with 1 − momentum taken before rounding to f32.
   */
  movingAverage(moving: number, value: number, n: number, momentum: number): void;

  // ---- Convolution and pooling, NHWC ----
  // Geometry shared by im2col, col2im and pooling: input x[batch, h, w, c]; a window of kh x kw
  // moved by (strideH, strideW); padTop/padLeft cells of padding before the first row/column
  // ('valid': 0; 'same': Keras's floor(total/2)); output outH x outW positions.
  /**
   * cols[(b·outH + oy)·outW + ox, (ky·kw + kx)·c + ci] = x[b, oy·strideH + ky − padTop, ox·strideW + kx − padLeft, ci],
   * 0 where that falls outside the image. cols is [batch·outH·outW, kh·kw·c], matching a Keras
   * kernel [kh, kw, c, filters] read as a [kh·kw·c, filters] matrix.
   */
  im2col(x: number, cols: number, batch: number, h: number, w: number, c: number, kh: number, kw: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  /** The adjoint of im2col: x = 0, then every cols entry is added back to the pixel it came from. */
  col2im(cols: number, x: number, batch: number, h: number, w: number, c: number, kh: number, kw: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  /**
   * x = col2im(A·Kt) without the product: for A [batch·outH·outW, filters] in CSR (a conv's dL/dz,
   * mostly 0) and Kt [filters, kh·kw·c] (the kernel transposed), x = 0, then each entry (position,
   * f, v) adds v·Kt[f, :] to its position's input window (im2col's geometry, clipped at the border).
   */
  sparseCol2im(start: number, index: number, values: number, kt: number, x: number, batch: number, h: number, w: number,
    c: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number,
    outH: number, outW: number): void;
  /**
   * y[b, oy, ox, ci] = max over the window (padding cells never win) of x; argmax (i32, same size
   * as y) records the flat index into x of the winning element (first maximum in window order).
   * positiveOnly = 1 records −1 instead where y <= 0, so that maxPoolBackward gives dx = 0 there:
   * for a pool over ReLU outputs, maxPoolBackward then yields the gradient before the ReLU.
   */
  maxPoolForward(x: number, y: number, argmax: number, batch: number, h: number, w: number, c: number,
    poolH: number, poolW: number, strideH: number, strideW: number, padTop: number, padLeft: number,
    outH: number, outW: number, positiveOnly: number): void;
  /**
   * Direct convolution of a ONE-channel input, stride 1, 'valid' (outH = h − kh + 1, outW = w − kw + 1):
   * y[b, oy, ox, f] = act(bias[f] + Σ_{ky, kx} x[b, oy + ky, ox + kx] · kernel[ky, kx, f]), with
   * x[batch, h, w], kernel [kh, kw, filters], y [batch, outH, outW, filters], act = max(0, ·) if
   * relu = 1. The same values as im2col + gemmNNBias (up to rounding), without the cols matrix.
   */
  conv2dC1Forward(x: number, kernel: number, bias: number, y: number, batch: number, h: number, w: number,
    kh: number, kw: number, outH: number, outW: number, filters: number, relu: number): void;
  /**
   * Kernel and bias gradients of conv2dC1Forward: dK[ky, kx, f] = Σ_{b, oy, ox} x[b, oy + ky, ox + kx] · dz[b, oy, ox, f]
   * and dbias[f] = Σ_{b, oy, ox} dz[b, oy, ox, f] (both overwritten), with dz [batch, outH, outW, filters]:
   * colsᵀ·dz without the cols matrix, and the column sum of dz in the same pass.
   */
  conv2dC1KernelGrad(x: number, dz: number, dK: number, dbias: number, batch: number, h: number, w: number,
    kh: number, kw: number, outH: number, outW: number, filters: number): void;
  /**
   * conv2dC1Forward with relu = 1, then a max pool whose poolH x poolW windows tile its output
   * (strides = pool size, 'valid'), in one pass that never stores the conv's output:
   * y[b, py, px, f] = max over the window of the conv's outputs at rows py·poolH + r (r < poolH) and
   * columns px·poolW + s (s < poolW). argmax [batch, outH, outW, filters] (i32) records the first
   * maximum in window order as an index into its band of poolH conv rows, (r·outW·poolW + px·poolW + s)·filters + f,
   * or −1 where y <= 0 (as maxPoolForward's positiveOnly). scratch: poolH·outW·poolW·filters floats.
   */
  conv2dC1PoolForward(x: number, kernel: number, bias: number, y: number, argmax: number, scratch: number,
    batch: number, h: number, w: number, kh: number, kw: number, filters: number, poolH: number, poolW: number,
    outH: number, outW: number): void;
  /**
   * dK and dbias (overwritten) of conv2dC1PoolForward, from dy [batch, outH, outW, filters], the
   * gradient of its pooled output: conv2dC1KernelGrad with dz = dy at each window's argmax and 0
   * elsewhere. scratch: poolH·outW·poolW·filters floats.
   */
  conv2dC1PoolKernelGrad(x: number, dy: number, argmax: number, dK: number, dbias: number, scratch: number,
    batch: number, h: number, w: number, kh: number, kw: number, filters: number, poolH: number, poolW: number,
    outH: number, outW: number): void;
  /**
   * y[b, oy, ox, ci] = the mean of x over the window's cells inside the image (padding cells are
   * not counted, as in TF.js's 'same' average pooling).
   */
  avgPoolForward(x: number, y: number, batch: number, h: number, w: number, c: number, poolH: number, poolW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  /** The adjoint of avgPoolForward: dx = 0, then each dy is shared equally by its window's cells inside the image. */
  avgPoolBackward(dy: number, dx: number, batch: number, h: number, w: number, c: number, poolH: number, poolW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  /** dx = 0 (inSize elements), then dx[argmax[i]] += dy[i] for i < outSize (argmax −1: skipped). */
  maxPoolBackward(dy: number, argmax: number, dx: number, outSize: number, inSize: number): void;
  /**
   * maxPoolBackward for windows that tile the image without overlap (strides = pool size, 'valid'),
   * given the geometry of the maxPoolForward that wrote argmax: the same dx, in one write pass.
   */
  maxPoolBackwardWindows(dy: number, argmax: number, dx: number, batch: number, h: number, w: number, c: number,
    poolH: number, poolW: number, outH: number, outW: number): void;
  /**
   * Shifts each image by whole pixels (data augmentation): shifts is i32[2·batch] holding (dy, dx)
   * per image, and dst[b, y, x, :] = src[b, y − dy, x − dx, :], or 0 where that falls outside.
   */
  translateImages(src: number, dst: number, shifts: number, batch: number, h: number, w: number, c: number): void;
  /**
   * Resamples each image through its own inverse affine map (data augmentation): params is
   * f32[6·batch] holding [a, b, tx, c, d, ty] per image; with (u, v) = (x, y) − centre and
   * centre = ((w − 1)/2, (h − 1)/2), dst[b, y, x, :] = src[b] at (a·u + b·v + tx, c·u + d·v + ty) + centre,
   * sampled bilinearly, each of the 4 taps 0 outside the image.
   */
  affineImages(src: number, dst: number, params: number, batch: number, h: number, w: number, c: number): void;

  // ---- Winograd F(2x2, 3x3) for 3x3, stride-1, 'valid' convolutions (src/fast/winograd-conv.ts) ----
  // With Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] and
  // Aᵀ = [1 1 1 0; 0 1 −1 −1], a 2x2 block of outputs is Aᵀ [Σ_c (G W_cf Gᵀ) ⊙ (Bᵀ d_c B)] A, d_c the
  // 4x4 input tile under it. Tiles: tilesH = ceil(outH / 2) by tilesW = ceil(outW / 2) per image,
  // tile t = (b·tilesH + ty)·tilesW + tx over rows 2·ty.. and columns 2·tx..; input beyond the image
  // reads as 0, outputs beyond outH x outW are dropped. V [16, stride, C] and M [16, stride, F] hold,
  // for each entry e = 4·i + j of the 4x4 products, one [stride, ·] matrix (stride >= the call's
  // batch·tilesH·tilesW); U [16, C, F]. Then M[e] = V[e]·U[e] is a plain gemmNN per entry.
  /** V[e, t, ci] = (Bᵀ d B)[e] for tile t of channel ci of x [batch, h, w, c]. */
  winogradInput(x: number, v: number, batch: number, h: number, w: number, c: number, tilesH: number, tilesW: number, stride: number): void;
  /** The adjoint of winogradInput: dx = 0, then each tile adds B·dV[·, t, ci]·Bᵀ to its 4x4 window (cells beyond the image dropped). */
  winogradInputGrad(dv: number, dx: number, batch: number, h: number, w: number, c: number, tilesH: number, tilesW: number, stride: number): void;
  /** y[b, 2·ty + a, 2·tx + a', f] = (Aᵀ M[·, t, f] A)[a, a'] (+ bias[f] if hasBias = 1), y [batch, outH, outW, f]. */
  winogradOutput(m: number, y: number, bias: number, batch: number, outH: number, outW: number, f: number,
    tilesH: number, tilesW: number, stride: number, hasBias: number): void;
  /** The adjoint of winogradOutput's product: M[e, t, f] = (A g Aᵀ)[e], g the tile's 2x2 block of dy (0 beyond outH x outW). */
  winogradOutputGrad(dy: number, m: number, batch: number, outH: number, outW: number, f: number,
    tilesH: number, tilesW: number, stride: number): void;
  /** U[e, ci, f] = (G W Gᵀ)[e] for each 3x3 slice W = kernel[·, ·, ci, f] of a Keras kernel [3, 3, c, f]. */
  winogradKernel(kernel: number, u: number, c: number, f: number): void;
  /** The adjoint of winogradKernel: dK[·, ·, ci, f] = Gᵀ dU[·, ci, f] G (overwritten), dK [3, 3, c, f]. */
  winogradKernelGrad(du: number, dK: number, c: number, f: number): void;

  // ---- BatchNormalization → ReLU, fused (src/fast/batch-norm-relu.ts): x[rows, cols], a channel per column ----
  /**
   * Per-channel sums into f64 (8-byte aligned, overwritten), by mode: 0: sums[c] = Σ_r x[r,c];
   * 1: sums[c] = Σ_r (x[r,c] − mean[c])²; 2: sums[c] = Σ_r g[r,c] and sums[cols + c] = Σ_r g[r,c]·(x[r,c] − mean[c]),
   * g = dy where y > 0, else 0. Rows may be summed in f32 in blocks of up to 32 before the f64 totals.
   * Pointers a mode does not read (y, dy, mean) may be 0.
   */
  channelSums(x: number, y: number, dy: number, mean: number, sums: number, rows: number, cols: number, mode: number): void;
  /** y[r,c] = max(0, (x[r,c] − mean[c])·scale[c] + beta[c]), in f32; y may equal x. */
  batchNormReluForward(x: number, y: number, mean: number, scale: number, beta: number, rows: number, cols: number): void;
  /** dx[r,c] = scale[c]·g[r,c] + a[c]·(x[r,c] − mean[c]) + b[c], g = dy where y > 0, else 0, in f32. */
  batchNormReluInputGrad(x: number, y: number, dy: number, dx: number, mean: number, scale: number, a: number, b: number,
    rows: number, cols: number): void;

  // ---- Optimizer updates (in place, n parameters) ----
  /**
   * Keras SGD. momentum = 0: w −= lr·g. Otherwise v = momentum·v − lr·g, then
   * w += v (nesterov = 0) or w += momentum·v − lr·g (nesterov = 1). A subnormal v is stored as 0
   * (subnormal arithmetic is ~100x slower on x86, and WASM cannot switch on flush-to-zero).
   */
  sgdUpdate(w: number, g: number, v: number, n: number, lr: number, momentum: number, nesterov: number): void;
  /**
   * TF.js Adam: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
   * w −= lr · (m·c1) / (sqrt(v·c2) + ε), with the bias corrections c1 = 1/(1−β1ᵗ), c2 = 1/(1−β2ᵗ).
   * A subnormal m or v is stored as 0, as in sgdUpdate.
   */
  adamUpdate(w: number, g: number, m: number, v: number, n: number, lr: number, beta1: number,
    beta2: number, epsilon: number, c1: number, c2: number): void;
  /**
   * TF.js/Keras RMSprop: ms = ρ·ms + (1−ρ)·g²; d = ms − mg² with mg = ρ·mg + (1−ρ)·g if
   * centered = 1, else d = ms; step = lr·g / sqrt(d + ε); w −= step, or with momentum ≠ 0
   * mom = momentum·mom + step and w −= mom. mom (momentum 0) and mg (centered 0) are not touched.
   * A subnormal ms, mg or mom is stored as 0, as in sgdUpdate.
   */
  rmspropUpdate(w: number, g: number, ms: number, mom: number, mg: number, n: number, lr: number, rho: number,
    momentum: number, epsilon: number, centered: number): void;
}

/** The names of every kernel, for backends that bind them by name and for tests. */
export const KERNEL_NAMES = [
  'gemmNN', 'gemmNT', 'gemmTN', 'gemmNNBias', 'gemmBatched',
  'sparseRows', 'sparseTranspose', 'sparseGemm', 'sparseGemmBias', 'sparseGemmTN', 'transpose',
  'relu', 'reluBackward', 'colSum', 'softmax', 'softmaxBackward',
  'softmaxCrossEntropy', 'argmaxRows', 'mul', 'dropoutMask', 'axpy', 'gatherRows',
  'im2col', 'col2im', 'sparseCol2im', 'conv2dC1Forward', 'conv2dC1KernelGrad', 'conv2dC1PoolForward', 'conv2dC1PoolKernelGrad', 'maxPoolForward', 'maxPoolBackward', 'maxPoolBackwardWindows', 'translateImages', 'affineImages',
  'sgdUpdate', 'adamUpdate', 'rmspropUpdate',
  'activationForward', 'activationBackward',
  'batchNormStats', 'batchNormForward', 'batchNormParamGrads', 'batchNormInputGrad', 'movingAverage',
  'avgPoolForward', 'avgPoolBackward',
  'winogradInput', 'winogradInputGrad', 'winogradOutput', 'winogradOutputGrad', 'winogradKernel', 'winogradKernelGrad',
  'channelSums', 'batchNormReluForward', 'batchNormReluInputGrad',
] as const satisfies readonly (keyof Kernels)[];

/** The `act` ids of activationForward and activationBackward (assembly/activations.ts uses the same numbers). */
export const ACTIVATION_IDS = {
  sigmoid: 0, tanh: 1, elu: 2, selu: 3, softplus: 4, softsign: 5, relu6: 6, swish: 7, gelu: 8, hardSigmoid: 9, leakyRelu: 10,
} as const;
