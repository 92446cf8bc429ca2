import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import type { Argv } from 'yargs';
import { isTerminal } from './terminal.js';

// yargs' own ESM entry imports cliui and string-width up front, and loading
// them (Unicode tables, an Intl.Segmenter) is most of yargs' start-up cost,
// paid by every run though only help text uses them. This builds yargs from
// its factory with the Node platform yargs' entry would give it, but with the
// text renderer loaded only for a run that may print help.

type UsageInternals = { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } };
type Renderer = { cliui: (opts: unknown) => unknown; stringWidth: (text: string) => number };

const yargsRoot = dirname(fileURLToPath(import.meta.resolve('yargs/package.json')));
// yargs' dependencies, resolved as yargs itself resolves them.
const requireFromYargs = createRequire(join(yargsRoot, 'package.json'));
const importFromYargs = async <T>(spec: string): Promise<T> => ((await import(pathToFileURL(requireFromYargs.resolve(spec)).href)) as { default: T }).default;
const yargsFile = (path: string): string => pathToFileURL(join(yargsRoot, path)).href;
type Check = (actual: unknown, expected: unknown, message?: string) => void;
const nodeAssert = (): { notStrictEqual: Check; strictEqual: Check } => requireFromYargs('node:assert') as ReturnType<typeof nodeAssert>;

async function loadRenderer(): Promise<Renderer> {
  const [cliui, stringWidth] = await Promise.all([importFromYargs<Renderer['cliui']>('cliui'), importFromYargs<Renderer['stringWidth']>('string-width')]);
  return { cliui, stringWidth };
}

/**
 * A yargs instance over `argv`, as `yargs(argv)` from yargs' entry; `mayPrintHelp`
 * false leaves the help renderer unloaded (loaded synchronously should help be
 * printed after all).
 */
export async function leanYargs(argv: string[], mayPrintHelp: boolean): Promise<Argv> {
  const [{ YargsFactory }, { getProcessArgvBin }, Parser, preloaded] = await Promise.all([
    import(yargsFile('build/lib/yargs-factory.js')) as Promise<{ YargsFactory: (shim: unknown) => (argv: string[]) => Argv }>,
    import(yargsFile('build/lib/utils/process-argv.js')) as Promise<{ getProcessArgvBin: () => string }>,
    importFromYargs<unknown>('yargs-parser'),
    mayPrintHelp ? loadRenderer() : undefined,
  ]);
  // CommonJS both: required, as import() would load and run Node's CommonJS export lexer for them.
  const findUp = requireFromYargs('escalade/sync') as unknown;
  const y18n = requireFromYargs('y18n') as (opts: { directory: string; updateFiles: boolean }) => unknown;
  let renderer = preloaded;
  // require() of an ES module gives its namespace, or its 'module.exports' export where it has one (cliui).
  const requireDefault = <T>(spec: string): T => {
    const loaded = requireFromYargs(spec) as T | { default: T };
    return typeof loaded === 'function' ? loaded : (loaded as { default: T }).default;
  };
  const render = (): Renderer => (renderer ??= { cliui: requireDefault('cliui'), stringWidth: requireDefault('string-width') });
  const shim = {
    // yargs asserts as it registers options; node:assert (some milliseconds to load) is loaded only to report a failure.
    assert: {
      notStrictEqual: (actual: unknown, expected: unknown, message?: string) => {
        if (actual === expected) nodeAssert().notStrictEqual(actual, expected, message);
      },
      strictEqual: (actual: unknown, expected: unknown, message?: string) => {
        if (actual !== expected) nodeAssert().strictEqual(actual, expected, message);
      },
    },
    cliui: (opts: unknown) => render().cliui(opts),
    findUp,
    getEnv: (key: string) => process.env[key],
    inspect,
    getProcessArgvBin,
    mainFilename: yargsRoot.includes('node_modules') ? yargsRoot.slice(0, yargsRoot.lastIndexOf('node_modules')) : process.cwd(),
    Parser,
    path: { basename, dirname, extname, relative, resolve, join },
    process: {
      argv: () => process.argv,
      cwd: process.cwd,
      emitWarning: (warning: string, type: string) => process.emitWarning(warning, type),
      execPath: () => process.execPath,
      exit: (code: number) => process.exit(code),
      nextTick: process.nextTick,
      // Asked of a terminal only: creating process.stdout makes a pipe on fd 1 non-blocking.
      stdColumns: isTerminal(1) ? (process.stdout.columns ?? null) : null,
    },
    readFileSync,
    readdirSync,
    require: requireFromYargs,
    getCallerFile: () => {
      throw new Error('commandDir is not available: strata registers its commands itself');
    },
    stringWidth: (text: string) => render().stringWidth(text),
    y18n: y18n({ directory: join(yargsRoot, 'locales'), updateFiles: false }),
  };
  const y = YargsFactory(shim)(argv);
  // Before running a command yargs renders its whole help, kept for a handler
  // that fails to show; strata's failures print one line, never help, so that
  // rendering is skipped (help asked for is rendered when shown, as before).
  (y as unknown as UsageInternals).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
  return y;
}
