import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Whether descriptor `fd` is a terminal. node:tty (which loads node:net)
 * is loaded only for a character device: a run on pipes and files, and
 * --version, go without it.
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(fd);
}
