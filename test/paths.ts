// Where the tests find the shared data: ../shared beside the checkout (as in CI), or MNIST_DIR.
import { fileURLToPath } from 'node:url';

export const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
export const FIXTURES = `${SHARED}fixtures/`;
export const MNIST_DIR = process.env.MNIST_DIR ?? `${SHARED}data/mnist`;
