// Helpers for layer tests: run one layer on its own, with its parameters and inputs placed in the
// engine's arena, on a chosen backend.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { Sequential } from '../src/model/sequential.ts';
import type { Layer, ParamSpec } from '../src/layers/layer.ts';
import type { BackendName } from '../src/backend/index.ts';

export { FIXTURES } from './paths.ts';
import { FIXTURES } from './paths.ts';

export interface FixtureArray {
  shape: number[];
  data: number[];
}

export function readFixture<T>(path: string): T {
  return JSON.parse(readFileSync(FIXTURES + path, 'utf8')) as T;
}

/** A layer built for samples of `inputShape` with buffers for `batch` samples. */
export class LayerRig {
  readonly model: Sequential;
  /** What runs: the layer itself, or with `optimize` the fast pass's replacement for it, if any. */
  readonly run: Layer;

  constructor(readonly layer: Layer, readonly batch: number, backend: BackendName, optimize = false) {
    this.model = new Sequential([layer], { backend, seed: 1, optimize });
    this.run = this.model.runLayers[0];
    this.run.allocate(batch, true);
  }

  get arena() {
    return this.model.backend.arena;
  }

  setParam(name: ParamSpec['name'], values: ArrayLike<number>): void {
    const p = this.layer.params.find((q) => q.name === name)!;
    expect(values.length).toBe(p.size);
    this.arena.f32At(p.value, p.size).set(values);
  }

  grad(name: ParamSpec['name']): Float32Array {
    const p = this.layer.params.find((q) => q.name === name)!;
    return this.arena.f32At(p.grad, p.size).slice();
  }

  /** Copies values into a fresh arena buffer; returns its pointer. */
  put(values: ArrayLike<number>): number {
    const ptr = this.arena.allocF32(values.length);
    this.arena.f32At(ptr, values.length).set(values);
    return ptr;
  }

  read(ptr: number, count: number): Float32Array {
    return this.arena.f32At(ptr, count).slice();
  }

  forward(x: ArrayLike<number>, training = true): Float32Array {
    const y = this.run.forward(this.put(x), this.batch, training);
    return this.read(y, this.outSize);
  }

  backward(dy: ArrayLike<number>): Float32Array {
    const dx = this.run.backward(this.put(dy), this.batch, true);
    return this.read(dx, this.inSize);
  }

  get inSize(): number {
    return this.batch * this.layer.inputShape.reduce((a, b) => a * b, 1);
  }

  get outSize(): number {
    return this.batch * this.layer.outputShape.reduce((a, b) => a * b, 1);
  }
}

/** Largest |a − b| / (|b| + floor) over the arrays, with floor ~ the typical magnitude of b. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const floor = Math.max(scale * 1e-3, 1e-12);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + floor));
  }
  return worst;
}
