// What a picked or dropped file is: one of MNIST's four IDX files, or part of a saved model
// (model.json and its weights files). Pure: the page sorts files with it, the worker reads them.

const IDX_ROLES = {
  trainImages: /^train-images[.-]idx3-ubyte(\.gz)?$/,
  trainLabels: /^train-labels[.-]idx1-ubyte(\.gz)?$/,
  testImages: /^t10k-images[.-]idx3-ubyte(\.gz)?$/,
  testLabels: /^t10k-labels[.-]idx1-ubyte(\.gz)?$/,
} as const;
export type IdxRole = keyof typeof IDX_ROLES;
export const IDX_ROLE_NAMES: Record<IdxRole, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** Which MNIST file a name is (the original names, .gz or not, also "train-images.idx3-ubyte"), or undefined. */
export function idxRole(name: string): IdxRole | undefined {
  return (Object.keys(IDX_ROLES) as IdxRole[]).find((role) => IDX_ROLES[role].test(name));
}

export const isModelPart = (name: string) => /\.(json|bin)$/i.test(name);

/**
 * model.json and the weights files its manifest names (by name; a lone .bin stands for a single
 * differently named weights file), joined into one buffer in manifest order.
 */
export function assembleModel(files: readonly { name: string; bytes: ArrayBuffer }[]): { modelJson: string; weights: Uint8Array } {
  const jsons = files.filter((f) => /\.json$/i.test(f.name));
  const json = jsons.find((f) => f.name === 'model.json') ?? jsons[0];
  if (!json) throw new Error('no model.json among the files: pick model.json and weights.bin together');
  const modelJson = new TextDecoder().decode(json.bytes);
  let manifest: { paths?: unknown }[];
  try {
    const parsed = JSON.parse(modelJson) as { weightsManifest?: { paths?: unknown }[] };
    manifest = Array.isArray(parsed.weightsManifest) ? parsed.weightsManifest : [];
  } catch (error) {
    throw new Error(`${json.name} is not JSON (${(error as Error).message})`);
  }
  const paths = manifest.flatMap((g) => (Array.isArray(g.paths) ? g.paths.map(String) : []));
  const bins = files.filter((f) => /\.bin$/i.test(f.name));
  const base = (p: string) => p.split('/').pop()!;
  const parts = paths.map((p) => bins.find((b) => b.name === base(p)) ?? (paths.length === 1 && bins.length === 1 ? bins[0] : undefined));
  const missing = paths.filter((_, i) => !parts[i]);
  if (missing.length) throw new Error(`${json.name} names ${missing.map(base).join(', ')}: pick ${missing.length === 1 ? 'it' : 'them'} with ${json.name}`);
  const total = parts.reduce((s, p) => s + p!.bytes.byteLength, 0);
  const weights = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    weights.set(new Uint8Array(p!.bytes), at);
    at += p!.bytes.byteLength;
  }
  return { modelJson, weights };
}
