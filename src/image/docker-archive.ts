import { createHash } from 'node:crypto';
import { ExitCode, StrataError } from '../errors.js';
import type { ByteSink } from '../output.js';
import { type Progress, silent } from '../progress.js';
import { encodeHeader, endOfArchive, padding, tarHeader } from '../tar/header.js';
import { dumpPyJson, type PyValue } from '../util/pyjson.js';
import type { Image, ImageSink, Layer } from './model.js';

/**
 * Docker Image Spec v1.2 archive (what `docker load`, `podman load` and
 * `skopeo copy docker-archive:` read), written as a stream in the member
 * order and format of nixpkgs' stream_layered_image.py. A layer whose digest
 * is unknown is read twice: once to hash, once to send, and the second read
 * must match the first.
 */
export class DockerArchiveSink implements ImageSink {
  constructor(
    private readonly out: ByteSink,
    private readonly progress: Progress = silent,
  ) {}

  async write(image: Image): Promise<void> {
    let offset = 0;
    const put = async (chunk: Buffer): Promise<void> => {
      offset += chunk.length;
      await this.out.write(chunk);
    };
    const names: string[] = [];
    const diffIds: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      this.progress.step(`layer ${i + 1}/${image.layers.length}: ${layer.contents.join(' ')}`);
      const { digest, size } = layer.known ?? (await measure(layer));
      const name = layer.member?.name ?? `${digest.slice('sha256:'.length)}/layer.tar`;
      await put(encodeHeader(tarHeader({ mtime: image.mtime, ...layer.member, name, size })));
      await sendVerified(layer, digest, size, name, put);
      await put(padding(size));
      names.push(name);
      diffIds.push(digest);
    }
    const config = image.config(diffIds);
    const configName = `${sha256(config)}.json`;
    const manifest: PyValue = [new Map<string, PyValue>([['Config', configName], ['RepoTags', image.repoTags], ['Layers', names]])];
    for (const [name, bytes] of [[configName, config], ['manifest.json', Buffer.from(dumpPyJson(manifest, 4))]] as const) {
      await put(encodeHeader(tarHeader({ name, size: bytes.length, mtime: image.mtime })));
      await put(bytes);
      await put(padding(bytes.length));
    }
    await put(endOfArchive(offset));
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Digest and size of a layer, by reading it. */
export async function measure(layer: Layer): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of layer.open()) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function sendVerified(layer: Layer, digest: string, size: number, name: string, put: (b: Buffer) => Promise<void>): Promise<void> {
  const hash = createHash('sha256');
  let sent = 0;
  const changed = (what: string): StrataError =>
    new StrataError(`layer ${name} (${layer.contents.join(' ')}): ${what}; its files changed while the image was written, or the recorded digest is wrong`, ExitCode.Integrity);
  for await (const chunk of layer.open()) {
    if (sent + chunk.length > size) throw changed(`more than the ${size} bytes measured`);
    hash.update(chunk);
    sent += chunk.length;
    await put(chunk);
  }
  if (sent !== size) throw changed(`${sent} bytes instead of the ${size} measured`);
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) throw changed(`content digest ${got} instead of ${digest}`);
}
