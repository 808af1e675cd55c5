// The page side: starts the engine's Worker and passes tasks to it (window.runTask), one at a time.
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'engine' });
const pending: ((reply: unknown) => void)[] = [];
worker.onmessage = (event) => pending.shift()?.(event.data);
worker.onerror = (event) => console.error(`engine worker: ${event.message}`);

declare global {
  interface Window {
    runTask(task: unknown): Promise<unknown>;
    pageIsolated: boolean;
    pageReady: boolean;
  }
}

window.runTask = (task) =>
  new Promise((resolve, reject) => {
    pending.push((reply) => {
      const r = reply as { error?: string };
      if (r && typeof r.error === 'string') reject(new Error(r.error));
      else resolve(reply);
    });
    worker.postMessage(task);
  });
window.pageIsolated = crossOriginIsolated;
window.pageReady = true;
