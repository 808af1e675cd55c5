/**
 * Charts for the training report, as SVG `Figure`s: per-epoch line charts,
 * the confusion-matrix heat map and the accuracy-versus-reference bars.
 */
import { COLORS, el, esc, text, textWidth, type Figure } from './svg.ts';

// ---------------------------------------------------------------------------
// Scales and ticks

/** 1, 2 or 5 times a power of ten, the smallest such step >= `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return m * p;
}

/** Round tick values covering [min, max] with about `count` intervals; the first/last tick enclose the range. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const d = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= d;
    max += d;
  }
  const step = niceStep((max - min) / count);
  const start = Math.floor(min / step + 1e-9) * step;
  const end = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= end + step * 1e-6 && i < 1000; i++) {
    ticks.push(Number((start + i * step).toPrecision(12)));
  }
  return ticks;
}

/** Integer epoch ticks: every epoch up to 15, else 1 and the multiples of a round step (2, 5, 10, 20, 50, ...). */
export function epochTicks(n: number): number[] {
  if (n <= 1) return [1];
  if (n <= 15) return Array.from({ length: n }, (_, i) => i + 1);
  const raw = (n - 1) / 10;
  let step = 1;
  for (let p = 1; step < raw; p *= 10) step = [p, 2 * p, 5 * p, 10 * p].find((s) => s >= raw)!;
  const ticks = [1];
  for (let t = step; t <= n; t += step) if (t - 1 >= step * 0.6) ticks.push(t);
  return ticks;
}

function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Decimals needed to write multiples of `step` exactly (0.025 -> 3, 2.5 -> 1, 20 -> 0). */
export function decimalsFor(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d < 6; d++) {
    const v = step * 10 ** d;
    if (Math.abs(v - Math.round(v)) < 1e-6 * Math.max(1, v)) return d;
  }
  return 6;
}

export const percent = (v: number, digits = 2): string => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : '–');

// ---------------------------------------------------------------------------
// Line chart

export interface Series {
  label: string;
  /** One value per epoch (index 0 = epoch 1); non-finite values leave a gap. */
  values: readonly number[];
  color: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  name: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Format of y tick labels given the tick step (e.g. percentages). */
  yTickFormat?: (v: number, step: number) => string;
  /** How a single value is written (tooltips, lone-point labels); default 4 significant digits. */
  valueFormat?: (v: number) => string;
  /** Extend the y axis down (or up) to zero. */
  includeZero?: boolean;
  /** Hard bounds for the y axis (e.g. 0 and 1 for accuracy). */
  yFloor?: number;
  yCeil?: number;
  /** A horizontal reference line, e.g. the Keras reference accuracy. */
  reference?: { value: number; label: string; color?: string };
  width?: number;
  height?: number;
}

export function lineChart(o: LineChartOptions): Figure {
  const width = o.width ?? 520;
  const height = o.height ?? 340;
  const series = o.series.filter((s) => s.values.length > 0);
  const n = Math.max(1, ...series.map((s) => s.values.length));

  // y domain from the finite data (and the reference line), padded, then rounded out to ticks.
  const ys = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  if (o.reference && Number.isFinite(o.reference.value)) ys.push(o.reference.value);
  if (o.includeZero) ys.push(0);
  let lo = ys.length ? Math.min(...ys) : 0;
  let hi = ys.length ? Math.max(...ys) : 1;
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 0.5;
  lo -= pad;
  hi += pad;
  if (o.yFloor !== undefined) lo = Math.max(lo, o.yFloor);
  if (o.yCeil !== undefined) hi = Math.min(hi, o.yCeil);
  let ticks = niceTicks(lo, hi, 5);
  if (o.yFloor !== undefined) ticks = ticks.filter((t) => t >= o.yFloor! - 1e-12);
  if (o.yCeil !== undefined) ticks = ticks.filter((t) => t <= o.yCeil! + 1e-12);
  if (ticks.length < 2) ticks = niceTicks(lo, hi, 5);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const fmtY = o.yTickFormat ?? ((v: number, s: number) => v.toFixed(decimalsFor(s)));
  const fmtV = o.valueFormat ?? ((v: number) => v.toPrecision(4));
  const yLabels = ticks.map((t) => fmtY(t, step));

  // Layout.
  const tickFont = 12;
  const labelWidth = Math.max(...yLabels.map((l) => textWidth(l, tickFont)));
  const left = Math.ceil(labelWidth) + 44;
  const top = 58;
  const right = 24;
  const bottom = 56;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const xPad = n === 1 ? 0.75 : Math.max(0.3, (n - 1) * 0.04);
  const sx = linear(1 - xPad, n + xPad, left, left + pw);
  const sy = linear(y0, y1, top + ph, top);

  const parts: string[] = [];
  parts.push(text(16, 26, o.title, { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));

  // Grid and y ticks.
  ticks.forEach((t, i) => {
    const y = sy(t);
    parts.push(el('line', { x1: left, x2: left + pw, y1: y, y2: y, stroke: COLORS.grid, 'stroke-width': 1 }));
    parts.push(text(left - 8, y + 4, yLabels[i], { 'font-size': tickFont, 'text-anchor': 'end', fill: COLORS.muted }));
  });
  // x ticks.
  for (const t of epochTicks(n)) {
    const x = sx(t);
    parts.push(el('line', { x1: x, x2: x, y1: top + ph, y2: top + ph + 5, stroke: COLORS.axis, 'stroke-width': 1 }));
    parts.push(text(x, top + ph + 19, String(t), { 'font-size': tickFont, 'text-anchor': 'middle', fill: COLORS.muted }));
  }
  // Axes.
  parts.push(el('line', { x1: left, x2: left, y1: top, y2: top + ph, stroke: COLORS.axis, 'stroke-width': 1 }));
  parts.push(el('line', { x1: left, x2: left + pw, y1: top + ph, y2: top + ph, stroke: COLORS.axis, 'stroke-width': 1 }));
  // Axis titles.
  parts.push(text(left + pw / 2, height - 12, o.xLabel, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text }));
  const ytx = 16;
  const yty = top + ph / 2;
  parts.push(
    text(ytx, yty, o.yLabel, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, transform: `rotate(-90 ${ytx} ${yty})` }),
  );

  // Screen points of the series, to keep labels off the curves.
  const curve: [number, number][] = [];
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) {
      const a = s.values[i];
      const b = s.values[i + 1];
      if (!Number.isFinite(a)) continue;
      const steps = Number.isFinite(b) ? 24 : 1;
      for (let k = 0; k < steps; k++) {
        const u = k / steps;
        curve.push([sx(i + 1 + u), sy(a + ((Number.isFinite(b) ? b : a) - a) * u)]);
      }
    }
  }
  const clear = (x0: number, x1: number, y0: number, y1: number) =>
    !curve.some(([x, y]) => x >= x0 - 4 && x <= x1 + 4 && y >= y0 - 4 && y <= y1 + 4);

  // Reference line, its label put where no curve runs (drawn after the curves).
  let refLabel = '';
  if (o.reference && Number.isFinite(o.reference.value) && o.reference.value >= y0 && o.reference.value <= y1) {
    const y = sy(o.reference.value);
    const color = o.reference.color ?? COLORS.reference;
    const fs = 11;
    const w = textWidth(o.reference.label, fs);
    parts.push(el('line', { x1: left, x2: left + pw, y1: y, y2: y, stroke: color, 'stroke-width': 1.2, 'stroke-dasharray': '2 3' }));
    const candidates = [
      { x: left + pw - 6, anchor: 'end', base: y - 5 },
      { x: left + 6, anchor: 'start', base: y - 5 },
      { x: left + pw - 6, anchor: 'end', base: y + 14 },
      { x: left + 6, anchor: 'start', base: y + 14 },
    ].filter((c) => c.base - fs >= top - 2 && c.base + 3 <= top + ph);
    const pick =
      candidates.find((c) => {
        const x0 = c.anchor === 'end' ? c.x - w : c.x;
        return clear(x0, x0 + w, c.base - fs, c.base + 3);
      }) ??
      candidates[0] ?? { x: left + pw - 6, anchor: 'end', base: y - 5 };
    refLabel = (
      text(pick.x, pick.base, o.reference.label, {
        'font-size': fs,
        'text-anchor': pick.anchor,
        fill: color,
        // A white halo keeps the label readable if a curve still crosses it.
        stroke: '#ffffff',
        'stroke-width': 3,
        'stroke-linejoin': 'round',
        'paint-order': 'stroke',
      })
    );
  }

  // Series: polyline segments between finite points, then markers.
  const showMarkers = n <= 40;
  const pointLabels: { x: number; y: number; label: string; color: string }[] = [];
  for (const s of series) {
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        parts.push(
          el('polyline', {
            points: run.join(' '),
            fill: 'none',
            stroke: s.color,
            'stroke-width': 2.2,
            'stroke-linejoin': 'round',
            'stroke-linecap': 'round',
            'stroke-dasharray': s.dashed ? '7 4' : undefined,
            class: 'series-line',
          }),
        );
      }
      run = [];
    };
    s.values.forEach((v, i) => {
      if (Number.isFinite(v)) run.push(`${sx(i + 1).toFixed(2)},${sy(v).toFixed(2)}`);
      else flush();
    });
    flush();
    // Markers always when a point has no neighbour (e.g. a single epoch), else when there are few epochs.
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const isolated = !Number.isFinite(s.values[i - 1] ?? NaN) && !Number.isFinite(s.values[i + 1] ?? NaN);
      if (!showMarkers && !isolated) return;
      parts.push(
        el(
          'circle',
          { cx: sx(i + 1), cy: sy(v), r: 3.6, fill: s.color, stroke: '#fff', 'stroke-width': 1.2, class: 'series-point' },
          el('title', {}, esc(`${s.label}, epoch ${i + 1}: ${fmtV(v)}`)),
        ),
      );
      // A lone point (e.g. after one epoch) gets its value written next to it.
      if (isolated) pointLabels.push({ x: sx(i + 1) + 9, y: sy(v) + 4, label: fmtV(v), color: s.color });
    });
  }

  // Lone-point labels, nudged apart vertically so that they never overlap.
  pointLabels.sort((a, b) => a.x - b.x || a.y - b.y);
  for (let i = 1; i < pointLabels.length; i++) {
    const a = pointLabels[i - 1];
    const b = pointLabels[i];
    if (Math.abs(b.x - a.x) < 80 && b.y - a.y < 14) b.y = a.y + 14;
  }
  for (const p of pointLabels) {
    parts.push(
      text(p.x, p.y, p.label, {
        'font-size': 11,
        fill: p.color,
        stroke: '#ffffff',
        'stroke-width': 3,
        'stroke-linejoin': 'round',
        'paint-order': 'stroke',
        class: 'point-label',
      }),
    );
  }
  parts.push(refLabel);

  // Legend, top right above the plot.
  const legendFont = 12;
  let lx = left + pw;
  const ly = 44;
  const items = [...series].reverse();
  for (const s of items) {
    const w = textWidth(s.label, legendFont);
    lx -= w;
    parts.push(text(lx, ly + 4, s.label, { 'font-size': legendFont, fill: COLORS.text }));
    lx -= 30;
    parts.push(
      el('line', { x1: lx, x2: lx + 22, y1: ly, y2: ly, stroke: s.color, 'stroke-width': 2.2, 'stroke-dasharray': s.dashed ? '7 4' : undefined }),
    );
    parts.push(el('circle', { cx: lx + 11, cy: ly, r: 3.6, fill: s.color, stroke: '#fff', 'stroke-width': 1.2 }));
    lx -= 18;
  }

  const alt = `${o.title}: ${series.map((s) => s.label).join(' and ')} over ${n} epoch${n === 1 ? '' : 's'}`;
  return { name: o.name, alt, width, height, body: `<g class="chart line-chart">${parts.join('')}</g>` };
}

// ---------------------------------------------------------------------------
// Confusion matrix heat map

type RGB = [number, number, number];

function hex(c: RGB): string {
  return '#' + c.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('');
}
function mix(a: RGB, b: RGB, t: number): RGB {
  const u = Math.max(0, Math.min(1, t));
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}
function luminance(c: RGB): number {
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}

export interface ConfusionOptions {
  name?: string;
  title?: string;
  labels?: string[];
}

/**
 * Heat map with counts in the cells. Rows are true classes, columns predicted.
 * Diagonal cells are blue, shaded by the row's recall; off-diagonal cells are
 * red, shaded by sqrt(count / largest off-diagonal count) so that rare
 * confusions stay visible next to thousands of correct answers. A last column
 * gives each row's recall.
 */
export function confusionHeatmap(matrix: number[][], o: ConfusionOptions = {}): Figure {
  const k = matrix.length;
  const labels = o.labels ?? Array.from({ length: k }, (_, i) => String(i));
  const rowTotals = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  let maxOff = 0;
  let maxCount = 0;
  matrix.forEach((r, i) =>
    r.forEach((v, j) => {
      if (i !== j) maxOff = Math.max(maxOff, v);
      maxCount = Math.max(maxCount, v);
    }),
  );
  const countFont = maxCount >= 10000 ? 10 : maxCount >= 1000 ? 11.5 : 12.5;
  const cell = k <= 10 ? 46 : Math.max(18, Math.floor(460 / k));
  const ox = 84;
  const oy = 52;
  const gridW = cell * k;
  const recallW = 70;
  const width = ox + gridW + recallW + 16;
  const height = oy + gridW + 60;

  const blue0: RGB = [239, 246, 255];
  const blue1: RGB = [29, 78, 216];
  const red0: RGB = [254, 242, 242];
  const red1: RGB = [220, 38, 38];
  const empty: RGB = [248, 250, 252];

  const parts: string[] = [];
  parts.push(text(16, 26, o.title ?? 'Confusion matrix', { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));

  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i][j] ?? 0;
      let c: RGB;
      if (v === 0) c = empty;
      else if (i === j) c = mix(blue0, blue1, 0.15 + 0.85 * (rowTotals[i] ? v / rowTotals[i] : 0));
      else c = mix(red0, red1, 0.15 + 0.85 * Math.sqrt(maxOff ? v / maxOff : 0));
      const x = ox + j * cell;
      const y = oy + i * cell;
      parts.push(
        el(
          'rect',
          {
            x,
            y,
            width: cell,
            height: cell,
            fill: hex(c),
            stroke: '#ffffff',
            'stroke-width': 1,
            class: 'cm-cell',
            'data-true': i,
            'data-pred': j,
            'data-count': v,
          },
          el('title', {}, esc(`true ${labels[i]}, predicted ${labels[j]}: ${v}`)),
        ),
      );
      if (v !== 0) {
        parts.push(
          text(x + cell / 2, y + cell / 2 + countFont * 0.36, String(v), {
            'font-size': countFont,
            'text-anchor': 'middle',
            fill: luminance(c) < 0.55 ? '#ffffff' : COLORS.text,
            'font-weight': i === j ? 'bold' : undefined,
            class: 'cm-count',
          }),
        );
      }
    }
    // Row label and recall.
    const cy = oy + i * cell + cell / 2 + 4.5;
    parts.push(text(ox - 10, cy, labels[i], { 'font-size': 13, 'text-anchor': 'end', fill: COLORS.text }));
    const recall = rowTotals[i] ? (matrix[i][i] ?? 0) / rowTotals[i] : NaN;
    parts.push(
      text(ox + gridW + 10, cy, Number.isFinite(recall) ? percent(recall, 1) : '–', { 'font-size': 12, fill: COLORS.muted }),
    );
  }
  for (let j = 0; j < k; j++) {
    parts.push(text(ox + j * cell + cell / 2, oy - 8, labels[j], { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text }));
  }
  parts.push(el('rect', { x: ox, y: oy, width: gridW, height: gridW, fill: 'none', stroke: COLORS.axis, 'stroke-width': 1 }));
  parts.push(text(ox + gridW + 10, oy - 8, 'recall', { 'font-size': 12, fill: COLORS.muted }));
  // Axis titles: predicted along the bottom, true down the left.
  parts.push(text(ox + gridW / 2, oy + gridW + 26, 'Predicted digit', { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, 'font-weight': 'bold' }));
  const tx = 30;
  const ty = oy + gridW / 2;
  parts.push(
    text(tx, ty, 'True digit', { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, 'font-weight': 'bold', transform: `rotate(-90 ${tx} ${ty})` }),
  );
  // Colour key.
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const keyY = oy + gridW + 44;
  parts.push(el('rect', { x: ox, y: keyY - 9, width: 12, height: 12, fill: hex(mix(blue0, blue1, 0.8)) }));
  parts.push(text(ox + 18, keyY + 1, 'correct (shade = recall)', { 'font-size': 11, fill: COLORS.muted }));
  parts.push(el('rect', { x: ox + 190, y: keyY - 9, width: 12, height: 12, fill: hex(mix(red0, red1, 0.8)) }));
  parts.push(text(ox + 208, keyY + 1, 'mistakes (shade = count)', { 'font-size': 11, fill: COLORS.muted }));
  parts.push(text(ox + gridW, keyY + 1, `${total.toLocaleString('en-US')} images`, { 'font-size': 11, 'text-anchor': 'end', fill: COLORS.muted }));

  return {
    name: o.name ?? 'confusion',
    alt: `Confusion matrix of ${total} test images: true digits in rows, predicted digits in columns`,
    width,
    height,
    body: `<g class="chart confusion">${parts.join('')}</g>`,
  };
}

// ---------------------------------------------------------------------------
// Accuracy versus reference

export interface ComparisonOptions {
  name?: string;
  modelName: string;
  accuracy: number;
  reference: number;
  referenceLabel?: string;
}

/** Two horizontal bars (this model, the reference) on a shared accuracy axis, with the difference. */
export function comparisonBars(o: ComparisonOptions): Figure {
  const width = 600;
  const height = 172;
  const refLabel = o.referenceLabel ?? 'Keras MLP reference';
  const acc = Number.isFinite(o.accuracy) ? o.accuracy : 0;
  const minV = Math.min(acc, o.reference);
  const pad = Math.max(0.01, (1 - minV) * 0.25);
  let ticks = niceTicks(Math.max(0, minV - pad), 1, 5).filter((t) => t >= 0 && t <= 1);
  if (ticks.length < 2) ticks = [0, 0.5, 1];
  const d0 = ticks[0];
  const step = ticks[1] - ticks[0];
  const left = 190;
  const right = 90;
  const top = 46;
  const barH = 26;
  const gap = 14;
  const pw = width - left - right;
  const sx = linear(d0, 1, left, left + pw);
  const rows = [
    { label: `This model (${o.modelName})`, value: acc, color: COLORS.train },
    { label: refLabel, value: o.reference, color: COLORS.reference },
  ];
  const diff = (acc - o.reference) * 100;
  const diffText = `${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(2)} percentage points`;

  const parts: string[] = [];
  parts.push(text(16, 26, 'Test accuracy vs reference', { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));
  parts.push(
    text(width - 16, 26, diffText, {
      'font-size': 13,
      'text-anchor': 'end',
      'font-weight': 'bold',
      fill: diff >= 0 ? COLORS.right : COLORS.wrong,
      class: 'diff',
    }),
  );
  const axisY = top + 2 * barH + gap + 10;
  for (const t of ticks) {
    const x = sx(t);
    parts.push(el('line', { x1: x, x2: x, y1: top - 4, y2: axisY, stroke: COLORS.grid, 'stroke-width': 1 }));
    parts.push(text(x, axisY + 16, `${(t * 100).toFixed(decimalsFor(step * 100))}%`, { 'font-size': 11, 'text-anchor': 'middle', fill: COLORS.muted }));
  }
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    parts.push(text(left - 10, y + barH / 2 + 4.5, r.label, { 'font-size': 13, 'text-anchor': 'end', fill: COLORS.text }));
    const x1 = sx(Math.max(d0, Math.min(1, r.value)));
    parts.push(el('rect', { x: left, y, width: Math.max(1, x1 - left), height: barH, rx: 3, fill: r.color }));
    parts.push(text(x1 + 8, y + barH / 2 + 4.5, percent(r.value), { 'font-size': 13, 'font-weight': 'bold', fill: COLORS.text }));
  });
  parts.push(el('line', { x1: left, x2: left + pw, y1: axisY, y2: axisY, stroke: COLORS.axis, 'stroke-width': 1 }));
  parts.push(
    text(left + pw / 2, height - 10, d0 > 0 ? `test accuracy (axis starts at ${percent(d0, 0)})` : 'test accuracy', {
      'font-size': 12,
      'text-anchor': 'middle',
      fill: COLORS.muted,
    }),
  );
  return {
    name: o.name ?? 'comparison',
    alt: `Test accuracy ${percent(acc)} versus ${refLabel} ${percent(o.reference)} (${diffText})`,
    width,
    height,
    body: `<g class="chart comparison">${parts.join('')}</g>`,
  };
}
