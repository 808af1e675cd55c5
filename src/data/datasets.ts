// The datasets the engine knows (MNIST and Fashion-MNIST: file names, checksums, class names) and
// how their IDX bytes become tensors. No file access: mnist.ts finds, downloads and reads the files
// in Node; src/browser.ts fetches them.
import { Tensor } from '../tensor.ts';
import { IdxFormatError, parseIdxImages, parseIdxLabels } from './idx-format.ts';

/** The IDX file names, the same for every dataset here. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
export type MnistFileName = (typeof MNIST_FILES)[keyof typeof MNIST_FILES];

export type DatasetName = 'mnist' | 'fashion-mnist';

export interface DatasetInfo {
  /** The name in messages, e.g. 'Fashion-MNIST'. */
  label: string;
  /** Class id -> name. */
  classNames: string[];
  files: typeof MNIST_FILES;
  /** SHA-256 of each uncompressed original file. */
  sha256: Readonly<Record<MnistFileName, string>>;
  /** Base URLs of the gzip files, tried in order. */
  mirrors: readonly string[];
  /** Env variable with a folder holding the files. */
  dirEnv: string;
  /** Env variable with mirrors (comma or space separated) replacing `mirrors`. */
  mirrorsEnv: string;
  /** [rows, cols] of every image. */
  imageSize: readonly [number, number];
}

export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: {
    label: 'MNIST',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    files: MNIST_FILES,
    sha256: {
      'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
      'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
      't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
      't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    },
    mirrors: ['https://storage.googleapis.com/cvdf-datasets/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'],
    dirEnv: 'MNIST_DIR',
    mirrorsEnv: 'MNIST_MIRRORS',
    imageSize: [28, 28],
  },
  'fashion-mnist': {
    label: 'Fashion-MNIST',
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    files: MNIST_FILES,
    // Computed from Debian's dataset-fashion-mnist (its .gz files are recompressed, the contents are the originals).
    sha256: {
      'train-images-idx3-ubyte': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
      'train-labels-idx1-ubyte': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
      't10k-images-idx3-ubyte': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      't10k-labels-idx1-ubyte': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    },
    mirrors: [
      'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
      // Plain HTTP only; the checksum still guards the content.
      'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    ],
    dirEnv: 'FASHION_MNIST_DIR',
    mirrorsEnv: 'FASHION_MNIST_MIRRORS',
    imageSize: [28, 28],
  },
};

export interface MnistSplit {
  /** [N, rows, cols, 1] (28x28 for MNIST), float32 = byte / 255. */
  images: Tensor;
  /** Class ids 0-9. */
  labels: Uint8Array;
}

const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** Bytes 0-255 to float32 in [0, 1] (byte / 255, as the Keras reference does). */
export function bytesToUnitFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_UNIT[bytes[i]];
  return out;
}

/**
 * One split from the uncompressed bytes of its two IDX files (named in errors by `imagesName` and
 * `labelsName`): the images must have the dataset's size, the labels its classes, and as many.
 */
export function splitFromIdx(
  dataset: DatasetInfo,
  images: { bytes: Uint8Array; name: string },
  labels: { bytes: Uint8Array; name: string },
  limit?: number,
): MnistSplit {
  const parsedImages = parseIdxImages(images.bytes, images.name, { limit });
  const [rows, cols] = dataset.imageSize;
  if (parsedImages.rows !== rows || parsedImages.cols !== cols) {
    throw new IdxFormatError(images.name, `images are ${parsedImages.rows}x${parsedImages.cols}, ${dataset.label} images are ${rows}x${cols}`);
  }
  const parsedLabels = parseIdxLabels(labels.bytes, labels.name, { limit, classes: dataset.classNames.length });
  if (parsedImages.count !== parsedLabels.count) {
    throw new Error(`${images.name} has ${parsedImages.count} images but ${labels.name} has ${parsedLabels.count} labels`);
  }
  return {
    images: new Tensor(bytesToUnitFloats(parsedImages.pixels), [parsedImages.count, parsedImages.rows, parsedImages.cols, 1]),
    labels: Uint8Array.from(parsedLabels.labels),
  };
}
