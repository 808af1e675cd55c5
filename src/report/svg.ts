/**
 * Tiny SVG building blocks shared by the report's pictures.
 *
 * Every picture is built once, as SVG markup (a `Figure`), and then used twice:
 * inlined into report.html (crisp at any zoom, no external file needed) and
 * rasterised to a PNG file by ./raster.ts. One source means the HTML and the
 * PNG files always show the same thing.
 */

export type AttrValue = string | number | undefined | null | false;
export type Attrs = Record<string, AttrValue>;

/** The font stack used by all pictures. DejaVu Sans is what the PNG renderer
 * loads (from the dejavu-fonts-ttf package); Verdana has near-identical metrics
 * for browsers on machines without DejaVu. */
export const FONT_FAMILY = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif";

export const COLORS = {
  text: '#1f2933',
  muted: '#616e7c',
  grid: '#e4e7eb',
  axis: '#9aa5b1',
  train: '#2563eb',
  validation: '#ea580c',
  reference: '#7c3aed',
  right: '#15803d',
  wrong: '#b91c1c',
  background: '#ffffff',
};

/** Escapes text for use in XML/HTML content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** Formats a coordinate compactly (two decimals at most, no trailing zeros). */
export function num(v: number): string {
  if (!Number.isFinite(v)) return '0';
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

function attrs(a: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || v === null || v === false) continue;
    out += ` ${k}="${esc(typeof v === 'number' ? num(v) : v)}"`;
  }
  return out;
}

/** An element; children are markup strings (already escaped). No children gives a self-closing tag. */
export function el(name: string, a: Attrs = {}, children?: string | string[]): string {
  const inner = Array.isArray(children) ? children.join('') : children;
  if (inner === undefined || inner === '') return `<${name}${attrs(a)}/>`;
  return `<${name}${attrs(a)}>${inner}</${name}>`;
}

/** A text element whose content is escaped. */
export function text(x: number, y: number, content: string, a: Attrs = {}): string {
  return el('text', { x, y, ...a }, esc(content));
}

/**
 * Approximate advance width of `s` in DejaVu Sans / Verdana at `fontSize`
 * (used only for layout: legend boxes, label margins). Errs on the wide side.
 */
export function textWidth(s: string, fontSize: number): number {
  let w = 0;
  for (const ch of s) {
    if (/[0-9]/.test(ch)) w += 0.64;
    else if (/[ilj.,:;'|!]/.test(ch)) w += 0.3;
    else if (ch === ' ') w += 0.32;
    else if (/[mwMW%]/.test(ch)) w += 0.95;
    else if (/[A-Z]/.test(ch)) w += 0.72;
    else w += 0.62;
  }
  return w * fontSize;
}

/** A picture: SVG content in a `width` x `height` user-space box. */
export interface Figure {
  /** File base name of the PNG (e.g. 'loss' for loss.png) and id stem in the HTML. */
  name: string;
  /** Accessible description (aria-label in the HTML). */
  alt: string;
  width: number;
  height: number;
  /** Inner SVG markup, without the <svg> element. */
  body: string;
}

/** A complete SVG document for the PNG renderer (white background, pixel size = user units). */
export function standaloneSvg(fig: Figure): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fig.width}" height="${fig.height}" ` +
    `viewBox="0 0 ${fig.width} ${fig.height}" font-family="${esc(FONT_FAMILY)}">` +
    `<rect width="${fig.width}" height="${fig.height}" fill="${COLORS.background}"/>` +
    fig.body +
    '</svg>'
  );
}

/**
 * The same picture for inlining into HTML: fills its container's width, down
 * to any size and up to `maxZoom` times its natural size (vector, so still sharp).
 */
export function inlineSvg(fig: Figure, maxZoom = 1.25): string {
  return (
    `<svg class="figure-svg" id="fig-${esc(fig.name)}" role="img" aria-label="${esc(fig.alt)}" ` +
    `viewBox="0 0 ${fig.width} ${fig.height}" width="${fig.width}" height="${fig.height}" ` +
    `style="width:100%;max-width:${num(fig.width * maxZoom)}px;height:auto" font-family="${esc(FONT_FAMILY)}">` +
    `<title>${esc(fig.alt)}</title>` +
    fig.body +
    '</svg>'
  );
}
