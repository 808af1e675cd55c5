// Mouse strokes that draw a real MNIST digit on the playground's canvas: every run of inked
// pixels (value >= threshold) in a row of the 28x28 image becomes one horizontal drag, scaled up
// to the canvas. The page's round brush then fills the gaps between rows, as a pen would.
import type { Page } from 'playwright-core';

export interface Stroke {
  from: [number, number];
  to: [number, number];
}

/** The drags, in 28x28 pixel coordinates (pixel centres), for one image of 784 values in [0, 1]. */
export function digitStrokes(pixels: ArrayLike<number>, threshold = 0.5): Stroke[] {
  const strokes: Stroke[] = [];
  for (let y = 0; y < 28; y++) {
    let start = -1;
    for (let x = 0; x <= 28; x++) {
      const on = x < 28 && pixels[y * 28 + x] >= threshold;
      if (on && start < 0) start = x;
      if (!on && start >= 0) {
        strokes.push({ from: [start + 0.5, y + 0.5], to: [x - 0.5, y + 0.5] });
        start = -1;
      }
    }
  }
  return strokes;
}

/** Draws the strokes on the element of `testId` (a canvas), scaled from 28x28 to its size, with the mouse. */
export async function drawStrokes(page: Page, testId: string, strokes: readonly Stroke[]): Promise<void> {
  const canvas = page.getByTestId(testId);
  const box = (await canvas.boundingBox())!;
  // Inside the canvas's 1px border.
  const size = box.width - 2;
  const at = ([x, y]: [number, number]): [number, number] => [box.x + 1 + (x * size) / 28, box.y + 1 + (y * size) / 28];
  for (const s of strokes) {
    const [x0, y0] = at(s.from);
    const [x1, y1] = at(s.to);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x1, y1, { steps: Math.max(1, Math.round(Math.abs(x1 - x0) / 20)) });
    await page.mouse.up();
  }
}
