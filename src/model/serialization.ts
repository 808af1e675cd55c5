// Loading a model folder in Node: model.json and the weight files its manifest names, read safely
// (load-files.ts), then checked and built from the bytes like any artifacts (artifacts.ts).
import { join } from 'node:path';
import type { Sequential } from './sequential.ts';
import { MODEL_JSON } from './model-format.ts';
import { finishModel, parseModel, type ModelOptions } from './artifacts.ts';
import { readModelJson, readWeights } from './load-files.ts';
import { modelFolder } from '../platform/node-files.ts';

export { saveModel } from './save.ts';
export { modelFromArtifacts } from './artifacts.ts';

/**
 * Reads a model saved by `save` or by TensorFlow.js (`model.save('file://dir')`) from a folder
 * path or a file:// URL. Files from anyone are safe to load: see load-files.ts.
 */
export async function loadModel(location: string | URL, options: ModelOptions = {}): Promise<Sequential> {
  const dir = modelFolder(location, 'loadModel');
  const modelPath = join(dir, MODEL_JSON);
  const parsed = parseModel(await readModelJson(modelPath), modelPath, options);
  const data = await readWeights(dir, parsed.manifest, parsed.fail);
  return finishModel(parsed, data);
}
