import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, nixEnv } from './store.js';

export const CLI = join(REPO_ROOT, 'dist', 'cli.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  status: number;
  stdoutBytes: Buffer;
}

/** Run the built strata CLI (the real bin), never throwing. */
export function strata(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: options.env ?? nixEnv(),
    cwd: options.cwd,
    maxBuffer: 1 << 30,
  });
  return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), status: r.status ?? -1, stdoutBytes: r.stdout };
}

/** Run strata and fail with its stderr unless it exits 0. */
export function strataOk(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const r = strata(args, options);
  if (r.status !== 0) throw new Error(`strata ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}
