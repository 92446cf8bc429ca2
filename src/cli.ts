#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { ExitCode, StrataError } from './errors.js';
import { leanYargs } from './util/lean-yargs.js';
import { reportStatsAtExit } from './util/run-stats.js';
import { isTerminal } from './util/terminal.js';

// The CLI registers the commands (commands/, one module each) and turns
// errors into exit codes.

/** The version in the package.json beside dist/ (yargs would look above its own node_modules: another package's when strata is a dependency). */
async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * The commands by name, in the order of --help, each loaded only when run:
 * a command's module pulls in the library behind it (tar, compression,
 * templates), which a run of another command should not pay to load.
 */
const COMMANDS = {
  closure: async () => (await import('./commands/closure.js')).closureCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  conf: async () => (await import('./commands/conf.js')).confCommand,
  stream: async () => (await import('./commands/stream.js')).streamCommand,
  image: async () => (await import('./commands/image.js')).imageCommand,
  render: async () => (await import('./commands/render.js')).renderCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  diff: async () => (await import('./commands/diff.js')).diffCommand,
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  verify: async () => (await import('./commands/verify.js')).verifyCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  merge: async () => (await import('./commands/merge.js')).mergeCommand,
  push: async () => (await import('./commands/push.js')).pushCommand,
  pull: async () => (await import('./commands/pull.js')).pullCommand,
  sbom: async () => (await import('./commands/sbom.js')).sbomCommand,
};

async function main(argv: string[]): Promise<void> {
  // A run naming a command registers that one alone, --version none; anything
  // else (help, completion, a typo to recommend a command for) needs them all.
  const first = argv[0] ?? '';
  const named = Object.hasOwn(COMMANDS, first) ? [COMMANDS[first as keyof typeof COMMANDS]] : first === '--version' ? [] : Object.values(COMMANDS);
  // Help text is rendered only for --help (or -h, maybe in a group of short
  // flags) or when no command is named (help, completion).
  const mayPrintHelp = named.length > 1 || argv.some((a) => a === '--help' || /^-[^-]*h/.test(a));
  const [y, commands, version] = await Promise.all([leanYargs(argv, mayPrintHelp), Promise.all(named.map((load) => load())), packageVersion()]);
  const cli = commands.reduce((y, command) => command(y), y.scriptName('strata').usage('$0 <command>: layered container images from Nix and Guix store closures'));
  await cli
    .demandCommand(1, 'name a command; see strata --help')
    .strict()
    .recommendCommands()
    .completion('completion', 'print a bash completion script (strata completion >> ~/.bashrc)')
    .help()
    .alias('h', 'help')
    .version(version)
    // Asked of a terminal only: creating process.stdout makes a pipe on fd 1 non-blocking.
    .wrap(Math.min(110, (isTerminal(1) ? process.stdout.columns : undefined) ?? 100))
    .fail((msg, err) => {
      throw err ?? new StrataError(msg);
    })
    .parseAsync();
}

reportStatsAtExit();
// Once the event loop is empty (a pending write keeps it busy, so nothing is
// left unwritten), exit: the exit handlers still run (scratch files, stats),
// and Node's freeing of the heap, some 10 ms after a store walk, is skipped.
process.once('beforeExit', (code) => process.exit(code));
// The arguments after node and the script (yargs/helpers' hideBin would load yargs' whole entry).
main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof StrataError) {
    if (e.exitCode !== ExitCode.BrokenPipe) process.stderr.write(`strata: ${e.message}\n`);
  } else {
    process.stderr.write(`strata: internal error: ${e instanceof Error ? (process.env.STRATA_DEBUG ? e.stack : e.message) : String(e)}\n`);
  }
  // Exit now: work an error left behind (a cache read, a worker, a stream of
  // another layer) must not keep the process alive. Scratch files go with the
  // exit handler; stderr, a pipe or a terminal, is written synchronously.
  process.exit(e instanceof StrataError ? e.exitCode : ExitCode.Internal);
});
