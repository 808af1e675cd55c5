// Is the second core free? A loop that touches no memory (integer multiply-adds in registers) is
// timed on one thread alone, then on two threads at once, round by round. On two free cores each
// copy takes as long as one alone; when the host gives the two vCPUs less than two cores' time, each
// copy is slower, and 2 x alone / together is how many cores' worth of work the machine did. That
// bounds what any two-thread speed-up can reach at that moment, whatever the code does, so the
// training bench's two-thread figures can be read against it.
import { Worker } from 'node:worker_threads';
import type { BenchContext } from './index.ts';
import { median } from './common.ts';

/** Each worker warms its loop up, waits until every worker is ready, then times the loop. */
const LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const spin = (n) => { let x = 1; for (let i = 0; i < n; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0; return x; };
spin(2e7);
const ready = new Int32Array(workerData.ready);
Atomics.add(ready, 0, 1);
while (Atomics.load(ready, 0) < workerData.workers) {}
const t0 = performance.now();
const x = spin(workerData.iterations);
parentPort.postMessage({ ms: performance.now() - t0, x });
`;

/** Runs the loop on `workers` threads at once; returns each one's milliseconds. */
async function timeLoops(workers: number, iterations: number): Promise<number[]> {
  const ready = new SharedArrayBuffer(4);
  return Promise.all(Array.from({ length: workers }, () => new Promise<number>((resolve, reject) => {
    const worker = new Worker(LOOP, { eval: true, workerData: { ready, workers, iterations } });
    worker.once('message', (m: { ms: number }) => {
      resolve(m.ms);
      void worker.terminate();
    });
    worker.once('error', reject);
  })));
}

/** One round: the loop alone, then two copies at once (the training bench runs one per round too). */
export async function measureCores(iterations: number): Promise<{ alone: number; together: number[]; coresWorth: number }> {
  const [alone] = await timeLoops(1, iterations);
  const together = await timeLoops(2, iterations);
  return { alone, together, coresWorth: (2 * alone) / median(together) };
}

export async function run(ctx: BenchContext): Promise<void> {
  const rounds = ctx.rounds ?? (ctx.quick ? 2 : 5);
  const iterations = ctx.quick ? 5e7 : 4e8;
  const alone: number[] = [];
  const together: number[] = [];
  console.log(`\n=== cores: a register-only loop of ${iterations.toExponential(0)} steps, 1 thread alone then 2 at once, ${rounds} rounds`);
  for (let r = 1; r <= rounds; r++) {
    const m = await measureCores(iterations);
    alone.push(m.alone);
    together.push(...m.together);
    console.log(`round ${r}  alone ${m.alone.toFixed(0)} ms   together ${m.together.map((ms) => ms.toFixed(0)).join(' and ')} ms`);
  }
  const aloneMs = median(alone);
  const togetherMs = median(together);
  const coresWorth = (2 * aloneMs) / togetherMs;
  console.log(`median: alone ${aloneMs.toFixed(0)} ms, together ${togetherMs.toFixed(0)} ms: two threads did ${coresWorth.toFixed(2)} cores' worth of work`);
  if (!ctx.quick) {
    for (const path of ctx.save('cores', { iterations, rounds, aloneMs: alone, togetherMs: together, medianAloneMs: aloneMs, medianTogetherMs: togetherMs, coresWorth })) console.log(`wrote ${path}`);
  }
}
