// MNIST from IDX files the user dropped on the page (.gz or not): named as the originals
// (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ..., also the "train-images.idx3-ubyte"
// spelling), parsed with the engine's IDX parser.
import { Tensor } from '../src/tensor.ts';
import { isGzip, parseIdxImages, parseIdxLabels } from '../src/data/idx.ts';
import { IDX_ROLE_NAMES, idxRole, type IdxRole as Role } from './files.ts';

export interface MnistSplit {
  images: Tensor;
  labels: Uint8Array;
}
export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function split(images: Uint8Array, imagesName: string, labels: Uint8Array, labelsName: string): MnistSplit {
  const im = parseIdxImages(images, imagesName);
  if (im.rows !== 28 || im.cols !== 28) throw new Error(`${imagesName}: images are ${im.rows}x${im.cols}, MNIST's are 28x28`);
  const lb = parseIdxLabels(labels, labelsName);
  if (im.count !== lb.count) throw new Error(`${imagesName} has ${im.count} images but ${labelsName} has ${lb.count} labels`);
  const pixels = new Float32Array(im.pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = im.pixels[i] / 255;
  return { images: new Tensor(pixels, [im.count, 28, 28, 1]), labels: Uint8Array.from(lb.labels) };
}

/** The four MNIST files, as dropped; the error names the missing ones. */
export async function mnistFromFiles(files: readonly { name: string; bytes: ArrayBuffer }[]): Promise<Mnist> {
  const found = new Map<Role, { name: string; bytes: Uint8Array }>();
  for (const f of files) {
    const role = idxRole(f.name);
    if (role) found.set(role, { name: f.name, bytes: new Uint8Array(f.bytes) });
  }
  const missing = (Object.keys(IDX_ROLE_NAMES) as Role[]).filter((r) => !found.has(r));
  if (missing.length) throw new Error(`the dropped files lack ${missing.map((r) => IDX_ROLE_NAMES[r]).join(', ')} (.gz or not)`);
  const get = async (r: Role) => ({ name: found.get(r)!.name, bytes: await inflate(found.get(r)!.bytes) });
  const [ti, tl, vi, vl] = await Promise.all([get('trainImages'), get('trainLabels'), get('testImages'), get('testLabels')]);
  return { train: split(ti.bytes, ti.name, tl.bytes, tl.name), test: split(vi.bytes, vi.name, vl.bytes, vl.name) };
}
