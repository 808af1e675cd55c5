#!/usr/bin/env node
// The package's one command: `wasm-mnist-engine train|evaluate|predict [flags]` (`npx wasm-mnist-engine
// ...` in a project that installed the package). It takes the command off the arguments and runs that
// CLI module, which reads the rest of process.argv as `npm run <command> --` does in the repo.
// Compiled to dist/bin/ with the engine (tsconfig.build.json); in the repo, `npx tsx bin/wasm-mnist-engine.ts`.
const COMMANDS = {
  train: 'train a classifier on MNIST or Fashion-MNIST and save it',
  evaluate: 'evaluate a saved model on the test set',
  predict: 'read digits from PNG or JPEG images with a saved model',
} as const;
type Command = keyof typeof COMMANDS;

const NAME = 'wasm-mnist-engine';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    `usage: ${NAME} <command> [flags]`,
    '',
    ...Object.entries(COMMANDS).map(([c, help]) => `  ${c.padEnd(width)}  ${help}`),
    '',
    `${NAME} <command> --help shows a command's flags.`,
  ].join('\n');
}

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  console.log(usage());
} else if (!Object.hasOwn(COMMANDS, command)) {
  process.stderr.write(`error: unknown command "${command}"; expected one of ${Object.keys(COMMANDS).join(', ')}\n\n${usage()}\n`);
  process.exitCode = 2;
} else {
  // The CLI modules parse process.argv.slice(2): leave them their flags only.
  process.argv.splice(2, process.argv.length - 2, ...rest);
  process.env.WASM_MNIST_ENGINE_COMMAND = `${NAME} ${command}`;
  const modules: Record<Command, () => Promise<unknown>> = {
    train: () => import('../src/cli/train.ts'),
    evaluate: () => import('../src/cli/evaluate.ts'),
    predict: () => import('../src/cli/predict.ts'),
  };
  await modules[command as Command]();
}
