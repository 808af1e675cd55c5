// JavaScript callers get no compile-time check of option names: a misspelt `epohcs` or an option
// this engine does not have (`kernelInitializer`) would be silently ignored. Refuse them by name.

/** Throws if `options` has a key not in `known`, naming it (and the closest known name). */
export function checkOptions(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${owner}: options must be an object, got ${Array.isArray(options) ? 'an array' : String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const hint = near.length ? ` (did you mean "${near[0]}"?)` : '';
    throw new Error(`${owner}: unknown option "${key}"${hint}; the options are ${known.join(', ')}`);
  }
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The options every layer takes. */
export const LAYER_OPTIONS = ['name', 'inputShape'] as const;
