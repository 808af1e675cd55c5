// Model files from anyone: weight paths cannot reach outside the model folder (and a refusal tells
// nothing about what they pointed at), FIFOs and oversized files are refused without reading them,
// poisoned weights and malformed manifests are named, and file:// URLs work while other schemes
// are refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useTempDirs } from './temp-dirs.ts';
import { loadModel, Sequential, Dense, Flatten, Tensor } from '../src/index.ts';

const tempDir = useTempDirs();

function smallMlp(seed: number): Sequential {
  return new Sequential([new Flatten({ inputShape: [2, 3, 1] }), new Dense({ units: 4, activation: 'softmax' })], { seed });
}

/** A saved model (weights: dense/kernel [6, 4], dense/bias [4]) in `root/model`, and a folder `root/outside` beside it. */
async function savedModel(): Promise<{ root: string; dir: string; outside: string; weightBytes: number }> {
  const root = tempDir();
  const dir = join(root, 'model');
  await smallMlp(1).save(dir);
  const outside = join(root, 'outside');
  mkdirSync(outside);
  return { root, dir, outside, weightBytes: readFileSync(join(dir, 'weights.bin')).length };
}

function editJson(dir: string, change: (json: any) => void): void {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  change(json);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
}

const setPath = (dir: string, path: string) => editJson(dir, (j) => (j.weightsManifest[0].paths = [path]));

async function loadError(dir: string): Promise<string> {
  try {
    await loadModel(dir);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`loadModel(${dir}) succeeded`);
}

describe('weight paths stay inside the model folder', () => {
  it('refuses ../ and absolute paths, even to a file of the right size', async () => {
    const { dir, outside, weightBytes } = await savedModel();
    writeFileSync(join(outside, 'secret.bin'), Buffer.alloc(weightBytes));
    setPath(dir, '../outside/secret.bin');
    expect(await loadError(dir)).toBe(`${join(dir, 'model.json')}: weightsManifest path "../outside/secret.bin" leaves the model folder`);
    setPath(dir, join(outside, 'secret.bin'));
    expect(await loadError(dir)).toMatch(/weightsManifest path ".*secret\.bin" leaves the model folder$/);
    setPath(dir, '../../../../../../../../etc/passwd');
    expect(await loadError(dir)).toMatch(/"\.\.\/\.\.\/.*etc\/passwd" leaves the model folder$/);
  });

  it('refuses links that lead outside, saying the same whether their target exists or not', async () => {
    const { dir, outside, weightBytes } = await savedModel();
    writeFileSync(join(outside, 'secret.bin'), Buffer.alloc(weightBytes));
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'to-file.bin'));
    symlinkSync(join(outside, 'missing.bin'), join(dir, 'to-missing.bin'));
    symlinkSync(outside, join(dir, 'sub'));
    const messages = [];
    for (const path of ['to-file.bin', 'to-missing.bin', 'sub/secret.bin', 'sub/missing.bin']) {
      setPath(dir, path);
      const message = await loadError(dir);
      expect(message).toBe(`${join(dir, 'model.json')}: weightsManifest path "${path}" is not a regular file inside the model folder`);
      messages.push(message.replace(path, 'P'));
    }
    expect(new Set(messages).size).toBe(1);
  });

  it('follows links that stay inside, and names a file that is simply missing', async () => {
    const { dir } = await savedModel();
    mkdirSync(join(dir, 'shards'));
    symlinkSync('../weights.bin', join(dir, 'shards', 'linked.bin'));
    setPath(dir, 'shards/linked.bin');
    expect((await loadModel(dir)).getWeights()[0].data).toEqual(smallMlp(1).getWeights()[0].data);
    setPath(dir, 'shards/absent.bin');
    expect(await loadError(dir)).toBe(`cannot read weights: ${join(dir, 'shards/absent.bin')}: no such file`);
  });

  it('refuses a FIFO without hanging, and a folder', async () => {
    const { dir } = await savedModel();
    execFileSync('mkfifo', [join(dir, 'pipe.bin')]);
    setPath(dir, 'pipe.bin');
    expect(await loadError(dir)).toMatch(/weightsManifest path "pipe\.bin" is not a regular file inside the model folder$/);
    mkdirSync(join(dir, 'folder.bin'));
    setPath(dir, 'folder.bin');
    expect(await loadError(dir)).toMatch(/weightsManifest path "folder\.bin" is not a regular file inside the model folder$/);
    setPath(dir, '.');
    expect(await loadError(dir)).toMatch(/weightsManifest path "\." is not a regular file inside the model folder$/);
  }, 10_000);

  it('refuses a model.json that is a FIFO without hanging', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'model.json')]);
    expect(await loadError(dir)).toBe(`cannot read model: ${join(dir, 'model.json')} is not a regular file`);
  }, 10_000);
});

describe('file sizes are checked before reading', () => {
  it('refuses a huge weights file by its size, naming the file and both sizes', async () => {
    const { dir, weightBytes } = await savedModel();
    truncateSync(join(dir, 'weights.bin'), 3 * 2 ** 30); // sparse: takes no disk space
    expect(await loadError(dir)).toBe(
      `${join(dir, 'weights.bin')}: ${3 * 2 ** 30} bytes, but the manifest needs ${weightBytes} (the file is truncated or does not belong to this model.json)`,
    );
  });

  it('refuses a weights file a few bytes too long, naming it as the caller did', async () => {
    const { root, dir, weightBytes } = await savedModel();
    truncateSync(join(dir, 'weights.bin'), weightBytes + 4);
    symlinkSync(dir, join(root, 'alias'));
    expect(await loadError(join(root, 'alias'))).toMatch(
      new RegExp(`^${join(root, 'alias', 'weights.bin')}: ${weightBytes + 4} bytes, but the manifest needs ${weightBytes} `),
    );
  });

  it('refuses a model.json over 16 MiB before parsing it', async () => {
    const { dir } = await savedModel();
    truncateSync(join(dir, 'model.json'), 16 * 2 ** 20 + 1);
    expect(await loadError(dir)).toBe(`cannot read model: ${join(dir, 'model.json')} has ${16 * 2 ** 20 + 1} bytes, more than the 16 MiB a model.json may have`);
  });

  it('reads shards in order, checking their total', async () => {
    const { dir } = await savedModel();
    const bytes = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'a.bin'), bytes.subarray(0, 37));
    writeFileSync(join(dir, 'b.bin'), bytes.subarray(37));
    editJson(dir, (j) => (j.weightsManifest[0].paths = ['a.bin', 'b.bin']));
    expect((await loadModel(dir)).getWeights().map((w) => [...w.data])).toEqual(smallMlp(1).getWeights().map((w) => [...w.data]));
    writeFileSync(join(dir, 'b.bin'), bytes.subarray(38));
    expect(await loadError(dir)).toMatch(/a\.bin \+ .*b\.bin: \d+ bytes, but the manifest needs \d+/);
  });
});

describe('poisoned weights and manifests', () => {
  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['2000000', 2e6],
  ])('refuses a weight of %s, naming the weight and the index', async (text, value) => {
    const { dir } = await savedModel();
    const bytes = readFileSync(join(dir, 'weights.bin'));
    // dense/kernel has 24 values; index 2 of dense/bias is float 26.
    bytes.writeFloatLE(value, 26 * 4);
    writeFileSync(join(dir, 'weights.bin'), bytes);
    expect(await loadError(dir)).toBe(
      `${join(dir, 'model.json')}: weight "dense/bias" has the value ${text} at index 2 (weights must be finite, within ±1000000)`,
    );
  });

  it('refuses to save NaN weights, writing nothing', async () => {
    const dir = join(tempDir(), 'model');
    const model = smallMlp(1);
    const weights = model.getWeights();
    weights[0].data[5] = NaN;
    model.setWeights(weights);
    await expect(model.save(dir)).rejects.toThrow('save: weight "dense/kernel" has the value NaN at index 5 (weights must be finite, within ±1000000); nothing was written');
    expect(existsSync(dir)).toBe(false);
  });

  it.each<[string, (json: any) => void, RegExp]>([
    ['dtype int32', (j) => (j.weightsManifest[0].weights[0].dtype = 'int32'), /weight "dense\/kernel" has dtype "int32"; only float32 is supported/],
    ['no dtype', (j) => delete j.weightsManifest[0].weights[0].dtype, /weight "dense\/kernel" has dtype undefined; only float32 is supported/],
    ['quantized', (j) => (j.weightsManifest[0].weights[1].quantization = { dtype: 'uint8', scale: 1, min: 0 }), /weight "dense\/bias" is quantized/],
    ['shape with 0', (j) => (j.weightsManifest[0].weights[0].shape = [0, 4]), /weight "dense\/kernel" has the shape \[0,4\]; a shape is a list of positive integers/],
    ['shape with -1', (j) => (j.weightsManifest[0].weights[0].shape = [-1, 4]), /has the shape \[-1,4\]/],
    ['shape with 1.5', (j) => (j.weightsManifest[0].weights[0].shape = [1.5, 4]), /has the shape \[1\.5,4\]/],
    ['shape a string', (j) => (j.weightsManifest[0].weights[0].shape = '6,4'), /has the shape "6,4"/],
    ['huge shape', (j) => (j.weightsManifest[0].weights[0].shape = [1e6, 1e6, 1e6]), /weight "dense\/kernel" brings the weights past 1 GiB/],
    ['path not a string', (j) => (j.weightsManifest[0].paths = [7]), /weightsManifest\[0\] has the path 7, not a file name/],
    ['no paths', (j) => delete j.weightsManifest[0].paths, /weightsManifest\[0\] needs "paths" and "weights" lists/],
    ['a wrong name', (j) => (j.weightsManifest[0].weights[1].name = 'other/bias'), /weightsManifest lists "other\/bias" where the topology has dense\/bias \(weight 1\)/],
    ['not an object', (j) => (j.weightsManifest = null), /has no weightsManifest/],
  ])('refuses a manifest with %s', async (_name, change, expected) => {
    const { dir } = await savedModel();
    editJson(dir, change);
    expect(await loadError(dir)).toMatch(expected);
  });

  it('refuses a model.json that is JSON but not an object', async () => {
    const { dir } = await savedModel();
    writeFileSync(join(dir, 'model.json'), 'null');
    expect(await loadError(dir)).toBe(`${join(dir, 'model.json')}: is not a JSON object`);
  });
});

describe('model locations', () => {
  const x = Tensor.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 2, 3, 1]);
  // In an empty working folder, so a location misread as a relative path shows up there.
  const cwd = process.cwd();
  let work = '';
  beforeEach(() => {
    work = tempDir();
    process.chdir(work);
  });
  afterEach(() => process.chdir(cwd));

  it('saves to and loads from file:// URLs', async () => {
    const dir = join(tempDir(), 'with space');
    const url = pathToFileURL(dir).href;
    expect(url).toMatch(/^file:\/\/\/.*with%20space$/);
    const model = smallMlp(2);
    await model.save(url);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await loadModel(url)).predict(x).data).toEqual(model.predict(x).data);
    expect((await loadModel(new URL(url))).predict(x).data).toEqual(model.predict(x).data);
    expect(readdirSync(work)).toEqual([]);
  });

  it('refuses other URL schemes, naming them, and creates nothing', async () => {
    await expect(smallMlp(2).save('http://example.com/model')).rejects.toThrow(
      'save: "http://example.com/model" uses the http:// scheme; only folder paths and file:// URLs are supported',
    );
    await expect(smallMlp(2).save('indexeddb://my-model')).rejects.toThrow(/"indexeddb:\/\/my-model" uses the indexeddb:\/\/ scheme/);
    await expect(loadModel('localstorage://m')).rejects.toThrow('loadModel: "localstorage://m" uses the localstorage:// scheme; only folder paths and file:// URLs are supported');
    expect(readdirSync(work)).toEqual([]);
  });
});
