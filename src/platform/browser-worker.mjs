// A kernel thread in a browser: a module Web Worker started ahead of need by init() (a browser
// starts a worker only when its creator returns to the event loop, and a thread pool's creator
// blocks in Atomics.wait until its threads are ready). It says "alive", then waits for its
// KernelThreadData and runs the loop until the pool closes.
import { runKernelThread } from '../backend/kernel-thread.mjs';

self.onmessage = (event) => {
  self.onmessage = null;
  try {
    runKernelThread(event.data);
  } catch (error) {
    // runKernelThread reports its own errors through the control block; anything else is a bug.
    setTimeout(() => {
      throw error;
    });
  }
};
// A message that cannot be received (shared memory in a worker that is not cross-origin isolated)
// fires messageerror here instead of message: say so, or the pool would wait for nothing.
self.onmessageerror = () => self.postMessage({ failed: `the kernel thread cannot receive the engine's shared memory (crossOriginIsolated: ${self.crossOriginIsolated})` });
self.postMessage({ alive: true, crossOriginIsolated: self.crossOriginIsolated });
