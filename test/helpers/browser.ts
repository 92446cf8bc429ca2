/**
 * Headless Chromium (Debian's `chromium`, installed by scripts/install-deps.sh)
 * for tests of the HTML strata writes: load a page, let its scripts run, and
 * read back the DOM and the browser's console log.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTool, tmpDir } from './store.js';

export interface LoadedPage {
  /** The DOM after the page's scripts ran, serialised. */
  dom: string;
  /** Lines the page logged to the console (errors included): Chromium's `CONSOLE` log lines. */
  console: string[];
}

/** Open `file` in headless Chromium, run its scripts, and return the resulting DOM and console lines. */
export function loadPage(file: string): LoadedPage {
  const profile = join(tmpDir('strata-chromium-'), 'profile');
  const r = runTool('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`,
    '--enable-logging=stderr', '--v=0', '--dump-dom', pathToFileURL(resolve(file)).href,
  ]);
  return { dom: r.stdout, console: r.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
}
