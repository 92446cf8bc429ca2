import { StrataError } from '../errors.js';
import { openOutput } from '../output.js';
import type { DigestCache } from '../layer/digest-cache.js';
import type { Progress } from '../progress.js';
import type { RegistryOptions } from '../registry/sink.js';
import type { Compression } from './compression.js';
import type { ImageSink } from './model.js';

/** What a destination needs beyond its name. */
export interface SinkOptions {
  /** Layer digests kept across runs (docker-archive reads each layer once when they hit). */
  cache?: DigestCache;
  compression?: Compression;
  level?: number;
  progress?: Progress;
  /** Credentials, TLS, mounts, manifest format and reporting of docker:// destinations. */
  registry?: RegistryOptions;
}

/** A sink that becomes visible under its name only on commit. */
export interface OpenedSink {
  sink: ImageSink;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A kind of destination, named as skopeo names it: `TRANSPORT:REFERENCE`.
 * Each loads its sink when opened, so a run loads only the one it writes.
 */
export interface Transport {
  name: string;
  open(reference: string, options: SinkOptions): Promise<OpenedSink>;
}

const uncompressedOnly = (name: string, options: SinkOptions): void => {
  if (options.compression && options.compression !== 'none') {
    throw new StrataError(`--compression ${options.compression}: ${name} holds uncompressed layers (as docker load expects); use --to oci:DIR or oci-archive:FILE`);
  }
};

/** `PATH[:REF]`, split at the first colon as skopeo does. */
export const pathAndRef = (reference: string): [string, string | undefined] => {
  const i = reference.indexOf(':');
  return i < 0 ? [reference, undefined] : [reference.slice(0, i), reference.slice(i + 1) || undefined];
};

const noCommit = async (): Promise<void> => {};

export const TRANSPORTS: Transport[] = [
  {
    name: 'docker-archive',
    async open(reference, options) {
      uncompressedOnly('docker-archive', options);
      const { DockerArchiveSink } = await import('./docker-archive.js');
      const output = openOutput(reference === '' ? '-' : reference);
      return { sink: new DockerArchiveSink(output.sink, options.progress, options.cache), commit: output.commit, abort: output.abort };
    },
  },
  {
    name: 'oci',
    async open(reference, options) {
      const [dir, ref] = pathAndRef(reference);
      if (dir === '') throw new StrataError('--to oci:DIR[:REF] needs a directory');
      const { OciLayoutSink } = await import('./oci-layout.js');
      return { sink: new OciLayoutSink(dir, { ...options, ref }), commit: noCommit, abort: noCommit };
    },
  },
  {
    name: 'oci-archive',
    async open(reference, options) {
      const [path, ref] = pathAndRef(reference);
      if (path === '' || path === '-') throw new StrataError('--to oci-archive:FILE[:REF] needs a file name');
      const { OciArchiveSink } = await import('./oci-archive.js');
      const output = openOutput(path);
      return { sink: new OciArchiveSink(output.sink, path, { ...options, ref }), commit: output.commit, abort: output.abort };
    },
  },
  {
    // A registry: the manifest is put last, so there is nothing to commit or undo.
    name: 'docker',
    async open(reference, options) {
      const [{ parseRegistryReference }, { RegistrySink }] = await Promise.all([import('../registry/reference.js'), import('../registry/sink.js')]);
      const sink = new RegistrySink(parseRegistryReference(reference), { ...options.registry, compression: options.compression, level: options.level, progress: options.progress, cache: options.cache });
      return { sink, commit: noCommit, abort: noCommit };
    },
  },
];

/** Open a destination such as `docker-archive:img.tar`, `oci:dir:tag`, or `-` (docker-archive on stdout). */
export function openDestination(name: string, options: SinkOptions = {}): Promise<OpenedSink> {
  if (name === '-') return openDestination('docker-archive:-', options);
  const colon = name.indexOf(':');
  const transport = TRANSPORTS.find((t) => t.name === name.slice(0, colon));
  if (colon < 0 || !transport) {
    throw new StrataError(`--to ${name}: expected TRANSPORT:REFERENCE with a transport of ${TRANSPORTS.map((t) => t.name).join(', ')} (e.g. oci:./layout:latest), or - for stdout`);
  }
  return transport.open(name.slice(colon + 1), options);
}
