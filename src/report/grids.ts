/**
 * Image grids as SVG `Figure`s: captioned test digits (mistakes, random
 * samples) and the first convolution layer's filters.
 */
import { digitPng, pngDataUri } from './raster.ts';
import { colorBar, cssColor, decimalsFor, niceTicks, redBlue } from './charts.ts';
import { COLORS, el, esc, text, textWidth, type Attrs, type Figure } from './svg.ts';

export interface CaptionLine {
  text: string;
  color?: string;
  bold?: boolean;
}

export interface DigitTile {
  /** H*W values in [0,1]. */
  pixels: ArrayLike<number>;
  lines: CaptionLine[];
  /** Full caption, used as the tile's tooltip (<title>). */
  caption: string;
  /** Extra attributes on the tile's <g> (data-* for machines). */
  data?: Attrs;
  /** Frame colour around the digit. */
  frame?: string;
}

export interface DigitGridOptions {
  name: string;
  title: string;
  subtitle?: string;
  alt: string;
  tiles: DigitTile[];
  imageWidth: number;
  imageHeight: number;
  columns?: number;
  /** Display size of one image pixel, in user units. */
  zoom?: number;
  /** Shown instead of the grid when there are no tiles. */
  emptyMessage?: string;
}

export function digitGrid(o: DigitGridOptions): Figure {
  const zoom = o.zoom ?? 3;
  const iw = o.imageWidth * zoom;
  const ih = o.imageHeight * zoom;
  const captionFont = 11.5;
  const lineH = 15;
  const nLines = Math.max(0, ...o.tiles.map((t) => t.lines.length));
  const widest = Math.max(0, ...o.tiles.flatMap((t) => t.lines.map((l) => textWidth(l.text, captionFont))));
  const cellW = Math.ceil(Math.max(iw, widest) + 18);
  const cellH = ih + 10 + nLines * lineH + 12;
  const columns = Math.max(1, Math.min(o.columns ?? 6, o.tiles.length || 1));
  const rows = Math.ceil(o.tiles.length / columns);
  const left = 16;
  const top = o.subtitle ? 62 : 44;
  const width = Math.max(left * 2 + columns * cellW, 420);
  const height = o.tiles.length ? top + rows * cellH + 4 : top + 40;

  const parts: string[] = [];
  parts.push(text(16, 26, o.title, { 'font-size': 16, 'font-weight': 'bold', fill: COLORS.text }));
  if (o.subtitle) parts.push(text(16, 46, o.subtitle, { 'font-size': 12, fill: COLORS.muted }));
  if (!o.tiles.length) {
    parts.push(text(16, top + 20, o.emptyMessage ?? 'Nothing to show.', { 'font-size': 13, fill: COLORS.muted }));
  }
  o.tiles.forEach((t, i) => {
    const cx = left + (i % columns) * cellW + cellW / 2;
    const y = top + Math.floor(i / columns) * cellH;
    const x = cx - iw / 2;
    const uri = pngDataUri(digitPng(t.pixels, o.imageWidth, o.imageHeight));
    const inner: string[] = [el('title', {}, esc(t.caption))];
    inner.push(
      el('image', {
        x,
        y,
        width: iw,
        height: ih,
        href: uri,
        // Nearest-neighbour enlargement: resvg honours this attribute; browsers get
        // `image-rendering: pixelated` from the page's stylesheet.
        'image-rendering': 'optimizeSpeed',
        preserveAspectRatio: 'none',
      }),
    );
    inner.push(
      el('rect', { x: x - 0.5, y: y - 0.5, width: iw + 1, height: ih + 1, fill: 'none', stroke: t.frame ?? '#cbd2d9', 'stroke-width': t.frame ? 2 : 1 }),
    );
    t.lines.forEach((l, j) => {
      inner.push(
        text(cx, y + ih + 18 + j * lineH, l.text, {
          'font-size': captionFont,
          'text-anchor': 'middle',
          fill: l.color ?? COLORS.text,
          'font-weight': l.bold ? 'bold' : undefined,
        }),
      );
    });
    parts.push(el('g', { class: 'tile', ...(t.data ?? {}) }, inner));
  });

  return { name: o.name, alt: o.alt, width, height, body: `<g class="grid">${parts.join('')}</g>` };
}

export interface FilterGridOptions {
  /** Keras layout [kh, kw, in, filters], flat row-major. */
  data: ArrayLike<number>;
  kernelH: number;
  kernelW: number;
  inChannels: number;
  filters: number;
  name?: string;
  columns?: number;
}

/**
 * One small picture per filter (and input channel): its kh x kw weights as coloured squares on
 * one scale shared by all filters (blue negative, white zero, red positive, from −m to +m with m
 * the largest |weight| of the layer), so that filters can be compared; a numbered colour bar
 * gives the scale. Drawn as vector rectangles, so the squares stay sharp at any size.
 */
export function filterGrid(o: FilterGridOptions): Figure {
  const { kernelH: kh, kernelW: kw, inChannels: cin, filters: nf } = o;
  const at = (r: number, c: number, ch: number, f: number) => o.data[((r * kw + c) * cin + ch) * nf + f];
  const px = Math.max(4, Math.floor(54 / Math.max(kh, kw)));
  const tileW = kw * px;
  const tileH = kh * px;
  const tiles = nf * cin;
  const columns = Math.max(1, Math.min(o.columns ?? (cin === 1 ? 8 : cin * Math.max(1, Math.floor(8 / cin))), tiles));
  const cellW = Math.max(tileW + 22, 62);
  const cellH = tileH + 34;
  const left = 16;
  const top = 62;
  const rows = Math.ceil(tiles / columns);
  const width = Math.max(left * 2 + columns * cellW, 460);
  const height = top + rows * cellH + 58;

  let maxAbs = 0;
  for (let i = 0; i < kh * kw * cin * nf; i++) {
    const v = o.data[i];
    if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  // The scale's end: the largest |weight| rounded up to a round number, so the ticks are round too.
  const ticks = niceTicks(-maxAbs, maxAbs, 4);
  const m = Math.max(Math.abs(ticks[0]), Math.abs(ticks[ticks.length - 1])) || 1;
  const shade = (v: number) => cssColor(redBlue(0.5 + (Number.isFinite(v) ? v : 0) / (2 * m)));

  const parts: string[] = [];
  parts.push(text(16, 26, `First convolution layer: ${nf} filter${nf === 1 ? '' : 's'} of ${kh}×${kw}${cin > 1 ? `×${cin}` : ''}`, {
    'font-size': 16,
    'font-weight': 'bold',
    fill: COLORS.text,
  }));
  parts.push(text(16, 46, 'Weights on one scale for all filters: blue negative, white zero, red positive.', { 'font-size': 12, fill: COLORS.muted }));

  let t = 0;
  for (let f = 0; f < nf; f++) {
    let filterMax = 0;
    for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) for (let ch = 0; ch < cin; ch++) {
      const v = at(r, c, ch, f);
      if (Number.isFinite(v)) filterMax = Math.max(filterMax, Math.abs(v));
    }
    for (let ch = 0; ch < cin; ch++, t++) {
      const x0 = left + (t % columns) * cellW + (cellW - tileW) / 2;
      const y0 = top + Math.floor(t / columns) * cellH;
      const cells: string[] = [el('title', {}, esc(`filter ${f + 1}${cin > 1 ? `, channel ${ch + 1}` : ''}: max |w| = ${filterMax.toPrecision(3)}`))];
      for (let r = 0; r < kh; r++) {
        for (let c = 0; c < kw; c++) {
          cells.push(el('rect', { x: x0 + c * px, y: y0 + r * px, width: px, height: px, fill: shade(at(r, c, ch, f)) }));
        }
      }
      cells.push(el('rect', { x: x0 - 0.5, y: y0 - 0.5, width: tileW + 1, height: tileH + 1, fill: 'none', stroke: '#9aa5b1', 'stroke-width': 1 }));
      cells.push(
        text(x0 + tileW / 2, y0 + tileH + 16, cin > 1 ? `#${f + 1}·c${ch + 1}` : `#${f + 1}`, {
          'font-size': 11,
          'text-anchor': 'middle',
          fill: COLORS.muted,
        }),
      );
      parts.push(el('g', { class: 'filter', 'data-filter': f, 'data-channel': ch }, cells));
    }
  }
  const decimals = decimalsFor(ticks.length > 1 ? ticks[1] - ticks[0] : m);
  parts.push(
    colorBar({
      x: left + 110,
      y: height - 40,
      length: Math.min(300, width - left - 140),
      thickness: 12,
      orientation: 'horizontal',
      min: -m,
      max: m,
      map: redBlue,
      ticks,
      format: (v) => (v < 0 ? '−' : '') + Math.abs(v).toFixed(decimals),
    }),
  );
  parts.push(text(left + 100, height - 30, 'weight', { 'font-size': 12, 'text-anchor': 'end', fill: COLORS.text }));

  return {
    name: o.name ?? 'filters',
    alt: `The ${nf} filters of the first convolution layer (${kh}×${kw}) on one colour scale from −${m} to ${m}, blue negative, red positive`,
    width,
    height,
    body: `<g class="grid filters">${parts.join('')}</g>`,
  };
}
