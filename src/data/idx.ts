/**
 * Reading IDX files in Node; the format itself (parsing, inflating, checks) is idx-format.ts,
 * which a browser uses too. Every error names the file and what is wrong with it.
 */
import { readFile, stat } from 'node:fs/promises';
import { IdxFormatError, MAX_IDX_BYTES, inflateIdx, parseIdxImages, parseIdxLabels } from './idx-format.ts';
import type { IdxImages, IdxKind, IdxLabels, ParseLabelsOptions, ParseOptions } from './idx-format.ts';

export * from './idx-format.ts';

/** Reads an IDX file (gzip or raw) and returns its uncompressed bytes, refusing absurd sizes. */
export async function readIdxBytes(filePath: string, kind: IdxKind): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    const { size } = await stat(filePath);
    // Checked before reading: the file itself must not be absurdly large either.
    if (size > MAX_IDX_BYTES) {
      throw new IdxFormatError(filePath, `${size} bytes, more than the ${MAX_IDX_BYTES} an IDX file may have here`);
    }
    buf = await readFile(filePath);
  } catch (err) {
    if (err instanceof IdxFormatError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new IdxFormatError(filePath, e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.message})`);
  }
  return inflateIdx(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), filePath, kind);
}

export async function readIdxImages(filePath: string, options: ParseOptions = {}): Promise<IdxImages> {
  return parseIdxImages(await readIdxBytes(filePath, 'images'), filePath, options);
}

export async function readIdxLabels(filePath: string, options: ParseLabelsOptions = {}): Promise<IdxLabels> {
  return parseIdxLabels(await readIdxBytes(filePath, 'labels'), filePath, options);
}

