// model.summary(): the Keras table of layers, output shapes and parameter counts.
import type { Sequential } from './sequential.ts';

const WIDTHS = [34, 26, 10];

export function formatSummary(model: Sequential): string {
  const row = (cells: string[]) => cells.map((c, i) => ` ${c}`.padEnd(WIDTHS[i])).join('').trimEnd();
  const rule = (ch: string) => ch.repeat(WIDTHS.reduce((a, b) => a + b, 0));
  const count = (trainable: boolean) => model.params().filter((p) => (p.trainable !== false) === trainable).reduce((n, p) => n + p.size, 0);
  const total = model.countParams().toLocaleString('en-US');
  return [
    `Model: "${model.name}"`,
    rule('_'),
    row(['Layer (type)', 'Output Shape', 'Param #']),
    rule('='),
    ...model.layers.map((l) => row([`${l.name} (${l.className})`, `(None, ${l.outputShape.join(', ')})`, l.paramCount.toLocaleString('en-US')])),
    rule('='),
    `Total params: ${total}`,
    `Trainable params: ${count(true).toLocaleString('en-US')}`,
    `Non-trainable params: ${count(false).toLocaleString('en-US')}`,
    rule('_'),
  ].join('\n');
}
