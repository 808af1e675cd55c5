// Where the tests find their data: the TF.js fixtures in test/fixtures/, and MNIST where `train`
// looks for it (MNIST_DIR, else data/mnist).
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const MNIST_DIR = process.env.MNIST_DIR ?? fileURLToPath(new URL('../data/mnist', import.meta.url));
