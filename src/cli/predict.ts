// npm run predict -- --model DIR a.png b.jpg ...
// Reads each picture of a digit (PNG or JPEG), prepares it the way MNIST was made (grayscale,
// polarity, crop, fit into 20x20, centre of mass at the centre of 28x28), and prints the model's
// top 3 guesses. A picture without a digit says so; a picture that cannot be read gets its own
// error line and the others are still predicted (exit 1 at the end).
import { loadModel } from '../model/serialization.ts';
import { readDigit } from '../data/png.ts';
import { Tensor } from '../tensor.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { OPTIMIZE_FLAG, runCli } from './run.ts';

const FLAGS = {
  model: { type: 'string', required: true, valueName: 'DIR', help: 'folder with model.json and weights.bin' },
  ...OPTIMIZE_FLAG,
} as const satisfies FlagSpecs;

const PIXELS = 28 * 28;

type Outcome = { file: string; input: Float32Array } | { file: string; noDigit: string } | { file: string; error: string };

async function prepare(file: string): Promise<Outcome> {
  try {
    const { input, noDigit } = await readDigit(file);
    if (noDigit) return { file, noDigit };
    const bad = input.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return { file, error: `${file}: the prepared input has ${input[bad]} at pixel ${bad}; not given to the model` };
    return { file, input };
  } catch (error) {
    return { file, error: (error as Error).message };
  }
}

async function main(): Promise<void> {
  const { flags, positionals, help } = parseArgs(process.argv.slice(2), FLAGS, { positionals: { min: 1, name: 'image' } });
  if (help) {
    console.log(
      formatHelp(FLAGS, {
        usage: 'npm run predict -- --model DIR image.png [image.jpg ...]',
        description: 'Predict the digit in each PNG or JPEG picture.',
      }),
    );
    return;
  }
  const model = await loadModel(flags.model, { optimize: flags.optimize });
  const [h, w, c] = model.inputShape;
  if (h !== 28 || w !== 28 || c !== 1) {
    throw new Error(`${flags.model}: the model takes [${model.inputShape.join(', ')}] inputs, not MNIST's [28, 28, 1]`);
  }
  const outcomes = await Promise.all(positionals.map(prepare));
  const digits = outcomes.filter((o): o is { file: string; input: Float32Array } => 'input' in o);
  const batch = new Float32Array(digits.length * PIXELS);
  digits.forEach((d, i) => batch.set(d.input, i * PIXELS));
  const probs = digits.length ? model.predict(new Tensor(batch, [digits.length, 28, 28, 1])) : undefined;
  const classes = probs?.shape[1] ?? 0;
  let next = 0;
  for (const o of outcomes) {
    if ('error' in o) {
      console.error(`error: ${o.error}`);
      process.exitCode = 1;
    } else if ('noDigit' in o) {
      console.log(`${o.file}: no digit found (${o.noDigit})`);
    } else {
      const i = next++;
      const p = Array.from(probs!.data.subarray(i * classes, (i + 1) * classes));
      const top = p.map((prob, digit) => ({ digit, prob })).sort((a, b) => b.prob - a.prob).slice(0, 3);
      console.log(`${o.file}: ${top[0].digit}   (top 3: ${top.map((t) => `${t.digit} ${t.prob.toFixed(3)}`).join(', ')})`);
    }
  }
}

runCli(main);
