// Helpers the benchmarks share.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DATA_DIR } from '../src/data/mnist.ts';

const SHARED_MNIST = fileURLToPath(new URL('../../shared/data/mnist', import.meta.url));

/** MNIST for our runs and the peers': $MNIST_DIR, else the team's shared copy, else data/mnist (downloaded if missing). */
export const MNIST_DIR = process.env.MNIST_DIR ?? (existsSync(SHARED_MNIST) ? SHARED_MNIST : DEFAULT_DATA_DIR);

/** The middle value (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
