import type { CommonSinkOptions, Format } from '../../image/format.js';
import type { RegistryOptions } from './sink.js';

/** A registry (docker://HOST[:PORT]/REPO[:TAG|@DIGEST]): written to by push, stream and image. */
export const registry: Format<CommonSinkOptions & { registry?: RegistryOptions }> = {
  name: 'docker',
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
