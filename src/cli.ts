#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { closureCommand } from './commands/closure.js';
import { confCommand } from './commands/conf.js';
import { diffCommand } from './commands/diff.js';
import { exportCommand } from './commands/export.js';
import { imageCommand } from './commands/image.js';
import { inspectCommand } from './commands/inspect.js';
import { mergeCommand } from './commands/merge.js';
import { planCommand } from './commands/plan.js';
import { pullCommand } from './commands/pull.js';
import { pushCommand } from './commands/push.js';
import { renderCommand } from './commands/render.js';
import { reportCommand } from './commands/report.js';
import { sbomCommand } from './commands/sbom.js';
import { simulateCommand } from './commands/simulate.js';
import { streamCommand } from './commands/stream.js';
import { verifyCommand } from './commands/verify.js';
import { ExitCode, StrataError } from './errors.js';
import { reportStatsAtExit } from './util/run-stats.js';

// The CLI registers the commands (commands/, one module each) and turns
// errors into exit codes.

/** The version in the package.json beside dist/ (yargs would look above its own node_modules: another package's when strata is a dependency). */
async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<void> {
  const commands = [closureCommand, planCommand, confCommand, streamCommand, imageCommand, renderCommand, simulateCommand, reportCommand, diffCommand, inspectCommand, verifyCommand, exportCommand, mergeCommand, pushCommand, pullCommand, sbomCommand];
  const cli = commands.reduce((y, command) => command(y), yargs(argv).scriptName('strata').usage('$0 <command>: layered container images from Nix and Guix store closures'));
  await cli
    .demandCommand(1, 'name a command; see strata --help')
    .strict()
    .recommendCommands()
    .completion('completion', 'print a bash completion script (strata completion >> ~/.bashrc)')
    .help()
    .alias('h', 'help')
    .version(await packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      throw err ?? new StrataError(msg);
    })
    .parseAsync();
}

reportStatsAtExit();
main(hideBin(process.argv)).catch((e: unknown) => {
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
