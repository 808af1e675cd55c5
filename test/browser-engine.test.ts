// The engine in a real browser: headless Chromium (Debian's) opens a page served with COOP/COEP by
// Vite's dev server; the page's module Worker imports src/browser.ts, runs init({ threads: 2 }),
// fetches MNIST from the server and trains the mlp for 200+ steps with Adam and with SGD. Checks:
// the page and worker are cross-origin isolated, two threads share the kernels, the loss falls, the
// model's bytes load back, no request leaves the local server and the console has no errors.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launch, serve, watchPage, type PageWatch, type Served } from './browser-engine-helpers.ts';
import { MNIST_DIR } from './paths.ts';

const missing = browserMissing() ?? (MNIST_DIR ? null : 'no MNIST folder (set MNIST_DIR)');
if (missing) console.warn(`skipping the browser engine test: ${missing}`);

interface Run {
  optimizer: string;
  steps: number;
  losses: number[];
  before: { loss: number; accuracy: number };
  after: { loss: number; accuracy: number };
  seconds: number;
  threads: number;
  splitCalls: number;
  artifactsRoundTrip: boolean;
}

interface TrainReply {
  info: { threads: number; simd: string; crossOriginIsolated: boolean; threadsNote?: string };
  workerIsolated: boolean;
  trainImages: number;
  loadSeconds: number;
  runs: Run[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.skipIf(missing !== null)('the engine in headless Chromium', () => {
  let served: Served;
  let browser: Browser;

  beforeAll(async () => {
    served = await serve({ publicDir: MNIST_DIR });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  it('trains the mlp in a Worker on two threads, cross-origin isolated, with nothing leaving the local server', async () => {
    const page = await browser.newPage();
    const watch: PageWatch = await watchPage(page, served.origin);
    await page.goto(`${served.origin}/test/browser-engine-page/index.html`);
    await page.waitForFunction(() => window.pageReady === true);
    expect(await page.evaluate(() => window.pageIsolated)).toBe(true);

    const reply = (await page.evaluate(() => window.runTask({ kind: 'train', threads: 2, steps: 220 }))) as TrainReply;
    const summary = reply.runs.map((r) =>
      `${r.optimizer}: ${r.steps} steps in ${r.seconds.toFixed(1)} s on ${r.threads} threads (${r.splitCalls} split calls), ` +
      `loss ${mean(r.losses.slice(0, 10)).toFixed(3)} -> ${mean(r.losses.slice(-10)).toFixed(3)}, test accuracy ${r.before.accuracy.toFixed(3)} -> ${r.after.accuracy.toFixed(3)}`,
    );
    console.log(`browser: ${reply.info.simd} SIMD, ${reply.info.threads} threads, MNIST fetched in ${reply.loadSeconds.toFixed(1)} s\n  ${summary.join('\n  ')}`);

    expect(reply.workerIsolated).toBe(true);
    expect(reply.info).toMatchObject({ threads: 2, crossOriginIsolated: true });
    expect(reply.info.threadsNote).toBeUndefined();
    expect(['relaxed', 'plain']).toContain(reply.info.simd);
    expect(reply.trainImages).toBe(128 * 220);
    for (const run of reply.runs) {
      expect(run.steps).toBe(220);
      expect(run.threads).toBe(2);
      // The kernel thread did part of the work: calls were split between the two threads.
      expect(run.splitCalls).toBeGreaterThan(100);
      expect(run.losses.every(Number.isFinite)).toBe(true);
      expect(mean(run.losses.slice(-20))).toBeLessThan(0.5 * mean(run.losses.slice(0, 20)));
      expect(run.after.loss).toBeLessThan(run.before.loss);
      expect(run.after.accuracy).toBeGreaterThan(0.85);
      expect(run.artifactsRoundTrip).toBe(true);
    }
    expect(watch.outside).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toBeGreaterThan(4);
    await page.close();
  });
});
