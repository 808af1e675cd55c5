// npm run predict -- --model DIR a.png b.png ...
// Reads each picture of a digit, prepares it the way MNIST was made (grayscale, polarity, crop,
// fit into 20x20, centre of mass at the centre of 28x28), and prints the model's top 3 guesses.
import { loadModel } from '../model/serialization.ts';
import { pngFileToMnistInput } from '../data/png.ts';
import { Tensor } from '../tensor.ts';
import { parseArgs, formatHelp, type FlagSpecs } from './args.ts';
import { runCli } from './run.ts';

const FLAGS = {
  model: { type: 'string', required: true, valueName: 'DIR', help: 'folder with model.json and weights.bin' },
} as const satisfies FlagSpecs;

async function main(): Promise<void> {
  const { flags, positionals, help } = parseArgs(process.argv.slice(2), FLAGS, { positionals: { min: 1, name: 'image.png' } });
  if (help) {
    console.log(formatHelp(FLAGS, { usage: 'npm run predict -- --model DIR image.png [image.png ...]', description: 'Predict the digit in each PNG.' }));
    return;
  }
  const model = await loadModel(flags.model);
  const [h, w, c] = model.inputShape;
  if (h !== 28 || w !== 28 || c !== 1) {
    throw new Error(`${flags.model}: the model takes [${model.inputShape.join(', ')}] inputs, not MNIST's [28, 28, 1]`);
  }
  const inputs = await Promise.all(positionals.map((file) => pngFileToMnistInput(file)));
  const batch = new Float32Array(inputs.length * 784);
  inputs.forEach((input, i) => batch.set(input, i * 784));
  const probs = model.predict(new Tensor(batch, [inputs.length, 28, 28, 1]));
  const classes = probs.shape[1];
  positionals.forEach((file, i) => {
    const p = Array.from(probs.data.subarray(i * classes, (i + 1) * classes));
    const top = p.map((prob, digit) => ({ digit, prob })).sort((a, b) => b.prob - a.prob).slice(0, 3);
    console.log(`${file}: ${top[0].digit}   (top 3: ${top.map((t) => `${t.digit} ${t.prob.toFixed(3)}`).join(', ')})`);
  });
}

runCli(main);
