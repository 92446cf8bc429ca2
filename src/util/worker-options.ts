import type { WorkerOptions } from 'node:worker_threads';

/**
 * What every strata thread is started with: its own stdout and stderr
 * (without them Node creates the process's, making a pipe on fd 1
 * non-blocking), and the process's Node flags but `--input-type`, which
 * would make a thread's file or eval'd program something it is not (a
 * program run as `node --input-type=module -e` using strata's library).
 */
export function workerOptions(): WorkerOptions {
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) execArgv.push(arg);
  }
  return { stdout: true, stderr: true, execArgv };
}
