// MNIST from IDX files the user dropped on the page (.gz or not): named as the originals
// (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ..., also the "train-images.idx3-ubyte"
// spelling), inflated and parsed by the engine's own IDX code, as loadMnist does.
import { DATASETS, splitFromIdx, type MnistSplit } from '../src/data/datasets.ts';
import { inflateIdx } from '../src/data/idx-format.ts';
import { IDX_ROLE_NAMES, idxRole, type IdxRole } from './files.ts';

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

/** The four MNIST files, as dropped; the error names the missing ones. */
export async function mnistFromFiles(files: readonly { name: string; bytes: ArrayBuffer }[]): Promise<Mnist> {
  const found = new Map<IdxRole, { name: string; bytes: Uint8Array }>();
  for (const f of files) {
    const role = idxRole(f.name);
    if (role) found.set(role, { name: f.name, bytes: new Uint8Array(f.bytes) });
  }
  const missing = (Object.keys(IDX_ROLE_NAMES) as IdxRole[]).filter((r) => !found.has(r));
  if (missing.length) throw new Error(`the dropped files lack ${missing.map((r) => IDX_ROLE_NAMES[r]).join(', ')} (.gz or not)`);
  const file = async (role: IdxRole) => {
    const { name, bytes } = found.get(role)!;
    return { name, bytes: await inflateIdx(bytes, name, /images/i.test(role) ? 'images' : 'labels') };
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    (['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const).map(file),
  );
  return { train: splitFromIdx(DATASETS.mnist, trainImages, trainLabels), test: splitFromIdx(DATASETS.mnist, testImages, testLabels) };
}
