// GEMM kernel benchmark: GFLOP/s of gemmNN, gemmNT and gemmTN for every WASM build this runtime
// can run (plain SIMD, relaxed SIMD) and for the TypeScript reference, at the shapes the engine
// meets (MLP layers, conv im2col products), all measured in the same run over the same arena.
//
// Two figures per case:
// - wall: benny (benchmark.js) median time per call;
// - cpu: process.cpuUsage() over timed loops, the kernels of one (shape, form) interleaved in
//   short slices so that load from other processes hits them alike. On a shared machine this is
//   the figure to compare; the ratio to the reference is computed from it (and from wall).
import b from 'benny';
import { getBackend, type Kernels } from '../src/backend/index.ts';
import { compileKernels, instantiateKernels, relaxedSimdSupported, wasmKernels, type SimdFlavor } from '../src/backend/wasm.ts';
import type { BenchContext } from './index.ts';
import { Random } from '../src/random.ts';
import { median } from './common.ts';

type Shape = [m: number, k: number, n: number];
type Form = 'gemmNN' | 'gemmNT' | 'gemmTN';
type Flavor = SimdFlavor | 'reference';

const SHAPES: Shape[] = [
  [128, 784, 128], // MLP: batch 128, 784 inputs, 128 units
  [128, 128, 10], // MLP output layer
  [256, 256, 256],
  [1024, 1024, 1024],
  [15488, 288, 64], // conv as im2col: 128 images x 11x11 positions, 3x3x32 patch, 64 filters
];
const QUICK_SHAPES: Shape[] = [[128, 784, 128], [128, 128, 10], [256, 256, 256]];
const FORMS: Form[] = ['gemmNN', 'gemmNT', 'gemmTN'];

/** Performance targets of the single-thread kernels on the reference machine (see DESIGN.md). */
const TARGETS: { what: string; flavor: Flavor; forms: Form[]; shapes: Shape[]; gflops: number }[] = [
  { what: 'plain gemmNN >= 18 GFLOP/s at 256^3 and 15488x288x64', flavor: 'plain', forms: ['gemmNN'], shapes: [[256, 256, 256], [15488, 288, 64]], gflops: 18 },
  { what: 'plain gemmNN >= 15 GFLOP/s at 1024^3', flavor: 'plain', forms: ['gemmNN'], shapes: [[1024, 1024, 1024]], gflops: 15 },
  { what: 'relaxed gemmNN >= 27 GFLOP/s at 256^3 and 15488x288x64', flavor: 'relaxed', forms: ['gemmNN'], shapes: [[256, 256, 256], [15488, 288, 64]], gflops: 27 },
  {
    what: 'plain gemmNT, gemmTN >= 12 GFLOP/s', flavor: 'plain', forms: ['gemmNT', 'gemmTN'],
    shapes: [[256, 256, 256], [1024, 1024, 1024], [15488, 288, 64]], gflops: 12,
  },
  {
    what: 'relaxed gemmNT, gemmTN >= 12 GFLOP/s', flavor: 'relaxed', forms: ['gemmNT', 'gemmTN'],
    shapes: [[256, 256, 256], [1024, 1024, 1024], [15488, 288, 64]], gflops: 12,
  },
];

interface CaseResult {
  shape: Shape;
  form: Form;
  flavor: Flavor;
  flops: number;
  /** GFLOP/s from benny's median wall time per call. */
  gflopsWall: number;
  /** GFLOP/s from process CPU time: median over interleaved timed slices. */
  gflopsCpu: number;
  vsReferenceCpu?: number;
  vsReferenceWall?: number;
  benny: { medianSeconds: number; meanSeconds: number; marginPercent: number; samples: number };
  cpuSeconds: number;
  cpuCalls: number;
  cpuSlicesGflops: number[];
}

/** Reproducible operands from the engine's seeded generator. */
function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** Every kernel set to measure, all over the one arena. */
function kernelSets(): { arena: ReturnType<typeof getBackend>['arena']; sets: { flavor: Flavor; kernels: Kernels }[] } {
  const wasm = getBackend('wasm');
  const arena = wasm.arena;
  const flavors: SimdFlavor[] = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];
  const sets: { flavor: Flavor; kernels: Kernels }[] = flavors.map((flavor) => {
    if (flavor === wasm.flavor) return { flavor, kernels: wasm.kernels };
    const inst = instantiateKernels(compileKernels(flavor), arena.memory);
    if (inst.heapBase > arena.base) throw new Error(`the ${flavor} build's static data would overlap the arena`);
    return { flavor, kernels: wasmKernels(inst.instance) };
  });
  sets.push({ flavor: 'reference', kernels: getBackend('reference').kernels });
  return { arena, sets };
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function run(ctx: BenchContext): Promise<void> {
  const { arena, sets } = kernelSets();
  const shapes = ctx.quick ? QUICK_SHAPES : SHAPES;
  const results: CaseResult[] = [];
  const rand = rng(42);

  for (const shape of shapes) {
    const [m, k, n] = shape;
    const flops = 2 * m * k * n;
    const mark = arena.mark();
    const a = arena.allocF32(m * k), bp = arena.allocF32(k * n), c = arena.allocF32(m * n);
    const f = arena.f32;
    for (let i = a >> 2; i < (a >> 2) + m * k; i++) f[i] = 2 * rand() - 1;
    for (let i = bp >> 2; i < (bp >> 2) + k * n; i++) f[i] = 2 * rand() - 1;

    for (const form of FORMS) {
      const calls = sets.map(({ flavor, kernels }) => ({ flavor, call: () => kernels[form](a, bp, c, m, k, n, 0) }));
      // The reference takes seconds per call at the large shapes: time it by CPU across the calls
      // benny makes anyway (one sample) instead of a separate loop.
      const refSeconds = flops / 0.3e9;
      const slowRef = refSeconds > 0.5;
      const cpu = new Map<Flavor, { seconds: number; calls: number; slices: number[] }>(
        calls.map(({ flavor }) => [flavor, { seconds: 0, calls: 0, slices: [] }]),
      );
      const measured = (flavor: Flavor, call: () => void) => () => {
        const t = cpuSeconds();
        call();
        const s = cpu.get(flavor)!;
        s.seconds += cpuSeconds() - t;
        s.calls++;
      };

      // Warm up (V8 compiles each WASM function on its first call).
      for (const { flavor, call } of calls) if (flavor !== 'reference') for (let i = 0; i < 3; i++) call();

      // CPU time: interleaved slices of ~40 ms (WASM), one or a few calls for the reference.
      const wasmCalls = calls.filter((x) => x.flavor !== 'reference');
      const slicesPerFlavor = ctx.quick ? 3 : 8;
      for (let s = 0; s < slicesPerFlavor; s++) {
        for (const { flavor, call } of wasmCalls) {
          const reps = Math.max(1, Math.round((0.04 * 20e9) / flops));
          const t = cpuSeconds();
          for (let i = 0; i < reps; i++) call();
          const st = cpu.get(flavor)!;
          const dt = cpuSeconds() - t;
          st.seconds += dt;
          st.calls += reps;
          st.slices.push((reps * flops) / dt / 1e9);
        }
        if (!slowRef) {
          const ref = calls.find((x) => x.flavor === 'reference')!;
          const reps = Math.max(1, Math.round(0.04 / refSeconds));
          const t = cpuSeconds();
          for (let i = 0; i < reps; i++) ref.call();
          const st = cpu.get('reference')!;
          const dt = cpuSeconds() - t;
          st.seconds += dt;
          st.calls += reps;
          st.slices.push((reps * flops) / dt / 1e9);
        }
      }

      // Wall time: benny.
      const label = `${shape.join('x')} ${form}`;
      const summary = await b.suite(
        label,
        ...calls.map(({ flavor, call }) =>
          flavor === 'reference' && slowRef
            ? b.add(flavor, () => measured(flavor, call), { minSamples: 1, maxTime: 0, initCount: 1 })
            : b.add(flavor, () => call, { minSamples: 5, maxTime: ctx.quick ? 0.2 : 0.6 }),
        ),
      );

      const byFlavor = new Map(summary.results.map((r) => [r.name as Flavor, r]));
      // CPU figure: the median over slices (robust to bursts of load); one total for a slow reference.
      const gflopsCpuOf = (st: { seconds: number; calls: number; slices: number[] }) =>
        st.slices.length ? median(st.slices) : (st.calls * flops) / st.seconds / 1e9;
      const refCpu = gflopsCpuOf(cpu.get('reference')!);
      const refWall = flops / byFlavor.get('reference')!.details.median / 1e9;
      for (const { flavor } of calls) {
        const r = byFlavor.get(flavor)!;
        const st = cpu.get(flavor)!;
        const gflopsCpu = gflopsCpuOf(st);
        const gflopsWall = flops / r.details.median / 1e9;
        results.push({
          shape, form, flavor, flops, gflopsWall, gflopsCpu,
          ...(flavor === 'reference' ? {} : {
            vsReferenceCpu: gflopsCpu / refCpu,
            vsReferenceWall: gflopsWall / refWall,
          }),
          benny: {
            medianSeconds: r.details.median, meanSeconds: r.details.mean,
            marginPercent: r.margin, samples: r.samples,
          },
          cpuSeconds: st.seconds, cpuCalls: st.calls, cpuSlicesGflops: st.slices.map((g) => Math.round(g * 100) / 100),
        });
      }
      printRows(results.slice(-calls.length), false);
    }
    arena.release(mark);
  }

  console.log('\nAll cases (GFLOP/s = 2·M·K·N / time; x ref = speed-up over the TypeScript reference):');
  printRows(results, true);

  const targets = checkTargets(results);
  console.log('\nTargets (GFLOP/s by CPU time, and >= 10x the reference):');
  for (const t of targets) console.log(`  ${t.met ? 'ok  ' : 'MISS'} ${t.what}: ${t.detail}`);

  if (ctx.quick) {
    console.log('\n(--quick: results not written)');
    return;
  }
  const paths = ctx.save('gemm', {
    description: 'Single-thread GEMM GFLOP/s (2·M·K·N flops per call); wall = benny median time per call, ' +
      'cpu = median over interleaved ~40 ms slices timed with process.cpuUsage (total over the calls for a slow reference)',
    flavors: sets.map((s) => s.flavor),
    results,
    targets,
  });
  console.log(`\nResults written to ${paths.map((p) => p.replace(process.cwd() + '/', '')).join(' and ')}`);
}

function printRows(rows: CaseResult[], header: boolean): void {
  if (header) {
    console.log('shape (MxKxN)    form    flavor      GFLOP/s wall  GFLOP/s cpu   x ref (cpu)  x ref (wall)  samples');
    console.log('---------------  ------  ---------  -------------  -----------  ------------  ------------  -------');
  }
  for (const r of rows) {
    console.log(
      `${r.shape.join('x').padEnd(15)}  ${r.form.padEnd(6)}  ${r.flavor.padEnd(9)}  ` +
        `${r.gflopsWall.toFixed(2).padStart(13)}  ${r.gflopsCpu.toFixed(2).padStart(11)}  ` +
        `${(r.vsReferenceCpu ? r.vsReferenceCpu.toFixed(1) + 'x' : '').padStart(12)}  ` +
        `${(r.vsReferenceWall ? r.vsReferenceWall.toFixed(1) + 'x' : '').padStart(12)}  ${String(r.benny.samples).padStart(7)}`,
    );
  }
}

function checkTargets(results: CaseResult[]) {
  const out: { what: string; met: boolean; detail: string }[] = [];
  const same = (x: Shape, y: Shape) => x[0] === y[0] && x[1] === y[1] && x[2] === y[2];
  for (const t of TARGETS) {
    const rows = results.filter((r) => r.flavor === t.flavor && t.forms.includes(r.form) && t.shapes.some((s) => same(s, r.shape)));
    if (!rows.length) continue;
    out.push({
      what: t.what,
      met: rows.every((r) => r.gflopsCpu >= t.gflops),
      detail: rows.map((r) => `${r.form} ${r.shape.join('x')} ${r.gflopsCpu.toFixed(1)}`).join(', '),
    });
  }
  const wasmRows = results.filter((r) => r.flavor !== 'reference');
  const worst = wasmRows.reduce((w, r) => (r.vsReferenceCpu! < w.vsReferenceCpu! ? r : w), wasmRows[0]);
  if (worst) {
    out.push({
      what: 'every WASM case >= 10x the reference (cpu)',
      met: wasmRows.every((r) => r.vsReferenceCpu! >= 10),
      detail: `lowest ${worst.vsReferenceCpu!.toFixed(1)}x (${worst.flavor} ${worst.form} ${worst.shape.join('x')})`,
    });
  }
  return out;
}
