// A kernel thread of the pool in threads.ts. Plain JavaScript on purpose: Node runs it as is, with
// no TypeScript loader, both under `tsx` (whose loader workers would otherwise inherit and start
// again in every thread) and under vitest (which transforms only the modules it imports itself,
// never a worker's entry file).
//
// It instantiates the engine's compiled WebAssembly.Module on the engine's one shared Memory, then
// loops: wait until the caller bumps this thread's request number, call the export it names with
// the arguments it wrote, publish its i32 result and the request number as done. Every call is synchronous; an error
// (a WASM trap, say) is written to this thread's error area for the caller to throw.
import { workerData } from 'node:worker_threads';

const { module, memory, control, ops, index, layout } = workerData;
const { INTS, REQ, DONE, STATUS, OP, READY, ERROR_LEN, RESULT, ARGS, ARGS_OFFSET, ERROR_OFFSET, ERROR_BYTES, SPIN_MS } = layout;

const ctl = new Int32Array(control);
const base = index * INTS;
const args = new Float64Array(control, ARGS_OFFSET + index * ARGS * 8, ARGS);
const errorBytes = new Uint8Array(control, ERROR_OFFSET + index * ERROR_BYTES, ERROR_BYTES);
const encoder = new TextEncoder();

function reportError(error) {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const { written } = encoder.encodeInto(text, errorBytes);
  ctl[base + ERROR_LEN] = written;
}

let fns;
try {
  // Re-writes the module's static data below heapBase (identical bytes). The pool instantiates all
  // its threads before it runs any kernel, so no thread is using that data meanwhile.
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  fns = ops.map((name) => {
    const fn = instance.exports[name];
    if (typeof fn !== 'function') throw new Error(`the WASM build does not export "${name}" (rebuild with \`npm run build\`)`);
    return fn;
  });
  Atomics.store(ctl, base + READY, 1);
} catch (error) {
  reportError(error);
  Atomics.store(ctl, base + READY, 2);
}
Atomics.notify(ctl, base + READY);

if (fns) {
  let seen = 0;
  for (;;) {
    // Spin briefly first: kernel calls of a training step come back to back, and a thread that
    // never went to sleep starts its share sooner than one woken from a futex.
    let req = Atomics.load(ctl, base + REQ);
    if (req === seen) {
      const until = performance.now() + SPIN_MS;
      for (let i = 1; req === seen; i++) {
        if ((i & 63) === 0 && performance.now() > until) break;
        req = Atomics.load(ctl, base + REQ);
      }
    }
    while (req === seen) {
      Atomics.wait(ctl, base + REQ, seen);
      req = Atomics.load(ctl, base + REQ);
    }
    if (req < 0) break; // the pool is closing
    seen = req;
    let status = 0;
    try {
      const a = args;
      const result = fns[ctl[base + OP]](a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19]);
      ctl[base + RESULT] = typeof result === 'number' ? result : 0;
    } catch (error) {
      reportError(error);
      status = 1;
    }
    ctl[base + STATUS] = status;
    Atomics.store(ctl, base + DONE, req);
    Atomics.notify(ctl, base + DONE);
  }
}
