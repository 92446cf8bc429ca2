import { readFileSync, writeSync } from 'node:fs';

/**
 * With STRATA_STATS set, one line on stderr at exit: the bytes this process
 * read (read(2) on every thread, from /proc/self/io: page cache hits count,
 * so a file read twice counts twice) and its peak resident memory. For the
 * benchmark, which checks that every store file is read once.
 */
export function reportStatsAtExit(): void {
  if (!process.env.STRATA_STATS) return;
  process.on('exit', () => {
    let read = 'unknown';
    try {
      read = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? read;
    } catch {
      // Not Linux: no count.
    }
    const line = `strata: stats: read ${read} bytes, peak RSS ${process.resourceUsage().maxRSS} kB\n`;
    // Straight to fd 2: a run that wrote nothing else to stderr need not create process.stderr to exit.
    try {
      writeSync(2, line);
    } catch {
      // Made non-blocking by a process.stderr created before, and full.
      process.stderr.write(line);
    }
  });
}
