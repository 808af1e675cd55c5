// The drawing pad: a canvas of white paper on which pointer events (mouse, pen, touch) draw black
// strokes. Its pixels go through the same preparation as a PNG given to `npm run predict`.

/** Stroke width in canvas pixels: about MNIST's 2-3 px strokes once a 200 px digit is fitted into 20x20. */
export const BRUSH = 20;
const PAPER = '#ffffff';
const INK = '#000000';

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | undefined;
  private pointer: number | undefined;
  /** True once anything was drawn since the last clear. */
  inked = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    // No page scrolling or zooming while drawing with a finger or a pen.
    canvas.style.touchAction = 'none';
  }

  clear(): void {
    this.ctx.fillStyle = PAPER;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.onChange();
  }

  /** The canvas's pixels, RGBA. */
  pixels(): ImageData {
    return this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Pointer position in canvas pixels (the canvas may be shown at another size). */
  private at(e: PointerEvent): { x: number; y: number } {
    const c = this.canvas;
    const r = c.getBoundingClientRect();
    // Inside the border: clientLeft/clientTop are its widths, clientWidth/clientHeight the drawing area.
    return {
      x: ((e.clientX - r.left - c.clientLeft) * c.width) / (c.clientWidth || c.width),
      y: ((e.clientY - r.top - c.clientTop) * c.height) / (c.clientHeight || c.height),
    };
  }

  private down(e: PointerEvent): void {
    if (this.pointer !== undefined || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.pointer = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    const p = this.at(e);
    this.last = p;
    this.segment(p, p);
  }

  private move(e: PointerEvent): void {
    if (e.pointerId !== this.pointer || !this.last) return;
    e.preventDefault();
    // Every sample of a fast stroke, not only the one the frame saw.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const c of events.length ? events : [e]) {
      const p = this.at(c);
      this.segment(this.last, p);
      this.last = p;
    }
  }

  private up(e: PointerEvent): void {
    if (e.pointerId !== this.pointer) return;
    this.pointer = undefined;
    this.last = undefined;
  }

  private segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const ctx = this.ctx;
    ctx.strokeStyle = INK;
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    this.inked = true;
    this.onChange();
  }
}
