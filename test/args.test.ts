import { describe, expect, it } from 'vitest';
import { ArgsError, type FlagSpecs, formatHelp, parseArgs } from '../src/cli/args.ts';
import { ENGINE_FLAGS } from '../src/cli/run.ts';
import { MAX_THREADS } from '../src/backend/index.ts';

const spec = {
  model: { type: 'enum', values: ['mlp', 'cnn'], default: 'cnn', help: 'architecture' },
  epochs: { type: 'int', min: 1, default: 5, help: 'passes over the training set' },
  batchSize: { type: 'int', min: 1, default: 128, help: 'examples per step' },
  learningRate: { type: 'float', min: 0, exclusiveMin: true, default: 0.001, help: 'step size' },
  seed: { type: 'int', default: 42, help: 'random seed' },
  dataDir: { type: 'string', valueName: 'DIR', help: 'folder with the MNIST IDX files' },
  out: { type: 'string', valueName: 'DIR', default: 'models/mnist', help: 'output folder' },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const satisfies FlagSpecs;

const parse = (...argv: string[]) => parseArgs(argv, spec);

describe('parseArgs', () => {
  it('applies defaults', () => {
    const { flags, positionals, help } = parse();
    expect(flags).toEqual({
      model: 'cnn',
      epochs: 5,
      batchSize: 128,
      learningRate: 0.001,
      seed: 42,
      dataDir: undefined,
      out: 'models/mnist',
      quiet: false,
    });
    expect(positionals).toEqual([]);
    expect(help).toBe(false);
  });

  it('parses --flag value, --flag=value, booleans and negative numbers', () => {
    const { flags } = parse('--model', 'mlp', '--epochs=3', '--learning-rate', '1e-2', '--seed', '-7', '--quiet', '--data-dir=/x y');
    expect(flags).toMatchObject({ model: 'mlp', epochs: 3, learningRate: 0.01, seed: -7, quiet: true, dataDir: '/x y' });
    expect(parse('--quiet', '--no-quiet').flags.quiet).toBe(false);
    expect(parse('--quiet=false').flags.quiet).toBe(false);
  });

  it('collects positionals when allowed, and after --', () => {
    const p = parseArgs(['a.png', '--model', 'mlp', 'b.png', '--', '--c.png'], spec, { positionals: { min: 1, name: 'image' } });
    expect(p.positionals).toEqual(['a.png', 'b.png', '--c.png']);
    expect(() => parseArgs([], spec, { positionals: { min: 1, name: 'image' } })).toThrow('missing image: give at least 1');
    expect(() => parse('stray')).toThrow('unexpected argument "stray": this command takes only flags (see --help)');
  });

  it('says the fix for unknown flags', () => {
    expect(() => parse('--epoch', '3')).toThrow('unknown flag --epoch (did you mean --epochs?)');
    expect(() => parse('--batchsize', '3')).toThrow('unknown flag --batchsize (did you mean --batch-size?)');
    expect(() => parse('--learning_rate=0.1')).toThrow('(did you mean --learning-rate?)');
    expect(() => parse('--zzzzzzzz')).toThrow(/^unknown flag --zzzzzzzz; see --help for the flags$/);
    expect(() => parse('-e', '3')).toThrow(/^unknown flag -e/);
  });

  it('says the fix for bad values', () => {
    expect(() => parse('--epochs', 'abc')).toThrow('--epochs must be a positive integer, got "abc"');
    expect(() => parse('--epochs', '0')).toThrow('--epochs must be a positive integer, got "0"');
    expect(() => parse('--epochs', '2.5')).toThrow('--epochs must be a positive integer, got "2.5"');
    expect(() => parse('--seed', '1x')).toThrow('--seed must be an integer, got "1x"');
    expect(() => parse('--learning-rate', '0')).toThrow('--learning-rate must be a positive number, got "0"');
    expect(() => parse('--learning-rate', 'fast')).toThrow('--learning-rate must be a positive number, got "fast"');
    expect(() => parse('--model', 'rnn')).toThrow('--model must be one of mlp, cnn, got "rnn"');
    expect(() => parse('--quiet=maybe')).toThrow('--quiet must be true or false, got "maybe"');
  });

  it('says the fix for missing values', () => {
    expect(() => parse('--epochs')).toThrow('--epochs needs a value, e.g. --epochs 5');
    expect(() => parse('--data-dir', '--epochs', '3')).toThrow('--data-dir needs a value, e.g. --data-dir DIR');
    expect(() => parseArgs([], { model: { type: 'string', required: true, valueName: 'DIR', help: 'model folder' } })).toThrow(
      '--model is required, e.g. --model DIR',
    );
  });

  it('throws ArgsError with a one-line message', () => {
    try {
      parse('--epochs', 'x');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ArgsError);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('--help wins over other mistakes and the help lists every flag', () => {
    const p = parse('--epochs', 'abc', '--bogus', '--help');
    expect(p.help).toBe(true);
    expect(parse('-h').help).toBe(true);
    const text = formatHelp(spec, { usage: 'npm run train -- [flags]', description: 'Trains MNIST.' });
    expect(text.split('\n')[0]).toBe('Usage: npm run train -- [flags]');
    expect(text).toMatch(/--model mlp\|cnn\s+architecture \(default cnn\)/);
    expect(text).toMatch(/--learning-rate X\s+step size \(default 0.001\)/);
    expect(text).toMatch(/--data-dir DIR\s+folder with the MNIST IDX files$/m);
    expect(text).toMatch(/--quiet\s+no progress bar$/m);
    expect(text).toMatch(/--help, -h\s+show this help/);
  });

  it('shows a boolean that is on by default as --[no-]flag', () => {
    const text = formatHelp({ report: { type: 'boolean', default: true, help: 'write the report' } }, { usage: 'x' });
    expect(text).toMatch(/^ {2}--\[no-\]report\s+write the report \(default on\)$/m);
    expect(parseArgs(['--no-report'], { report: { type: 'boolean', default: true, help: '' } }).flags.report).toBe(false);
  });

  it('refuses --threads above the engine\'s limit, naming the flag', () => {
    expect(parseArgs(['--threads', String(MAX_THREADS)], ENGINE_FLAGS).flags.threads).toBe(MAX_THREADS);
    expect(() => parseArgs(['--threads', String(MAX_THREADS + 1)], ENGINE_FLAGS)).toThrow(
      `--threads must be an integer from 1 to ${MAX_THREADS}, got "${MAX_THREADS + 1}"`,
    );
  });
});
