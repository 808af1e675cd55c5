// The playground (web/) in a real browser: Debian's headless Chromium driven by playwright-core,
// against the dev server `npm run playground` starts. The page must load cleanly and isolated,
// train on several threads, read digits drawn with the mouse, load a model trained in Node and
// give back a model that Node loads and that predicts the same.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAVE_CHROMIUM, launchChromium } from './browser/chromium.ts';
import { digitStrokes, drawStrokes } from './browser/strokes.ts';
import { MNIST_DIR } from './paths.ts';
import { useTempDirs } from './temp-dirs.ts';
import { startPlayground, type PlaygroundServer } from '../web/serve.ts';
import { Adam, loadMnist, loadModel, Tensor, type Sequential } from '../src/index.ts';
import { PRESETS } from '../src/cli/presets.ts';
import { decodePng, prepareDigit } from '../src/data/png.ts';
import { argmaxRows } from '../src/metrics.ts';

/**
 * PLAYGROUND_SCREENSHOT=1 writes the README's screenshot, docs/images/playground.png, after a run
 * of the cnn for 2 epochs (a minute more); otherwise the page trains the mlp for an epoch and the
 * screenshot goes to a temporary folder.
 */
const SCREENSHOT_FOR_README = !!process.env.PLAYGROUND_SCREENSHOT;
const README_SCREENSHOT = new URL('../docs/images/playground.png', import.meta.url);
const RUN = SCREENSHOT_FOR_README ? { model: 'cnn', epochs: 2, timeout: 400_000 } : { model: 'mlp', epochs: 1, timeout: 60_000 };

describe.skipIf(!HAVE_CHROMIUM || !MNIST_DIR)('the playground in Chromium', () => {
  const tempDir = useTempDirs('engine-playground-');
  let served: PlaygroundServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  /** 10 MNIST test digits, one per class, that the Node model reads right on their own. */
  let digits: { label: number; pixels: Float32Array }[] = [];
  let nodeModel: Sequential;
  let testImages: { images: Tensor; labels: Uint8Array };

  const testId = (id: string) => page.getByTestId(id);
  const text = async (id: string) => (await testId(id).textContent())?.trim() ?? '';
  const predictionReady = () =>
    page.waitForFunction(() => document.querySelector('[data-testid="prediction"]')?.getAttribute('data-state') === 'ready', null, { timeout: 10_000 });

  async function drawDigit(pixels: Float32Array): Promise<string> {
    await testId('clear').click();
    await predictionReady();
    await drawStrokes(page, 'draw', digitStrokes(pixels));
    await predictionReady();
    return text('prediction');
  }

  beforeAll(async () => {
    [served, browser] = await Promise.all([startPlayground({ port: 0, dataDir: MNIST_DIR, quiet: true, hmr: false }), launchChromium()]);
    const context = await browser.newContext({ viewport: { width: 1480, height: 1000 }, acceptDownloads: true });
    const origin = new URL(served.url).origin;
    context.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) foreignRequests.push(url);
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.server.close();
  });

  it('loads with no console errors and no request leaving the local server, cross-origin isolated, with more than one thread', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent?.startsWith('ready'), null, { timeout: 30_000 });
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(Number(await text('threads'))).toBeGreaterThan(1);
    expect(await page.locator('#isolation-note').isHidden()).toBe(true);
    expect(await text('prediction')).toBe('none');
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it(`trains the ${RUN.model} for ${RUN.epochs} epoch(s) on several threads: the live loss falls, and the run ends with the test accuracy and the confusion matrix`, async () => {
    await testId('model-select').selectOption(RUN.model);
    await testId('epochs').fill(String(RUN.epochs));
    await testId('train').click();
    expect(await testId('stop').isEnabled()).toBe(true);
    await page.waitForFunction(() => /test accuracy 0\.\d{4}/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: RUN.timeout });
    const status = await text('status');
    const accuracy = Number(/test accuracy (0\.\d{4})/.exec(status)![1]);
    expect(accuracy).toBeGreaterThan(0.9);
    const chart = page.locator('#loss-chart');
    const first = Number(await chart.getAttribute('data-first-loss'));
    const last = Number(await chart.getAttribute('data-last-loss'));
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(10);
    expect(last).toBeLessThan(first * 0.5);
    expect(Number(await text('threads'))).toBeGreaterThan(1);
    expect(await page.locator('#confusion svg .chart, #confusion svg g').count()).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  }, RUN.timeout + 10_000);

  it('prepares a drawn digit exactly as npm run predict prepares the canvas as a PNG, and a model downloaded from the page predicts the same in Node', async () => {
    // Node's model and digits, also used by the next test.
    const { train, test } = await loadMnist({ dataDir: MNIST_DIR, onProgress: () => {} });
    testImages = { images: Tensor.from(test.images.data.subarray(0, 300 * 784), [300, 28, 28, 1]), labels: test.labels.slice(0, 300) };
    nodeModel = PRESETS.mlp.build(7);
    nodeModel.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await nodeModel.fit(train.images, train.labels, { epochs: 1, batchSize: 128, shuffle: true, verbose: 0 });
    const predicted = argmaxRows(nodeModel.predict(testImages.images).data, 10);
    digits = Array.from({ length: 10 }, (_, label) => {
      const i = [...testImages.labels.keys()].find((k) => testImages.labels[k] === label && predicted[k] === label)!;
      return { label, pixels: testImages.images.data.slice(i * 784, (i + 1) * 784) };
    });

    const shown = await drawDigit(digits[3].pixels);
    expect(shown).toMatch(/^\d$/);
    // The canvas as a PNG, prepared by predict's code in Node, is the 28x28 the page shows.
    const png = await page.evaluate(() => (document.querySelector('[data-testid="draw"]') as HTMLCanvasElement).toDataURL('image/png'));
    const prepared = prepareDigit(decodePng(Buffer.from(png.split(',')[1], 'base64'), 'canvas.png'));
    expect(prepared.noDigit).toBeUndefined();
    const preview = await page.evaluate(() => {
      const c = document.getElementById('preview') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
    });
    const worst = Math.max(...preview.map((v, i) => Math.abs(v / 255 - prepared.input[i])));
    expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);

    // Download the model trained in the page, load it in Node, predict the same input.
    const dir = tempDir();
    for (const id of ['download-json', 'download-weights']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`#${id}`).click()]);
      await download.saveAs(join(dir, download.suggestedFilename()));
    }
    const pageProbabilities = JSON.parse((await page.locator('#bars').getAttribute('data-probabilities'))!) as number[];
    const downloaded = await loadModel(dir);
    const nodeProbabilities = Array.from(downloaded.predict(Tensor.from(prepared.input, [1, 28, 28, 1])).data);
    downloaded.dispose();
    expect(String(nodeProbabilities.indexOf(Math.max(...nodeProbabilities)))).toBe(shown);
    for (let d = 0; d < 10; d++) expect(nodeProbabilities[d]).toBeCloseTo(pageProbabilities[d], 4);
  });

  it('loads a model trained in Node through the model-file input and reads at least 9 of 10 digits drawn with the mouse', async () => {
    const dir = tempDir();
    await nodeModel.save(dir);
    nodeModel.dispose();
    await testId('model-file').setInputFiles([join(dir, 'model.json'), join(dir, 'weights.bin')]);
    await page.waitForFunction(() => document.getElementById('model-info')?.textContent?.includes('model.json + weights.bin'), null, { timeout: 10_000 });
    const read: string[] = [];
    for (const d of digits) read.push(await drawDigit(d.pixels));
    const right = read.filter((r, i) => r === String(digits[i].label)).length;
    expect(right, `read ${read.join(' ')} for 0 1 2 3 4 5 6 7 8 9`).toBeGreaterThanOrEqual(9);
    await testId('clear').click();
    await predictionReady();
    expect(await text('prediction')).toBe('none');
    await drawDigit(digits[8].pixels);

    const shot = SCREENSHOT_FOR_README ? README_SCREENSHOT.pathname : join(tempDir(), 'playground.png');
    mkdirSync(join(shot, '..'), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('says when threads are unavailable: served without the isolation headers, it runs on one thread', async () => {
    const plain = await browser.newPage();
    const errors: string[] = [];
    plain.on('console', (m) => {
      // Vite's dev client cannot open its reload socket from a page whose responses the test
      // rewrites (Chromium's local-network checks); that is the test's doing, not the page's.
      if (m.type() === 'error' && !/WebSocket connection to 'ws:|\[vite\] failed to connect to websocket/.test(m.text())) errors.push(m.text());
    });
    // The same server's responses, minus COOP and COEP.
    await plain.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await plain.goto(served.url);
    await plain.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent?.startsWith('ready'), null, { timeout: 30_000 });
    expect(await plain.evaluate(() => self.crossOriginIsolated)).toBe(false);
    expect(await plain.getByTestId('threads').textContent()).toBe('1');
    expect(await plain.locator('#isolation-note').isVisible()).toBe(true);
    expect(await plain.locator('#isolation-note').textContent()).toContain('Threads are unavailable');
    expect(errors).toEqual([]);
    await plain.close();
  });

  it('stops mid-epoch and still evaluates', async () => {
    await testId('model-select').selectOption('cnn');
    await testId('epochs').fill('1');
    await testId('train').click();
    await page.waitForFunction(() => /batch (\d{2,})\//.test(document.getElementById('progress-text')?.textContent ?? ''), null, { timeout: 30_000 });
    await testId('stop').click();
    await page.waitForFunction(() => /test accuracy 0\.\d{4}/.test(document.querySelector('[data-testid="status"]')?.textContent ?? ''), null, { timeout: 30_000 });
    expect(await text('status')).toContain('stopped during epoch 1');
    expect(await page.locator('#progress').evaluate((p) => (p as HTMLProgressElement).value)).toBeLessThan(0.5);
    expect(consoleErrors).toEqual([]);
  });
});
