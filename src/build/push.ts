import { StrataError } from '../errors.js';
import type { SinkOptions } from '../formats/table.js';
import { pullImage } from './pull.js';

/**
 * Push an image (docker-archive, oci:DIR[:REF], oci-archive, or a
 * registry's docker://..., read with the same registry options) to
 * `docker://...`: its config as it is, its layers as stored when their
 * compression is wanted. A source with several platforms is pushed as a
 * multi-platform index.
 */
export async function pushImage(source: string, destination: string, options: SinkOptions = {}): Promise<void> {
  if (!destination.startsWith('docker:')) {
    throw new StrataError(`${destination}: push sends images to a registry; name it as docker://HOST[:PORT]/REPO[:TAG] (to write files, use strata stream --to)`);
  }
  await pullImage({ source, destination, sourceOptions: { registry: options.registry }, sinkOptions: options });
}
