// Crash-safe saves: a save of model B over model A that fails or crashes at any step leaves a folder
// that loads as A or as B (A before the commit point, B after), and the next save tidies up.
import { cpSync, readdirSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from './temp-dirs.ts';
import { loadModel, Sequential, Dense, Flatten } from '../src/index.ts';
import { saveModel, type SaveStep } from '../src/model/save.ts';

const tempDir = useTempDirs();

function mlp(seed: number): Sequential {
  return new Sequential([new Flatten({ inputShape: [2, 3, 1] }), new Dense({ units: 4, activation: 'softmax' })], { seed });
}

const A = mlp(1);
const B = mlp(2);
const C = mlp(3);

/** Which of the models the folder loads as ('A', 'B', 'C'), or the error if it does not load. */
async function loadsAs(dir: string): Promise<string> {
  const model = await loadModel(dir).catch((error: Error) => error);
  if (model instanceof Error) return `error: ${model.message}`;
  const data = model.getWeights().map((w) => [...w.data]);
  const match = Object.entries({ A, B, C }).find(([, m]) => isDeepStrictEqual(m.getWeights().map((w) => [...w.data]), data));
  return match?.[0] ?? 'other weights';
}

async function allSteps(): Promise<SaveStep[]> {
  const steps: SaveStep[] = [];
  await saveModel(B, tempDir(), { beforeStep: (step) => void steps.push(step) });
  return steps;
}

describe('crash-safe save', () => {
  it('a save leaves exactly model.json + weights.bin, and removes only its own leftovers', async () => {
    const dir = tempDir();
    await A.save(dir);
    const stale = ['weights.0123456789abcdef.bin', 'weights.0123456789abcdef.bin.tmp', 'model.json.fedcba9876543210.tmp', 'weights.bin.fedcba9876543210.tmp'];
    const unrelated = ['weights.backup.bin', 'notes.txt', 'weights.0123.bin'];
    for (const name of [...stale, ...unrelated]) writeFileSync(join(dir, name), 'x');
    await B.save(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin', ...unrelated].sort());
    expect(await loadsAs(dir)).toBe('B');
  });

  it('visits every step of the protocol', async () => {
    expect(await allSteps()).toEqual([
      'write new weights',
      'rename new weights',
      'write model.json naming the new weights',
      'commit model.json naming the new weights',
      'link weights.bin',
      'rename weights.bin',
      'write final model.json',
      'rename final model.json',
      'remove leftovers',
    ]);
  });

  it('a crash or failure at any step leaves the old model or the new one, never a mix', async () => {
    const outcomes: string[] = [];
    for (const failAt of await allSteps()) {
      const dir = tempDir();
      const crashed = tempDir();
      await A.save(dir);
      const fault = saveModel(B, dir, {
        beforeStep: async (step) => {
          if (step !== failAt) return;
          // The folder as a crash at this instant would leave it (no cleanup runs).
          cpSync(dir, crashed, { recursive: true });
          throw new Error(`injected fault before "${step}"`);
        },
      });
      await expect(fault, failAt).rejects.toThrow(`injected fault before "${failAt}"`);
      const atCrash = await loadsAs(crashed);
      const afterFailure = await loadsAs(dir);
      expect(['A', 'B'], failAt).toContain(atCrash);
      expect(afterFailure, failAt).toBe(atCrash);
      outcomes.push(atCrash);
      // The next save over either folder works and tidies up what the interrupted one left.
      for (const folder of [dir, crashed]) {
        await C.save(folder);
        expect(readdirSync(folder).sort(), failAt).toEqual(['model.json', 'weights.bin']);
        expect(await loadsAs(folder), failAt).toBe('C');
      }
    }
    // The commit point is the rename of model.json naming the new weights.
    expect(outcomes).toEqual(['A', 'A', 'A', 'A', 'B', 'B', 'B', 'B', 'B']);
  });

  it('the error says which model the folder holds', async () => {
    const fail = (at: SaveStep) => async (step: SaveStep) => {
      if (step === at) throw new Error('disk trouble');
    };
    const dir = tempDir();
    await A.save(dir);
    await expect(saveModel(B, dir, { beforeStep: fail('rename new weights') })).rejects.toThrow(
      `cannot save the model to ${dir}: disk trouble; the model saved there before, if any, is unchanged`,
    );
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    await expect(saveModel(B, dir, { beforeStep: fail('rename weights.bin') })).rejects.toThrow(
      new RegExp(`: disk trouble; the new model is saved, as model\\.json \\+ weights\\.[0-9a-f]{16}\\.bin$`),
    );
    expect(readdirSync(dir).filter((f) => f !== 'weights.bin' && f !== 'model.json')).toEqual([expect.stringMatching(/^weights\.[0-9a-f]{16}\.bin$/)]);
    expect(await loadsAs(dir)).toBe('B');
  });
});
