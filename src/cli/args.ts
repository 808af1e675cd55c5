/**
 * A tiny strict flag parser for the command-line tools (no dependency).
 *
 *   const spec = {
 *     epochs: { type: 'int', min: 1, default: 5, help: 'passes over the training set' },
 *     model: { type: 'enum', values: ['mlp', 'cnn'], default: 'cnn', help: 'architecture' },
 *     dataDir: { type: 'string', help: 'folder with the MNIST IDX files' },   // --data-dir
 *   } as const satisfies FlagSpecs;
 *   const { flags, positionals, help } = parseArgs(process.argv.slice(2), spec);
 *
 * Keys are camelCase, flags kebab-case (`batchSize` is `--batch-size`). `--flag value` and
 * `--flag=value`; booleans are `--flag`, `--no-flag` or `--flag=true|false`; `--` ends the flags.
 * `--help` / `-h` sets `help` (nothing else is validated then). Every mistake throws an ArgsError
 * whose one-line message says the fix.
 */

interface Common {
  help: string;
  /** Shown in the help as the value's name, e.g. DIR. */
  valueName?: string;
  /** Must be given (no default). */
  required?: boolean;
}
export interface StringFlag extends Common {
  type: 'string';
  default?: string;
}
export interface IntFlag extends Common {
  type: 'int';
  default?: number;
  min?: number;
  max?: number;
}
export interface FloatFlag extends Common {
  type: 'float';
  default?: number;
  min?: number;
  max?: number;
  /** The value must be greater than `min`, not equal to it (e.g. min 0 exclusive = positive). */
  exclusiveMin?: boolean;
}
export interface BooleanFlag extends Common {
  type: 'boolean';
  default?: boolean;
}
export interface EnumFlag extends Common {
  type: 'enum';
  values: readonly string[];
  default?: string;
}
export type FlagSpec = StringFlag | IntFlag | FloatFlag | BooleanFlag | EnumFlag;
export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<F> = F extends { type: 'string' }
  ? string
  : F extends { type: 'int' | 'float' }
    ? number
    : F extends { type: 'boolean' }
      ? boolean
      : F extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : never;

/** Flags with a default, required flags and booleans always have a value; others may be undefined. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]: S[K] extends { default: unknown } | { required: true } | { type: 'boolean' }
    ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

export interface ParsedArgs<S extends FlagSpecs> {
  flags: FlagValues<S>;
  positionals: string[];
  /** --help or -h was given: print formatHelp(...) and exit 0. */
  help: boolean;
}

export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

export interface ParseOptions {
  /** Positional arguments allowed: minimum and maximum count (default: none allowed). */
  positionals?: { min?: number; max?: number; name?: string };
}

/** camelCase -> kebab-case: batchSize -> batch-size. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

function suggest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = levenshtein(name, k);
    const prefix = k.startsWith(name) || name.startsWith(k);
    const score = prefix ? Math.min(d, 1) : d;
    if (score < bestScore) {
      bestScore = score;
      best = k;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function describeNumber(spec: IntFlag | FloatFlag): string {
  const kind = spec.type === 'int' ? 'integer' : 'number';
  const { min, max } = spec;
  const exclusive = spec.type === 'float' && spec.exclusiveMin;
  if (min !== undefined && max !== undefined) {
    return `${spec.type === 'int' ? 'an integer' : 'a number'} ${exclusive ? `> ${min} and <= ${max}` : `from ${min} to ${max}`}`;
  }
  if (min !== undefined) {
    if (min === 0 && exclusive) return `a positive ${kind}`;
    if (min === 1 && spec.type === 'int') return 'a positive integer';
    if (min === 0) return `a non-negative ${kind}`;
    return `${spec.type === 'int' ? 'an integer' : 'a number'} ${exclusive ? '>' : '>='} ${min}`;
  }
  if (max !== undefined) return `${spec.type === 'int' ? 'an integer' : 'a number'} <= ${max}`;
  return spec.type === 'int' ? 'an integer' : 'a number';
}

function convert(flag: string, spec: FlagSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      if (raw === '') throw new ArgsError(`--${flag} needs a non-empty value`);
      return raw;
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      throw new ArgsError(`--${flag} must be true or false, got "${raw}" (or write --${flag} / --no-${flag})`);
    }
    case 'enum':
      if (!spec.values.includes(raw)) {
        throw new ArgsError(`--${flag} must be one of ${spec.values.join(', ')}, got "${raw}"`);
      }
      return raw;
    case 'int':
    case 'float': {
      const pattern = spec.type === 'int' ? /^[-+]?\d+$/ : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
      const n = Number(raw);
      const ok =
        pattern.test(raw.trim()) &&
        Number.isFinite(n) &&
        (spec.type !== 'int' || Number.isSafeInteger(n)) &&
        (spec.min === undefined || (spec.type === 'float' && spec.exclusiveMin ? n > spec.min : n >= spec.min)) &&
        (spec.max === undefined || n <= spec.max);
      if (!ok) throw new ArgsError(`--${flag} must be ${describeNumber(spec)}, got "${raw}"`);
      return n;
    }
  }
}

function example(flag: string, spec: FlagSpec): string {
  if (spec.type === 'enum') return `--${flag} ${spec.values[0]}`;
  if (spec.default !== undefined) return `--${flag} ${spec.default}`;
  if (spec.type === 'int') return `--${flag} ${spec.min !== undefined && spec.min > 1 ? spec.min : 10}`;
  if (spec.type === 'float') return `--${flag} 0.001`;
  return `--${flag} ${spec.valueName ?? 'VALUE'}`;
}

/** Parses argv (without node and the script) against the spec. Throws ArgsError on any mistake. */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], spec: S, options: ParseOptions = {}): ParsedArgs<S> {
  const byFlag = new Map<string, [string, FlagSpec]>();
  for (const [key, s] of Object.entries(spec)) byFlag.set(flagName(key), [key, s]);
  const known = [...byFlag.keys(), 'help'];
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const help = argv.some((a, i) => (a === '--help' || a === '-h') && !argv.slice(0, i).includes('--'));

  const fail = (message: string): never => {
    throw new ArgsError(message);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') continue;
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) {
      if (help) continue;
      const hint = suggest(arg.replace(/^-+/, ''), known);
      fail(`unknown flag ${arg}${hint ? ` (did you mean --${hint}?)` : ''}; flags are written --name (see --help)`);
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let entry = byFlag.get(name);
    if (!entry && name.startsWith('no-') && byFlag.get(name.slice(3))?.[1].type === 'boolean') {
      if (inline !== undefined && !help) fail(`--${name} takes no value; write --${name.slice(3)}=${inline} instead`);
      name = name.slice(3);
      entry = byFlag.get(name);
      inline = 'false';
    }
    if (!entry) {
      if (help) continue;
      const hint = suggest(name, known);
      fail(`unknown flag --${name}${hint ? ` (did you mean --${hint}?)` : ''}; see --help for the flags`);
    }
    const [key, s] = entry!;
    let raw: string;
    if (inline !== undefined) {
      raw = inline;
    } else if (s.type === 'boolean') {
      raw = 'true';
    } else {
      // The next argument is the value unless it is missing or looks like a flag (a negative
      // number is a value; a string value starting with '-' is written --flag=-value).
      const next = argv[i + 1];
      if (next === undefined || next === '--' || (next.startsWith('-') && !/^-(\d|\.\d)/.test(next))) {
        if (help) continue;
        fail(`--${name} needs a value, e.g. ${example(name, s)}`);
      }
      raw = next;
      i++;
    }
    try {
      values[key] = convert(name, s, raw);
    } catch (err) {
      if (!help) throw err;
    }
  }

  for (const [key, s] of Object.entries(spec)) {
    if (values[key] !== undefined) continue;
    if (s.default !== undefined) values[key] = s.default;
    else if (s.type === 'boolean') values[key] = false;
    else if (s.required && !help) fail(`--${flagName(key)} is required, e.g. ${example(flagName(key), s)}`);
  }

  if (!help) {
    const min = options.positionals?.min ?? 0;
    const max = options.positionals?.max ?? (options.positionals ? Infinity : 0);
    const what = options.positionals?.name ?? 'argument';
    if (positionals.length > max) {
      const extra = positionals[max];
      fail(
        max === 0
          ? `unexpected argument "${extra}": this command takes only flags (see --help)`
          : `too many ${what}s: at most ${max}, got ${positionals.length}`,
      );
    }
    if (positionals.length < min) fail(`missing ${what}: give at least ${min} (see --help)`);
  }

  return { flags: values as FlagValues<S>, positionals, help };
}

export interface HelpOptions {
  /** e.g. "npm run train -- [flags]". */
  usage: string;
  description?: string;
  /** Extra lines at the end (examples). */
  epilog?: string;
}

/** Help text: usage, description, then one line per flag with its type, default and help. */
export function formatHelp(spec: FlagSpecs, options: HelpOptions): string {
  const rows: [string, string][] = [];
  for (const [key, s] of Object.entries(spec)) {
    const flag = flagName(key);
    // A boolean that is on by default is used as --no-flag: show both forms.
    let left = s.type === 'boolean' && s.default === true ? `--[no-]${flag}` : `--${flag}`;
    if (s.type === 'enum') left += ` ${s.values.join('|')}`;
    else if (s.type !== 'boolean') left += ` ${s.valueName ?? (s.type === 'string' ? 'VALUE' : s.type === 'int' ? 'N' : 'X')}`;
    const notes: string[] = [];
    if (s.required) notes.push('required');
    if (s.type === 'boolean') {
      if (s.default) notes.push('default on');
    } else if (s.default !== undefined) {
      notes.push(`default ${s.default}`);
    }
    rows.push([left, s.help + (notes.length ? ` (${notes.join(', ')})` : '')]);
  }
  rows.push(['--help, -h', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  // Run through the package's command (bin/wasm-mnist-engine.ts sets this), name it instead of `npm run`.
  const command = process.env.WASM_MNIST_ENGINE_COMMAND;
  const usage = command ? options.usage.replace(/^npm run \S+ --/, command) : options.usage;
  const lines = [`Usage: ${usage}`];
  if (options.description) lines.push('', options.description);
  lines.push('', 'Flags:');
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}  ${r}`);
  if (options.epilog) lines.push('', options.epilog);
  return lines.join('\n');
}
