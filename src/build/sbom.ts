import { readFile } from 'node:fs/promises';
import { type ClosureSource, loadClosure } from '../closure/stores/table.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { sbomModel } from '../sbom/sbom.js';

/** What `strata sbom` takes: a closure. */
export type SbomOptions = ClosureSource;

/** A CycloneDX JSON SBOM of a closure, naming strata (its package.json) as the tool: `strata sbom`. */
export async function closureSbom(options: SbomOptions): Promise<string> {
  const { name, version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return cycloneDx(sbomModel({ closure: await loadClosure(options), tool: { name, version } }));
}
