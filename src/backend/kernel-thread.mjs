// A kernel thread of the pool in thread-pool.ts, whatever runs it: the platform's thread entry
// (src/platform/node-worker.mjs in Node, browser-worker.mjs in a Web Worker) hands it the data.
// Plain JavaScript on purpose: Node runs it as is, with no TypeScript loader, both under `tsx`
// (whose loader workers would otherwise inherit and start again in every thread) and under vitest
// (which transforms only the modules it imports itself, never a worker's entry file).
//
// It instantiates the engine's compiled WebAssembly.Module on the engine's one shared Memory, then
// loops: wait until the caller bumps this thread's request number, call the export it names with
// the arguments it wrote, publish its i32 result and the request number as done. Every call is synchronous; an error
// (a WASM trap, say) is written to this thread's error area for the caller to throw.

/** Runs the kernel thread described by `data` (see KernelThreadData in src/platform/platform.ts) until the pool closes. */
export function runKernelThread(data) {
  const { module, memory, control, ops, index, layout } = data;
  const { INTS, REQ, DONE, STATUS, OP, READY, ERROR_LEN, RESULT, MODE, ARGS, ARGS_OFFSET, ERROR_OFFSET, ERROR_BYTES, SPIN_MS } = layout;
  const { CHUNK_NEXT, CHUNK_COUNT, COEF_OFFSET, BOUNDS_OFFSET, MAX_CHUNKS } = layout;

  const ctl = new Int32Array(control);
  const base = index * INTS;
  const args = new Float64Array(control, ARGS_OFFSET + index * ARGS * 8, ARGS);
  const errorBytes = new Uint8Array(control, ERROR_OFFSET + index * ERROR_BYTES, ERROR_BYTES);
  const perStart = new Float64Array(control, COEF_OFFSET, ARGS);
  const perLength = new Float64Array(control, COEF_OFFSET + ARGS * 8, ARGS);
  const chunkBounds = new Int32Array(control, BOUNDS_OFFSET, MAX_CHUNKS + 1);
  const call = new Float64Array(ARGS);

  /** runChunks mode: take the next chunk from the shared counter until none is left. */
  function runChunks(fn) {
    const chunks = ctl[CHUNK_COUNT];
    for (let i = Atomics.add(ctl, CHUNK_NEXT, 1); i < chunks; i = Atomics.add(ctl, CHUNK_NEXT, 1)) {
      const start = chunkBounds[i], length = chunkBounds[i + 1] - start;
      for (let j = 0; j < ARGS; j++) call[j] = args[j] + start * perStart[j] + length * perLength[j];
      const a = call;
      fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19]);
    }
  }
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
        const fn = fns[ctl[base + OP]];
        if (ctl[base + MODE] === 1) {
          runChunks(fn);
          ctl[base + RESULT] = 0;
        } else {
          const a = args;
          const result = fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19]);
          ctl[base + RESULT] = typeof result === 'number' ? result : 0;
        }
      } catch (error) {
        reportError(error);
        status = 1;
        if (ctl[base + MODE] === 1) Atomics.store(ctl, CHUNK_NEXT, ctl[CHUNK_COUNT]); // the others stop too
      }
      ctl[base + STATUS] = status;
      Atomics.store(ctl, base + DONE, req);
      Atomics.notify(ctl, base + DONE);
    }
  }
}
