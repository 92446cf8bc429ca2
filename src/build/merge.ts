import { createReadStream } from 'node:fs';
import { StrataError } from '../errors.js';
import { openOutput } from '../output.js';
import { openImageSource } from '../formats/table.js';
import { encodeHeader, endOfArchive, padding, tarHeader } from '../tar/header.js';
import { sha256Hex } from '../model/digest.js';
import { type PyValue, dumpPyJson } from '../util/pyjson.js';
import { spoolLayers, withScratch } from './flatten.js';

/** Member times: 1970-01-01T00:00:01Z, nixpkgs' default `created`. */
const MTIME = 1;

/** What `strata merge` takes. */
export interface MergeOptions {
  /** The images (any format strata reads, each archive plain or compressed). */
  images: string[];
  /** The docker-archive file; `-` (the default) for standard output. */
  output?: string;
}

/**
 * `strata merge`: every image in one docker-archive that `docker load`
 * loads at once: a layer shared by several images is stored once, each
 * image keeps its config bytes (so its id) and its tags.
 */
export async function mergeImages(options: MergeOptions): Promise<{ images: number; layers: number }> {
  const { images, output = '-' } = options;
  if (images.length === 0) throw new StrataError('give the images to merge');
  return withScratch(async (dir) => {
    const out = openOutput(output);
    try {
      const put = (b: Buffer): Promise<void> => out.sink.write(b);
      const member = async (name: string, bytes: Buffer): Promise<void> => {
        await put(encodeHeader(tarHeader({ name, size: bytes.length, mtime: MTIME })));
        await put(bytes);
        await put(padding(bytes.length));
      };
      const written = new Set<string>();
      const manifest: PyValue[] = [];
      const configs: [string, Buffer][] = [];
      for (const [n, name] of images.entries()) {
        const source = await openImageSource(name);
        try {
          for (const [m, image] of source.images.entries()) {
            const layers: string[] = [];
            for (const spooled of await spoolLayers(image, dir, `${n}-${m}-`)) {
              const layerName = `${spooled.layer.known.digest.slice('sha256:'.length)}/layer.tar`;
              layers.push(layerName);
              if (written.has(layerName)) continue;
              written.add(layerName);
              await put(encodeHeader(tarHeader({ name: layerName, size: spooled.size, mtime: MTIME })));
              for await (const chunk of createReadStream(spooled.file)) await put(chunk as Buffer);
              await put(padding(spooled.size));
            }
            const configName = `${sha256Hex(image.config.bytes)}.json`;
            if (!configs.some(([c]) => c === configName)) configs.push([configName, image.config.bytes]);
            manifest.push(new Map<string, PyValue>([['Config', configName], ['RepoTags', image.refs], ['Layers', layers]]));
          }
        } finally {
          await source.close();
        }
      }
      for (const [name, bytes] of configs) await member(name, bytes);
      await member('manifest.json', Buffer.from(dumpPyJson(manifest, 4)));
      await put(endOfArchive(out.sink.bytes));
      await out.commit();
      return { images: manifest.length, layers: written.size };
    } catch (e) {
      await out.abort();
      throw e;
    }
  });
}
