import type { CommonSinkOptions, Format } from '../../image/format.js';
import type { RegistryReadOptions } from './reader.js';
import type { RegistryOptions } from './sink.js';

/** A registry (docker://HOST[:PORT]/REPO[:TAG|@DIGEST]): read by every command that reads images, written to by push, stream and image. */
export const registry: Format<CommonSinkOptions & { registry?: RegistryOptions }, { registry?: RegistryReadOptions }> = {
  name: 'docker',
  reader: {
    kind: 'remote',
    async open(reference, name, options) {
      const { openRegistrySource } = await import('./reader.js');
      return openRegistrySource(reference, name, options.registry);
    },
  },
  // The manifest is put last, so there is nothing to commit or undo.
  async openSink(reference, options) {
    const [{ parseRegistryReference }, { RegistrySink }] = await Promise.all([import('./reference.js'), import('./sink.js')]);
    const sink = new RegistrySink(parseRegistryReference(reference), { ...options.registry, compression: options.compression, level: options.level, progress: options.progress, cache: options.cache });
    return { sink, commit: async () => {}, abort: async () => {} };
  },
  async attach(reference, doc, options) {
    const { pushReferrer } = await import('./referrer.js');
    return `docker:${reference} (referrer ${await pushReferrer(reference, doc, { ...options.registry, digest: options.digest })})`;
  },
};
