/**
 * Charts for the training report, as SVG `Figure`s: per-epoch line charts,
 * the confusion-matrix heat map and the accuracy-versus-reference bars.
 */
import { COLORS, el, esc, num, text, textWidth, type Figure } from './svg.ts';

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

/**
 * Integer epoch ticks: every epoch up to 20; beyond, 1, the multiples of a round step (2, 5, 10,
 * 20, 50, ...) giving at most 10 intervals, and always the last epoch (which replaces a multiple
 * too close to it to be labelled apart).
 */
export function epochTicks(n: number): number[] {
  if (n <= 1) return [1];
  if (n <= 20) return Array.from({ length: n }, (_, i) => i + 1);
  let step = 2;
  for (let p = 1; n / step > 10; p *= 10) step = [2 * p, 5 * p, 10 * p].find((s) => n / s <= 10) ?? 10 * p;
  const ticks = [1];
  for (let t = step; t < n; t += step) ticks.push(t);
  if (n - ticks[ticks.length - 1] < 0.4 * step && ticks.length > 1) ticks.pop();
  ticks.push(n);
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
  /**
   * One value per epoch (index 0 = epoch 1), or `pointsPerEpoch` values per epoch for a live
   * curve; non-finite values leave a gap.
   */
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
  /** A note printed under the chart, wrapped to its width. */
  footnote?: string;
  width?: number;
  height?: number;
  /**
   * Values per epoch: 1 (default) for per-epoch charts; more for a curve sampled within epochs
   * (the playground's live loss), value i then sits at epoch (i + 1) / pointsPerEpoch.
   */
  pointsPerEpoch?: number;
  /** The x axis spans this many epochs even before the values reach them (a run in progress). */
  epochs?: number;
}

/** Splits `s` into lines no wider than `width` at `fontSize`. */
export function wrapText(s: string, width: number, fontSize: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, fontSize) > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function lineChart(o: LineChartOptions): Figure {
  const width = o.width ?? 520;
  const footFont = 11;
  const footLines = o.footnote ? wrapText(o.footnote, width - 32, footFont) : [];
  const plotHeight = o.height ?? 340;
  const height = plotHeight + (footLines.length ? footLines.length * 15 + 8 : 0);
  const series = o.series.filter((s) => s.values.length > 0);
  const perEpoch = Math.max(1, o.pointsPerEpoch ?? 1);
  const sampled = perEpoch > 1;
  const points = Math.max(1, ...series.map((s) => s.values.length));
  // Epochs on the x axis; value i sits at epoch xOf(i).
  const n = Math.max(o.epochs ?? 1, Math.ceil(points / perEpoch));
  const xOf = (i: number) => (i + 1) / perEpoch;

  // y domain from the finite data only (a reference line outside it is named, not drawn), padded,
  // then rounded out to ticks.
  const ys = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
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
  const referenceInLegend = !!o.reference && Number.isFinite(o.reference.value);
  const top = referenceInLegend ? 76 : 58;
  // A live curve's last point sits at the right edge: room for the value written beside it.
  const right = sampled ? 52 : 24;
  const bottom = 56;
  const pw = width - left - right;
  const ph = plotHeight - top - bottom;
  const xPad = sampled ? n * 0.02 : n === 1 ? 0.75 : Math.max(0.3, (n - 1) * 0.04);
  const sx = linear((sampled ? 0 : 1) - xPad, n + xPad, left, left + pw);
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
  for (const t of sampled ? [0, ...epochTicks(n)] : epochTicks(n)) {
    const x = sx(t);
    parts.push(el('line', { x1: x, x2: x, y1: top + ph, y2: top + ph + 5, stroke: COLORS.axis, 'stroke-width': 1 }));
    parts.push(text(x, top + ph + 19, String(t), { 'font-size': tickFont, 'text-anchor': 'middle', fill: COLORS.muted }));
  }
  // Axes.
  parts.push(el('line', { x1: left, x2: left, y1: top, y2: top + ph, stroke: COLORS.axis, 'stroke-width': 1 }));
  parts.push(el('line', { x1: left, x2: left + pw, y1: top + ph, y2: top + ph, stroke: COLORS.axis, 'stroke-width': 1 }));
  // Axis titles.
  parts.push(text(left + pw / 2, plotHeight - 12, o.xLabel, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text }));
  const ytx = 16;
  const yty = top + ph / 2;
  parts.push(
    text(ytx, yty, o.yLabel, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, transform: `rotate(-90 ${ytx} ${yty})` }),
  );

  // Reference line, named in the legend (a label on the plot would cover the curves near it).
  const refInside = !!o.reference && Number.isFinite(o.reference.value) && o.reference.value >= y0 && o.reference.value <= y1;
  if (o.reference && refInside) {
    const y = sy(o.reference.value);
    parts.push(el('line', { x1: left, x2: left + pw, y1: y, y2: y, stroke: o.reference.color ?? COLORS.reference, 'stroke-width': 1.2, 'stroke-dasharray': '2 3' }));
  }

  // Series: polyline segments between finite points, then markers.
  const showMarkers = !sampled && n <= 40;
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
      if (Number.isFinite(v)) run.push(`${sx(xOf(i)).toFixed(2)},${sy(v).toFixed(2)}`);
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
          { cx: sx(xOf(i)), cy: sy(v), r: 3.6, fill: s.color, stroke: '#fff', 'stroke-width': 1.2, class: 'series-point' },
          el('title', {}, esc(`${s.label}, epoch ${num(xOf(i))}: ${fmtV(v)}`)),
        ),
      );
      // A lone point (e.g. after one epoch) gets its value written next to it.
      if (isolated) pointLabels.push({ x: sx(xOf(i)) + 9, y: sy(v) + 4, label: fmtV(v), color: s.color });
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
  footLines.forEach((line, i) => {
    parts.push(text(16, plotHeight + 10 + i * 15, line, { 'font-size': footFont, fill: COLORS.muted, class: 'footnote' }));
  });

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
  if (o.reference && referenceInLegend) {
    // Off the axis, the reference is named with the direction it lies in.
    const above = o.reference.value > y1;
    const label = refInside ? o.reference.label : `${above ? '↑' : '↓'} ${o.reference.label} (${above ? 'above' : 'below'} this axis)`;
    const w = textWidth(label, legendFont);
    const rx = left + pw - w;
    parts.push(text(rx, ly + 22, label, { 'font-size': legendFont, fill: refInside ? COLORS.text : o.reference.color ?? COLORS.reference, class: refInside ? undefined : 'reference-off-axis' }));
    if (refInside) {
      parts.push(el('line', { x1: rx - 30, x2: rx - 8, y1: ly + 18, y2: ly + 18, stroke: o.reference.color ?? COLORS.reference, 'stroke-width': 1.6, 'stroke-dasharray': '2 3' }));
    }
  }

  const alt = `${o.title}: ${series.map((s) => s.label).join(' and ')} over ${n} epoch${n === 1 ? '' : 's'}`;
  return { name: o.name, alt, width, height, body: `<g class="chart line-chart">${parts.join('')}</g>` };
}

// ---------------------------------------------------------------------------
// Colour maps and colour bars

type RGB = [number, number, number];

function hex(c: RGB): string {
  return '#' + c.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('');
}
function luminance(c: RGB): number {
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}
function fromHex(h: string): RGB {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as RGB;
}

/** A colour map: t in [0, 1] to a colour, by linear interpolation between evenly spaced stops. */
function colorMap(stops: readonly string[]): (t: number) => RGB {
  const rgb = stops.map(fromHex);
  return (t) => {
    const u = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (rgb.length - 1);
    const i = Math.min(rgb.length - 2, Math.floor(u));
    const f = u - i;
    return rgb[i].map((v, c) => v + (rgb[i + 1][c] - v) * f) as RGB;
  };
}

/** ColorBrewer "Blues" (Matplotlib's Blues): sequential, white to dark blue. */
export const blues = colorMap(['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b']);
/** ColorBrewer "RdBu" reversed (Matplotlib's RdBu_r): diverging, blue negative, white zero, red positive. */
export const redBlue = colorMap(['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f']);

export function cssColor(c: RGB): string {
  return hex(c);
}

/** Text colour readable on `c`. */
export function inkOn(c: RGB): string {
  return luminance(c) < 0.55 ? '#ffffff' : COLORS.text;
}

export interface ColorBarOptions {
  x: number;
  y: number;
  /** Length along the bar. */
  length: number;
  /** Thickness. */
  thickness?: number;
  /** 'vertical' (low at the bottom) or 'horizontal' (low at the left). */
  orientation?: 'vertical' | 'horizontal';
  /** The value range the colours span. */
  min: number;
  max: number;
  /** t in [0, 1] to colour. */
  map: (t: number) => RGB;
  /** Tick values (inside [min, max]) and how they are written. */
  ticks: number[];
  format: (v: number) => string;
  title?: string;
}

/** A colour bar with numbered ticks, drawn as thin bands (no gradient ids, so figures can share a page). */
export function colorBar(o: ColorBarOptions): string {
  const thick = o.thickness ?? 14;
  const vertical = (o.orientation ?? 'vertical') === 'vertical';
  const bands = 64;
  const parts: string[] = [];
  const pos = (v: number) => (o.max === o.min ? 0 : ((v - o.min) / (o.max - o.min)) * o.length);
  for (let i = 0; i < bands; i++) {
    const c = hex(o.map((i + 0.5) / bands));
    const a = (i * o.length) / bands;
    const len = o.length / bands + 0.5; // overlap a little: no hairline gaps between bands
    parts.push(
      vertical
        ? el('rect', { x: o.x, y: o.y + o.length - a - len, width: thick, height: len, fill: c })
        : el('rect', { x: o.x + a, y: o.y, width: len, height: thick, fill: c }),
    );
  }
  parts.push(
    el('rect', { x: o.x, y: o.y, width: vertical ? thick : o.length, height: vertical ? o.length : thick, fill: 'none', stroke: COLORS.axis, 'stroke-width': 1 }),
  );
  for (const t of o.ticks) {
    const d = pos(t);
    if (vertical) {
      const y = o.y + o.length - d;
      parts.push(el('line', { x1: o.x + thick, x2: o.x + thick + 4, y1: y, y2: y, stroke: COLORS.axis, 'stroke-width': 1 }));
      parts.push(text(o.x + thick + 7, y + 4, o.format(t), { 'font-size': 11, fill: COLORS.muted, class: 'colorbar-tick' }));
    } else {
      const x = o.x + d;
      parts.push(el('line', { x1: x, x2: x, y1: o.y + thick, y2: o.y + thick + 4, stroke: COLORS.axis, 'stroke-width': 1 }));
      parts.push(text(x, o.y + thick + 16, o.format(t), { 'font-size': 11, 'text-anchor': 'middle', fill: COLORS.muted, class: 'colorbar-tick' }));
    }
  }
  if (o.title) {
    if (vertical) {
      const tx = o.x + thick + 48;
      const ty = o.y + o.length / 2;
      parts.push(text(tx, ty, o.title, { 'font-size': 12, 'text-anchor': 'middle', fill: COLORS.text, transform: `rotate(90 ${tx} ${ty})` }));
    } else {
      parts.push(text(o.x + o.length / 2, o.y - 6, o.title, { 'font-size': 12, 'text-anchor': 'middle', fill: COLORS.text }));
    }
  }
  return el('g', { class: 'colorbar' }, parts);
}

// ---------------------------------------------------------------------------
// Confusion matrix heat map

export interface ConfusionOptions {
  name?: string;
  title?: string;
  /** Class names (default: the class numbers, called digits). */
  labels?: readonly string[];
  /** Shade and write each row as shares of that row (so the diagonal is each class's recall). */
  normalize?: boolean;
}

/** Labels that are the class numbers 0, 1, 2, ...: MNIST's digits. */
export function isDigitLabels(labels: readonly string[]): boolean {
  return labels.every((l, i) => l === String(i));
}

/** "97%", "2.5%", "99.6%": whole percent from 10% up, one decimal below and near 100% (never a rounded-up "100%"). */
function shareText(v: number): string {
  const p = v * 100;
  if (p >= 100) return '100%';
  if (p >= 99.5) return `${(Math.floor(p * 10) / 10).toFixed(1)}%`;
  return p >= 9.95 ? `${p.toFixed(0)}%` : `${p.toFixed(1)}%`;
}

/**
 * Heat map of a confusion matrix, rows = true class, columns = predicted class, in one
 * sequential colour map (Blues) with a numbered colour bar: counts, or with `normalize` each row
 * as shares of the row. The recall of each row stands in a column on the right, the precision
 * of each column in a row underneath.
 */
export function confusionHeatmap(matrix: number[][], o: ConfusionOptions = {}): Figure {
  const k = matrix.length;
  const labels = o.labels ?? Array.from({ length: k }, (_, i) => String(i));
  if (labels.length !== k) throw new Error(`${labels.length} class names for a confusion matrix of ${k} classes`);
  const digits = isDigitLabels(labels);
  const noun = digits ? 'digit' : 'class';
  const nouns = digits ? 'digits' : 'classes';
  const rowTotals = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const colTotals = labels.map((_, j) => matrix.reduce((a, r) => a + (r[j] ?? 0), 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const value = (i: number, j: number) => {
    const v = matrix[i][j] ?? 0;
    return o.normalize ? (rowTotals[i] ? v / rowTotals[i] : 0) : v;
  };
  let maxCount = 0;
  for (const r of matrix) for (const v of r) maxCount = Math.max(maxCount, v);
  // The colours span 0 to the largest count (or 100%), as Matplotlib's vmin/vmax would.
  const scaleMax = o.normalize ? 1 : Math.max(1, maxCount);
  const scaleTicks = o.normalize
    ? [0, 0.2, 0.4, 0.6, 0.8, 1]
    : niceTicks(0, scaleMax, 5).filter((t) => Number.isInteger(t) && t <= scaleMax);

  const countFont = o.normalize ? 11 : maxCount >= 10000 ? 10 : maxCount >= 1000 ? 11.5 : 12.5;
  const cell = k <= 10 ? 46 : Math.max(18, Math.floor(460 / k));
  // Room for the class names: row names right-aligned left of the grid; column names turned 45°
  // when wider than a cell ("Ankle boot"), rising from their column.
  const labelFont = 13;
  const widestLabel = Math.max(0, ...labels.map((l) => textWidth(l, labelFont)));
  const turned = widestLabel > cell - 6;
  const columnLabelsHeight = turned ? widestLabel * Math.SQRT1_2 + labelFont : labelFont;
  const ox = Math.max(84, Math.ceil(widestLabel) + 58);
  const oy = turned ? Math.ceil(columnLabelsHeight) + 70 : 84;
  const gridW = cell * k;
  const recallW = 62;
  const barX = ox + gridW + recallW + 8;
  const width = barX + 14 + 72;
  const height = oy + gridW + 70;

  const parts: string[] = [];
  const title = o.title ?? (o.normalize ? `Confusion matrix, shares of each true ${noun}` : 'Confusion matrix, counts');
  parts.push(text(16, 26, title, { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));
  // Axis titles: "predicted" over the column labels, "true" beside the row labels.
  parts.push(text(ox + gridW / 2, turned ? oy - 14 - columnLabelsHeight : oy - 34, `predicted ${noun}`, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, 'font-weight': 'bold' }));
  const tx = 30;
  const ty = oy + gridW / 2;
  parts.push(
    text(tx, ty, `true ${noun}`, { 'font-size': 13, 'text-anchor': 'middle', fill: COLORS.text, 'font-weight': 'bold', transform: `rotate(-90 ${tx} ${ty})` }),
  );

  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const count = matrix[i][j] ?? 0;
      const v = value(i, j);
      const c = blues(scaleMax ? v / scaleMax : 0);
      const x = ox + j * cell;
      const y = oy + i * cell;
      const ofRow = digits ? `${labels[i]}s` : `${labels[i]} images`;
      const tip = o.normalize
        ? `true ${labels[i]}, predicted ${labels[j]}: ${shareText(v)} of the ${rowTotals[i]} ${ofRow} (${count})`
        : `true ${labels[i]}, predicted ${labels[j]}: ${count}`;
      parts.push(
        el(
          'rect',
          { x, y, width: cell, height: cell, fill: hex(c), class: 'cm-cell', 'data-true': i, 'data-pred': j, 'data-count': count },
          el('title', {}, esc(tip)),
        ),
      );
      if (count !== 0) {
        parts.push(
          text(x + cell / 2, y + cell / 2 + countFont * 0.36, o.normalize ? shareText(v) : String(count), {
            'font-size': countFont,
            'text-anchor': 'middle',
            fill: inkOn(c),
            class: o.normalize ? 'cm-share' : 'cm-count',
          }),
        );
      }
    }
    const cy = oy + i * cell + cell / 2 + 4.5;
    parts.push(text(ox - 10, cy, labels[i], { 'font-size': labelFont, 'text-anchor': 'end', fill: COLORS.text, class: 'cm-row-label' }));
    const recall = rowTotals[i] ? (matrix[i][i] ?? 0) / rowTotals[i] : NaN;
    parts.push(
      text(ox + gridW + 8, cy, Number.isFinite(recall) ? percent(recall, 1) : '–', { 'font-size': 12, fill: COLORS.muted, class: 'cm-recall' }),
    );
  }
  for (let j = 0; j < k; j++) {
    const cx = ox + j * cell + cell / 2;
    if (turned) {
      const x = cx - labelFont * 0.3;
      const y = oy - 8;
      parts.push(
        text(x, y, labels[j], { 'font-size': labelFont, fill: COLORS.text, transform: `rotate(-45 ${x} ${y})`, class: 'cm-column-label' }),
      );
    } else {
      parts.push(text(cx, oy - 10, labels[j], { 'font-size': labelFont, 'text-anchor': 'middle', fill: COLORS.text, class: 'cm-column-label' }));
    }
    const precision = colTotals[j] ? (matrix[j]?.[j] ?? 0) / colTotals[j] : NaN;
    // Alternate heights when the cells are too narrow for "99.5%" side by side.
    const py = oy + gridW + 18 + (cell < 40 && j % 2 ? 13 : 0);
    parts.push(
      text(cx, py, Number.isFinite(precision) ? percent(precision, 1) : '–', { 'font-size': 11, 'text-anchor': 'middle', fill: COLORS.muted, class: 'cm-precision' }),
    );
  }
  parts.push(el('rect', { x: ox, y: oy, width: gridW, height: gridW, fill: 'none', stroke: COLORS.axis, 'stroke-width': 1 }));
  parts.push(text(ox + gridW + 8, oy - 10, 'recall', { 'font-size': 12, fill: COLORS.muted }));
  parts.push(text(ox - 10, oy + gridW + 18, 'precision', { 'font-size': 12, 'text-anchor': 'end', fill: COLORS.muted }));
  parts.push(
    colorBar({
      x: barX,
      y: oy,
      length: gridW,
      min: 0,
      max: scaleMax,
      map: blues,
      ticks: scaleTicks,
      format: (v) => (o.normalize ? `${Math.round(v * 100)}%` : v.toLocaleString('en-US')),
      title: o.normalize ? `share of the true ${noun}` : 'images',
    }),
  );
  parts.push(
    text(ox + gridW, oy + gridW + 50, `${total.toLocaleString('en-US')} test images`, { 'font-size': 11, 'text-anchor': 'end', fill: COLORS.muted }),
  );

  return {
    name: o.name ?? (o.normalize ? 'confusion-normalized' : 'confusion'),
    alt:
      `Confusion matrix of ${total} test images, ${o.normalize ? `each row as shares of its true ${noun}` : 'counts'}: ` +
      `true ${nouns} in rows, predicted ${nouns} in columns, recall per row and precision per column`,
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
  referenceLabel: string;
  /** Where the reference comes from, written under the axis. */
  referenceSource?: string;
}

/**
 * A dot plot of this model's test accuracy and the reference's, values written beside the dots.
 * Dots, not bars: a dot's position carries the value, so the axis can be fitted to the two values
 * without the lie of a bar cut short.
 */
export function comparisonDots(o: ComparisonOptions): Figure {
  const width = 600;
  const sourceLines = o.referenceSource ? wrapText(`reference: ${o.referenceSource}`, width - 32, 11) : [];
  const height = 172 + sourceLines.length * 15;
  const acc = Number.isFinite(o.accuracy) ? o.accuracy : 0;
  const lo = Math.min(acc, o.reference);
  const hi = Math.max(acc, o.reference);
  const pad = Math.max(0.005, (hi - lo) * 0.3);
  let ticks = niceTicks(Math.max(0, lo - pad), Math.min(1, hi + pad), 5).filter((t) => t >= 0 && t <= 1);
  if (ticks.length < 2) ticks = [0, 0.5, 1];
  const d0 = ticks[0];
  const d1 = ticks[ticks.length - 1];
  const step = ticks[1] - ticks[0];
  const left = 230;
  const right = 30;
  const top = 50;
  const rowH = 34;
  const pw = width - left - right;
  const sx = linear(d0, d1, left, left + pw);
  const rows = [
    { label: `This model (${o.modelName})`, value: acc, color: COLORS.train },
    { label: o.referenceLabel, value: o.reference, color: COLORS.reference },
  ];
  const diff = (acc - o.reference) * 100;
  const diffText = `${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(2)} percentage points`;

  const parts: string[] = [];
  parts.push(text(16, 26, 'Test accuracy vs reference', { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));
  parts.push(
    text(width - 16, 26, diffText, { 'font-size': 13, 'text-anchor': 'end', 'font-weight': 'bold', fill: diff >= 0 ? COLORS.right : COLORS.wrong, class: 'diff' }),
  );
  const axisY = top + 2 * rowH + 4;
  for (const t of ticks) {
    const x = sx(t);
    parts.push(el('line', { x1: x, x2: x, y1: top - 6, y2: axisY, stroke: COLORS.grid, 'stroke-width': 1 }));
    parts.push(text(x, axisY + 16, `${(t * 100).toFixed(decimalsFor(step * 100))}%`, { 'font-size': 11, 'text-anchor': 'middle', fill: COLORS.muted }));
  }
  parts.push(el('line', { x1: left, x2: left + pw, y1: axisY, y2: axisY, stroke: COLORS.axis, 'stroke-width': 1 }));
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    parts.push(text(left - 12, y + 4.5, r.label, { 'font-size': 13, 'text-anchor': 'end', fill: COLORS.text }));
    parts.push(el('line', { x1: left, x2: left + pw, y1: y, y2: y, stroke: COLORS.grid, 'stroke-width': 1, 'stroke-dasharray': '2 3' }));
    const x = sx(Math.max(d0, Math.min(d1, r.value)));
    parts.push(el('circle', { cx: x, cy: y, r: 7, fill: r.color, stroke: '#ffffff', 'stroke-width': 1.5, class: 'comparison-dot' }));
    // The value on the side with room.
    const label = percent(r.value);
    const onRight = x + 14 + textWidth(label, 13) <= width - 4;
    parts.push(
      text(onRight ? x + 14 : x - 14, y + 4.5, label, { 'font-size': 13, 'font-weight': 'bold', fill: COLORS.text, 'text-anchor': onRight ? 'start' : 'end', class: 'comparison-value' }),
    );
  });
  parts.push(text(left + pw / 2, axisY + 36, 'test accuracy', { 'font-size': 12, 'text-anchor': 'middle', fill: COLORS.muted }));
  sourceLines.forEach((line, i) => {
    parts.push(text(16, 180 + i * 15, line, { 'font-size': 11, fill: COLORS.muted, class: 'reference-source' }));
  });
  return {
    name: o.name ?? 'comparison',
    alt: `Test accuracy ${percent(acc)} versus ${o.referenceLabel} ${percent(o.reference)} (${diffText})`,
    width,
    height,
    body: `<g class="chart comparison">${parts.join('')}</g>`,
  };
}
