import { writeFile } from 'node:fs/promises';
import { StrataError } from '../../errors.js';
import type { PushedBlob, RegistryOptions } from './sink.js';

const SAID: Record<PushedBlob['status'], string> = { pushed: 'pushed', skipped: 'skipped (exists)', mounted: 'mounted' };

/** Byte totals of a push, by what happened to the blobs. */
function pushTotals(blobs: PushedBlob[]): Record<PushedBlob['status'], { blobs: number; bytes: number }> {
  const totals = { pushed: { blobs: 0, bytes: 0 }, skipped: { blobs: 0, bytes: 0 }, mounted: { blobs: 0, bytes: 0 } };
  for (const b of blobs) {
    totals[b.status].blobs++;
    totals[b.status].bytes += b.size;
  }
  return totals;
}

/**
 * What `push` and `--to docker://` tell: a line per blob and the totals
 * through `log` (stderr, above any progress line); on stdout the manifest
 * digest alone, or with `json` the whole report as one JSON object; the
 * digest also in `digestfile` (as skopeo).
 */
export function pushReport(options: { json?: boolean; digestfile?: string; log: (line: string, to?: NodeJS.WritableStream) => void }): Pick<RegistryOptions, 'onBlob' | 'onPushed'> {
  const { log } = options;
  return {
    onBlob: (b) => log(`${b.what} ${b.digest.slice(0, 19)}: ${SAID[b.status]}, ${b.size} bytes`),
    async onPushed(result) {
      const totals = pushTotals(result.blobs);
      log(
        `${result.reference}: ${totals.pushed.bytes} bytes sent (${totals.pushed.blobs} blobs), ${totals.skipped.bytes} skipped (${totals.skipped.blobs} already there), ` +
          `${totals.mounted.bytes} mounted (${totals.mounted.blobs}); manifest ${result.digest}`,
      );
      log(options.json ? JSON.stringify({ ...result, totals }) : result.digest, process.stdout);
      if (options.digestfile !== undefined) {
        await writeFile(options.digestfile, result.digest).catch((e: NodeJS.ErrnoException) => {
          throw new StrataError(`--digestfile ${options.digestfile}: cannot write (${e.code}); the image was pushed as ${result.digest}`);
        });
      }
    },
  };
}
