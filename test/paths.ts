// Where the tests find their data: the TF.js fixtures in test/fixtures/, and MNIST where `train`
// finds it (MNIST_DIR, else data/mnist, downloaded there if missing). Tests that need real digits
// skip, with this one-line reason printed once, only when no copy can be found or downloaded.
import { fileURLToPath } from 'node:url';
import { loadMnistSplit } from '../src/data/mnist.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

let missing = '';
/** The MNIST folder, or '' when there is none (then `describe.skipIf(!MNIST_DIR)`). */
export const MNIST_DIR: string = await loadMnistSplit('test', { limit: 1, onProgress: () => {} }).then(
  (split) => split.dataDir,
  (error: Error) => ((missing = error.message.replace(/\s*\n\s*/g, ' ').slice(0, 300)), ''),
);
if (!MNIST_DIR) console.warn(`skipping the tests that need real MNIST digits: ${missing}`);
