/**
 * Terminal progress for `fit`.
 *
 * On a TTY: one live line per epoch, redrawn with \r at most every `minIntervalMs`:
 *   Epoch 3/10 [=========>          ] 211/422  ETA 4s  loss 0.1234  acc 0.9634
 * and completed at the end of the epoch with the elapsed time and the validation metrics:
 *   Epoch 3/10 [====================] 422/422  12.3s  loss 0.1234  acc 0.9634  val_loss 0.0456  val_acc 0.9870
 * Not a TTY (a log file, CI): only that last line, one per epoch.
 *
 * Epochs and batches are 0-based, as `Sequential.fit` passes them (displayed 1-based).
 */

export interface ProgressBatchLogs {
  /** Loss of this batch (the bar shows the running mean over the epoch, weighted by `size`). */
  loss: number;
  accuracy?: number;
  /** Samples in the batch (weight of the running mean); 1 when absent. */
  size?: number;
}

export interface ProgressEpochLogs {
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Seconds the epoch took; measured by the bar when absent. */
  seconds?: number;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  epochs: number;
  stepsPerEpoch: number;
  /** Default process.stdout. */
  stream?: ProgressStream;
  /** Live bar or plain lines; default: stream.isTTY. */
  tty?: boolean;
  /** Characters between the brackets; shrunk to fit stream.columns. Default 30. */
  barWidth?: number;
  /** Minimum time between redraws of the live line. Default 100 ms. */
  minIntervalMs?: number;
  /** Clock in ms (for tests). Default performance.now. */
  now?: () => number;
}

/** "4s", "1m05s", "2h03m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function metric(name: string, v: number | undefined): string {
  return v === undefined ? '' : `  ${name} ${v.toFixed(4)}`;
}

export class ProgressBar {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly barWidth: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  private epoch = 0;
  private epochStart: number;
  private lastDraw = -Infinity;
  private lineOpen = false;
  private lossSum = 0;
  private accSum = 0;
  private accSeen = false;
  private weight = 0;

  constructor(options: ProgressOptions) {
    if (!(options.epochs > 0) || !(options.stepsPerEpoch > 0)) {
      throw new Error(`ProgressBar: epochs and stepsPerEpoch must be positive, got ${options.epochs} and ${options.stepsPerEpoch}`);
    }
    this.epochs = options.epochs;
    this.stepsPerEpoch = options.stepsPerEpoch;
    this.stream = options.stream ?? process.stdout;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.barWidth = options.barWidth ?? 30;
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.now = options.now ?? (() => performance.now());
    this.epochStart = this.now();
  }

  /** Marks the start of an epoch (optional: an epoch otherwise starts when the previous one ends). */
  onEpochBegin(epoch: number): void {
    this.resetEpoch(epoch);
  }

  /** After each batch (0-based epoch and batch). Draws the live line on a TTY, throttled. */
  onBatchEnd(epoch: number, batch: number, logs: ProgressBatchLogs): void {
    // An epoch that starts without onEpochBegin started when the previous one ended (or at construction).
    if (epoch !== this.epoch) this.resetEpoch(epoch, this.epochStart);
    const w = logs.size ?? 1;
    this.lossSum += logs.loss * w;
    if (logs.accuracy !== undefined) {
      this.accSum += logs.accuracy * w;
      this.accSeen = true;
    }
    this.weight += w;
    if (!this.tty) return;
    const t = this.now();
    const done = Math.min(batch + 1, this.stepsPerEpoch);
    if (t - this.lastDraw < this.minIntervalMs && done < this.stepsPerEpoch) return;
    this.lastDraw = t;
    const elapsed = (t - this.epochStart) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.stepsPerEpoch - done) : NaN;
    const loss = this.weight > 0 ? this.lossSum / this.weight : NaN;
    const acc = this.accSeen && this.weight > 0 ? this.accSum / this.weight : undefined;
    this.draw(done, `  ETA ${formatDuration(eta)}${metric('loss', loss)}${metric('acc', acc)}`, false);
  }

  /** At the end of each epoch (0-based): completes the line (TTY) or prints one (not a TTY). */
  onEpochEnd(epoch: number, logs: ProgressEpochLogs): void {
    const seconds = logs.seconds ?? (this.now() - this.epochStart) / 1000;
    const tail =
      `  ${seconds.toFixed(1)}s${metric('loss', logs.loss)}${metric('acc', logs.accuracy)}` +
      `${metric('val_loss', logs.valLoss)}${metric('val_acc', logs.valAccuracy)}`;
    if (this.tty) {
      this.draw(this.stepsPerEpoch, tail, true);
    } else {
      const steps = `${this.stepsPerEpoch}/${this.stepsPerEpoch}`;
      this.stream.write(`${this.label(epoch)}  ${steps}${tail}\n`);
    }
    this.resetEpoch(epoch + 1);
  }

  /** Ends a live line left open (e.g. training stopped mid-epoch), so later output starts on a new line. */
  end(): void {
    if (this.lineOpen) {
      this.stream.write('\n');
      this.lineOpen = false;
    }
  }

  /** Callbacks with the signatures of `Sequential.fit`'s `onBatchEnd(batch, logs)` and `onEpochEnd(epoch, logs)`. */
  callbacks(): {
    onBatchEnd: (batch: number, logs: ProgressBatchLogs) => void;
    onEpochEnd: (epoch: number, logs: ProgressEpochLogs) => void;
  } {
    return {
      onBatchEnd: (batch, logs) => this.onBatchEnd(this.epoch, batch, logs),
      onEpochEnd: (epoch, logs) => this.onEpochEnd(epoch, logs),
    };
  }

  private label(epoch: number): string {
    const width = String(this.epochs).length;
    return `Epoch ${String(epoch + 1).padStart(width)}/${this.epochs}`;
  }

  private resetEpoch(epoch: number, start = this.now()): void {
    this.epoch = epoch;
    this.epochStart = start;
    this.lastDraw = -Infinity;
    this.lossSum = 0;
    this.accSum = 0;
    this.accSeen = false;
    this.weight = 0;
  }

  private draw(done: number, tail: string, final: boolean): void {
    const total = this.stepsPerEpoch;
    const steps = `${String(done).padStart(String(total).length)}/${total}`;
    const head = `${this.label(this.epoch)} `;
    // The same bar width for the live and the final line: leave room for the longest tail
    // ("  12.3s  loss 0.1234  acc 0.9634  val_loss 0.0456  val_acc 0.9870" is 66 characters).
    const fixed = head.length + 2 + 1 + steps.length + Math.max(tail.length, 66);
    const columns = this.stream.columns ?? 0;
    let width = this.barWidth;
    if (columns > 0 && fixed + width >= columns) width = Math.max(10, columns - 1 - fixed);
    const filled = Math.min(width, Math.floor((width * done) / total));
    const bar =
      done >= total ? '='.repeat(width) : '='.repeat(filled) + (filled < width ? '>' : '') + ' '.repeat(Math.max(0, width - filled - 1));
    let line = `${head}[${bar}] ${steps}${tail}`;
    if (columns > 0 && line.length >= columns) line = line.slice(0, columns - 1);
    this.stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    this.lineOpen = !final;
  }
}
