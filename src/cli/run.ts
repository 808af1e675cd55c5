// How every CLI ends: a mistake in the flags or the input is one line on stderr that says the
// fix, never a stack trace; anything else unexpected keeps its stack for a bug report.
import { ArgsError } from './args.ts';

export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error instanceof ArgsError ? 2 : 1;
  });
}
