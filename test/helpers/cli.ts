import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT, nixEnv, runTool, tmpDir } from './store.js';

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

let sharedInstall: string | undefined;

/**
 * The built CLI copied with its runtime dependencies into a world-readable
 * temp dir, for tests that run strata as another user: the clone itself may
 * sit in a private directory (a home directory of mode 0700).
 */
export function worldReadableCli(): string {
  if (sharedInstall === undefined) {
    const dir = tmpDir('strata-installed-');
    chmodSync(dir, 0o755);
    cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
    const prod = runTool('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, allowFailure: true }).stdout.split('\n');
    for (const pkg of prod.filter((p) => p.startsWith(join(REPO_ROOT, 'node_modules') + '/'))) {
      cpSync(pkg, join(dir, relative(REPO_ROOT, pkg)), { recursive: true });
    }
    sharedInstall = join(dir, 'dist', 'cli.js');
  }
  return sharedInstall;
}
