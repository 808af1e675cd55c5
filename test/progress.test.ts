import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressBar } from '../src/progress.ts';

describe('ProgressBar (cli/progress)', () => {
  function capture(isTTY: boolean) {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s), isTTY, columns: 120 } };
  }

  it('draws a live throttled line on a TTY and completes it at the end of the epoch', () => {
    const { out, stream } = capture(true);
    let t = 0;
    const bar = new ProgressBar({ epochs: 10, stepsPerEpoch: 422, stream, now: () => t });
    for (let b = 0; b < 422; b++) {
      t += 10;
      bar.onBatchEnd(2, b, { loss: 0.2, accuracy: 0.9, size: 128 });
    }
    // 4.22 s of batches at >= 100 ms apart: about 43 redraws, not 422.
    expect(out.length).toBeGreaterThan(30);
    expect(out.length).toBeLessThan(60);
    expect(out[0]).toMatch(/^\rEpoch  3\/10 \[>\s+\]   1\/422  ETA 4s  loss 0\.2000  acc 0\.9000\x1b\[K$/);
    expect(out.some((s) => /\[=+>\s+\] 211\/422/.test(s) || /\[=+>\s+\] 2\d\d\/422  ETA 2s/.test(s))).toBe(true);
    bar.onEpochEnd(2, { loss: 0.1234, accuracy: 0.9634, valLoss: 0.0456, valAccuracy: 0.987, seconds: 12.34 });
    expect(out.at(-1)).toBe(
      '\rEpoch  3/10 [==============================] 422/422  12.3s  loss 0.1234  acc 0.9634  val_loss 0.0456  val_acc 0.9870\x1b[K\n',
    );
  });

  it('prints one plain line per epoch when not a TTY', () => {
    const { out, stream } = capture(false);
    const bar = new ProgressBar({ epochs: 2, stepsPerEpoch: 3, stream });
    const cb = bar.callbacks();
    for (let e = 0; e < 2; e++) {
      for (let b = 0; b < 3; b++) cb.onBatchEnd(b, { loss: 1, accuracy: 0.5 });
      cb.onEpochEnd(e, { loss: 0.5, accuracy: 0.75, seconds: 1 });
    }
    expect(out).toEqual([
      'Epoch 1/2  3/3  1.0s  loss 0.5000  acc 0.7500\n',
      'Epoch 2/2  3/3  1.0s  loss 0.5000  acc 0.7500\n',
    ]);
  });

  it('shows the running mean of the batch losses, weighted by batch size', () => {
    const { out, stream } = capture(true);
    const bar = new ProgressBar({ epochs: 1, stepsPerEpoch: 3, stream, minIntervalMs: 0, now: () => 0 });
    bar.onBatchEnd(0, 0, { loss: 1, size: 3 });
    bar.onBatchEnd(0, 1, { loss: 0, size: 1 });
    expect(out.at(-1)).toContain('loss 0.7500');
    bar.end();
    expect(out.at(-1)).toBe('\n');
  });

  it('formats durations', () => {
    expect([formatDuration(4.4), formatDuration(65), formatDuration(7380), formatDuration(NaN)]).toEqual([
      '4s',
      '1m05s',
      '2h03m',
      '?',
    ]);
  });
});
