// Inline helpers shared by the kernel files.

/** Bytes of n f32 (or i32) values. */
// @ts-ignore: decorator
@inline export function bytesOf(n: i32): usize {
  return <usize>n << 2;
}

// Multiply-add on four lanes, c + a·b: `f32x4.relaxed_madd` (vfmadd231ps, one rounding) when the
// relaxed-SIMD target is compiled, mul + add otherwise. One source for both builds.
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}
