/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG with
 * data-URI digit images; no scripts, no fonts, nothing fetched).
 */
import { percent } from './charts.ts';
import { esc, inlineSvg, type Figure } from './svg.ts';

export interface Card {
  label: string;
  value: string;
  note?: string;
  tone?: 'good' | 'bad' | 'neutral';
}

export interface PageSection {
  id: string;
  heading: string;
  /** Short explanation under the heading (plain text). */
  intro?: string;
  /** Figures shown in this section (side by side when there is room). */
  figures?: Figure[];
  /** Extra HTML after the figures (already escaped). */
  html?: string;
}

export interface Page {
  title: string;
  subtitle: string;
  cards: Card[];
  sections: PageSection[];
  footer: string;
}

const CSS = `
:root { color-scheme: light; --bg: #f4f6f8; --card: #fff; --text: #1f2933; --muted: #616e7c; --line: #e4e7eb;
  --accent: #2563eb; --good: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Verdana, sans-serif; }
header { background: linear-gradient(135deg, #1e3a8a, #2563eb); color: #fff; padding: 28px 0 32px; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 20px; }
header h1 { margin: 0 0 4px; font-size: 26px; line-height: 1.25; font-weight: 700; }
header .subtitle { margin: 0; opacity: .85; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-top: 22px; }
.card { background: rgba(255,255,255,.12); border: 1px solid rgba(255,255,255,.25); border-radius: 10px; padding: 12px 14px; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; opacity: .85; }
.card .value { font-size: 26px; font-weight: 700; line-height: 1.2; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .note { font-size: 13px; opacity: .9; }
.card.tone-good .value { color: #bbf7d0; } .card.tone-bad .value { color: #fed7aa; }
main { padding: 8px 0 24px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 18px 20px 20px; margin: 18px 0;
  box-shadow: 0 1px 2px rgba(15,23,42,.04); }
section h2 { margin: 0 0 4px; font-size: 19px; }
section .intro { margin: 0 0 14px; color: var(--muted); max-width: 75ch; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 460px), 1fr)); gap: 16px; align-items: start; }
figure { margin: 0; min-width: 0; }
figure svg { display: block; width: 100%; height: auto; }
figure svg image { image-rendering: pixelated; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
figcaption a { color: var(--muted); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 14px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.num, th.num { text-align: right; }
.table-scroll { overflow-x: auto; }
pre.summary { margin: 0; padding: 14px 16px; background: #0f172a; color: #e2e8f0; border-radius: 8px; overflow-x: auto;
  font: 12.5px/1.45 ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
details { margin-top: 12px; } summary { cursor: pointer; color: var(--accent); }
.good { color: var(--good); } .bad { color: var(--bad); }
footer { color: var(--muted); font-size: 13px; padding: 0 0 32px; }
footer a { color: var(--muted); }
@media print { header { background: none; color: var(--text); } .card { border-color: var(--line); } section { break-inside: avoid; } }
`;

function figureHtml(fig: Figure): string {
  return (
    `<figure class="figure" data-figure="${esc(fig.name)}">${inlineSvg(fig)}` +
    `<figcaption>${esc(fig.alt)} · <a href="${esc(fig.name)}.png">${esc(fig.name)}.png</a></figcaption></figure>`
  );
}

export function renderPage(p: Page): string {
  const cards = p.cards
    .map(
      (c) =>
        `<div class="card${c.tone && c.tone !== 'neutral' ? ` tone-${c.tone}` : ''}"><div class="label">${esc(c.label)}</div>` +
        `<div class="value">${esc(c.value)}</div>${c.note ? `<div class="note">${esc(c.note)}</div>` : ''}</div>`,
    )
    .join('\n');
  const sections = p.sections
    .map((s) => {
      const figs = s.figures?.length ? `<div class="figures">${s.figures.map(figureHtml).join('\n')}</div>` : '';
      return (
        `<section id="${esc(s.id)}"${s.figures?.length ? ' class="figure-section"' : ''}>\n<h2>${esc(s.heading)}</h2>\n` +
        (s.intro ? `<p class="intro">${esc(s.intro)}</p>\n` : '') +
        figs +
        (s.html ?? '') +
        '\n</section>'
      );
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${esc(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><div class="wrap">
<h1>${esc(p.title)}</h1>
<p class="subtitle">${esc(p.subtitle)}</p>
<div class="cards">
${cards}
</div>
</div></header>
<main><div class="wrap">
${sections}
</div></main>
<footer><div class="wrap">${p.footer}</div></footer>
</body>
</html>
`;
}

/** A simple table; cells are plain text unless `raw` is set. */
export function table(head: string[], rows: string[][], numeric: boolean[] = [], raw = false): string {
  const cls = (i: number) => (numeric[i] ? ' class="num"' : '');
  const cell = (v: string) => (raw ? v : esc(v));
  return (
    `<div class="table-scroll"><table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((v, i) => `<td${cls(i)}>${cell(v)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table></div>'
  );
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(r).padStart(2, '0')} s`;
}

export const fmtPercent = percent;

export function fmtNumber(v: number | undefined, digits = 4): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}
