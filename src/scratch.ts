import { rmSync } from 'node:fs';

// Temporary files and directories (an output's temporary name, a layout
// made before it is archived, a decompressed copy of an archive) are removed
// when strata exits, and on SIGINT, SIGTERM and SIGHUP, after which it
// exits 128 + the signal's number, as shells expect. The handlers are
// installed only while something is pending, so a program using strata as a
// library keeps its own signal handling the rest of the time.

const pending = new Set<string>();
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNAL_NUMBERS;

function removeAll(): void {
  for (const path of pending) rmSync(path, { recursive: true, force: true });
  pending.clear();
}

function onSignal(signal: HandledSignal): void {
  removeAll();
  process.exit(128 + SIGNAL_NUMBERS[signal]);
}

function install(): void {
  process.on('exit', removeAll);
  for (const s of Object.keys(SIGNAL_NUMBERS) as HandledSignal[]) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', removeAll);
  for (const s of Object.keys(SIGNAL_NUMBERS) as HandledSignal[]) process.off(s, onSignal);
}

/**
 * Remove `path` (a file, or a directory and all it holds) if strata exits
 * or is interrupted before the returned function is called; that function
 * forgets it (it was renamed into place, or already removed).
 */
export function removeOnExit(path: string): () => void {
  if (pending.size === 0) install();
  pending.add(path);
  return () => {
    if (pending.delete(path) && pending.size === 0) uninstall();
  };
}
