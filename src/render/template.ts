import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors.js';

/** A file of templates/, found by walking up from this module (src/ in tests, dist/ installed). */
export function templatePath(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'templates', name);
    if (existsSync(file)) return file;
    const parent = dirname(dir);
    if (parent === dir) throw new StrataError(`templates/${name} not found next to strata`);
    dir = parent;
  }
}
