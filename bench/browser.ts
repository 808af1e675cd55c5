// `npm run bench -- browser`: the `cnn` preset's training step (batch 128, Adam, real MNIST, two
// threads, relaxed SIMD when available) timed in headless Chromium and in Node in one run. The
// browser side runs in a module Worker of a page served cross-origin isolated by Vite's dev server
// (test/browser-engine-page), through src/browser.ts; the Node side in this process, through
// src/index.ts; both run bench/browser-step.ts. Rounds alternate the two, so a busy spell on this
// shared machine hits both; the medians of every timed pass are compared.
//   --rounds N (default 3); BENCH_BROWSER_FLAGS adds Chromium flags (e.g. --js-flags=--no-liftoff).
import type { BenchContext } from './index.ts';
import { MNIST_DIR } from './common.ts';
import { median, timeCnnSteps, type StepTiming } from './browser-step.ts';
import { browserMissing, launch, serve, watchPage } from '../test/browser-engine-helpers.ts';
import * as engine from '../src/index.ts';

const THREADS = 2;

interface BrowserReply {
  info: { threads: number; simd: string; crossOriginIsolated: boolean; threadsNote?: string };
  timing: StepTiming;
  userAgent: string;
}

export async function run(ctx: BenchContext): Promise<void> {
  const missing = browserMissing();
  if (missing) throw new Error(`the browser bench needs Chromium: ${missing}`);
  const rounds = ctx.quick ? 1 : ctx.rounds ?? 3;
  const steps = ctx.quick ? 5 : 40;
  const repeats = ctx.quick ? 1 : 3;
  const extraFlags = (process.env.BENCH_BROWSER_FLAGS ?? '').split(/\s+/).filter(Boolean);

  const { train } = await engine.loadMnist({ dataDir: MNIST_DIR, limitTrain: 128 * steps, limitTest: 1, onProgress: () => {} });
  const served = await serve({ publicDir: MNIST_DIR });
  const browser = await launch(extraFlags);
  const node: StepTiming[] = [];
  const chromium: BrowserReply[] = [];
  try {
    const page = await browser.newPage();
    const watch = await watchPage(page, served.origin);
    await page.goto(`${served.origin}/test/browser-engine-page/index.html`);
    await page.waitForFunction(() => window.pageReady === true);
    engine.setDefaultThreads(THREADS);
    for (let round = 0; round < rounds; round++) {
      const reply = (await page.evaluate((task) => window.runTask(task), { kind: 'bench', threads: THREADS, steps, repeats })) as BrowserReply;
      if (reply.info.threads !== THREADS) throw new Error(`the browser ran on ${reply.info.threads} thread(s): ${reply.info.threadsNote ?? ''}`);
      chromium.push(reply);
      const ours = await timeCnnSteps(engine, train.images, train.labels, { steps, repeats });
      node.push(ours);
      const b = median(reply.timing.msPerStep);
      const n = median(ours.msPerStep);
      console.log(`round ${round + 1}  Chromium ${b.toFixed(2)} ms/step (${reply.timing.simd}, ${reply.timing.threads} threads)  Node ${n.toFixed(2)} ms/step (${ours.simd}, ${ours.threads} threads)  ratio ${(b / n).toFixed(2)}`);
    }
    if (watch.errors.length) console.warn(`console errors in the page: ${watch.errors.join('; ')}`);
    await page.close();
  } finally {
    await browser.close();
    await served.close();
    engine.closeThreads();
  }
  const browserMs = median(chromium.flatMap((r) => r.timing.msPerStep));
  const nodeMs = median(node.flatMap((r) => r.msPerStep));
  const ratio = browserMs / nodeMs;
  const userAgent = chromium[0].userAgent;
  const chromiumVersion = /Chrome\/([\d.]+)/.exec(userAgent)?.[1] ?? userAgent;
  console.log(`\n| side | ms/step (median of ${rounds * repeats} passes of ${steps} steps) | images/s | SIMD | threads |`);
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| Chromium ${chromiumVersion} (Worker) | ${browserMs.toFixed(2)} | ${((128 * 1000) / browserMs).toFixed(0)} | ${chromium[0].timing.simd} | ${chromium[0].timing.threads} |`);
  console.log(`| Node ${process.version} | ${nodeMs.toFixed(2)} | ${((128 * 1000) / nodeMs).toFixed(0)} | ${node[0].simd} | ${node[0].threads} |`);
  console.log(`\nbrowser / Node: ${ratio.toFixed(2)}x (target: at most 1.25x)${extraFlags.length ? `; Chromium flags ${extraFlags.join(' ')}` : ''}`);
  const paths = ctx.save('browser', {
    preset: 'cnn',
    batchSize: 128,
    optimizer: 'Adam',
    steps,
    repeats,
    rounds,
    threads: THREADS,
    chromium: { version: chromiumVersion, flags: extraFlags, msPerStep: browserMs, passes: chromium.map((r) => r.timing.msPerStep), simd: chromium[0].timing.simd },
    node: { version: process.version, msPerStep: nodeMs, passes: node.map((r) => r.msPerStep), simd: node[0].simd },
    ratio,
  });
  if (paths.length) console.log(`saved ${paths.join(', ')}`);
}
