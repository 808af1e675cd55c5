// Mouse strokes that draw a real MNIST digit on the playground's canvas, scaled up from 28x28.
// The inked pixels (value >= threshold) of each row form runs; a stroke goes along a run, steps
// down to an overlapping run of the next row and back along it, zig-zagging down the digit
// without lifting the pen (few strokes, so few mouse events), as a pen filling the shape would.
import type { Page } from 'playwright-core';

/** A pen-down path through points in 28x28 pixel coordinates (pixel centres). */
export type Stroke = [number, number][];

interface Run {
  y: number;
  x0: number;
  x1: number;
  used: boolean;
}

/** The strokes for one image of 784 values in [0, 1]. */
export function digitStrokes(pixels: ArrayLike<number>, threshold = 0.5): Stroke[] {
  const rows: Run[][] = [];
  for (let y = 0; y < 28; y++) {
    const runs: Run[] = [];
    let start = -1;
    for (let x = 0; x <= 28; x++) {
      const on = x < 28 && pixels[y * 28 + x] >= threshold;
      if (on && start < 0) start = x;
      if (!on && start >= 0) {
        runs.push({ y, x0: start, x1: x - 1, used: false });
        start = -1;
      }
    }
    rows.push(runs);
  }
  const strokes: Stroke[] = [];
  for (const row of rows) {
    for (const first of row) {
      if (first.used) continue;
      first.used = true;
      const stroke: Stroke = [[first.x0 + 0.5, first.y + 0.5], [first.x1 + 0.5, first.y + 0.5]];
      let run = first;
      let rightward = true; // the pen is at the run's right end
      for (;;) {
        const next = rows[run.y + 1]?.find((r) => !r.used && r.x0 <= run.x1 && r.x1 >= run.x0);
        if (!next) break;
        next.used = true;
        const y = next.y + 0.5;
        stroke.push(rightward ? [next.x1 + 0.5, y] : [next.x0 + 0.5, y], rightward ? [next.x0 + 0.5, y] : [next.x1 + 0.5, y]);
        rightward = !rightward;
        run = next;
      }
      strokes.push(stroke);
    }
  }
  return strokes;
}

/** Draws the strokes with the mouse on the element of `testId` (a canvas with a 1px border), scaled from 28x28 to its size. */
export async function drawStrokes(page: Page, testId: string, strokes: readonly Stroke[]): Promise<void> {
  const box = (await page.getByTestId(testId).boundingBox())!;
  const size = box.width - 2;
  const at = ([x, y]: [number, number]): [number, number] => [box.x + 1 + (x * size) / 28, box.y + 1 + (y * size) / 28];
  for (const stroke of strokes) {
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const p of stroke.slice(1)) await page.mouse.move(...at(p));
    await page.mouse.up();
  }
}
