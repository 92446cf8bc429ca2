import { createReadStream } from 'node:fs';
import { StrataError } from '../errors.js';
import type { Layer } from '../image/model.js';
import { indexTar, readMember, type TarMember } from '../tar/reader.js';
import { type PyObject, type PyValue, parsePyJson } from '../util/pyjson.js';

/** A base image's layers, carried over unchanged, and its config. */
export interface BaseImage {
  layers: Layer[];
  /** The image config (its "config" key holds Env, Cmd, ...). */
  imageJson: PyObject;
}

/**
 * Read a docker-archive used as `from_image`: the first manifest entry, its
 * config, and its layers with the digests its `rootfs.diff_ids` give (so the
 * layers must be uncompressed tars, as in nixpkgs).
 */
export async function readDockerArchive(file: string): Promise<BaseImage> {
  const members = await indexTar(file);
  const byName = new Map<string, TarMember>();
  for (const m of members) byName.set(m.name.replace(/^\.\//, ''), m);
  const member = (name: string, what: string): TarMember => {
    if (name.startsWith('/') || name.split('/').includes('..')) {
      throw new StrataError(`from_image ${file}: ${what} '${name}' escapes the archive; refusing it`);
    }
    const m = byName.get(name.replace(/^\.\//, ''));
    if (!m) throw new StrataError(`from_image ${file}: ${what} '${name}' is missing; is it a docker-archive (docker save, skopeo copy docker-archive:)?`);
    return m;
  };
  const json = async (name: string, what: string): Promise<PyValue> =>
    parsePyJson((await readMember(file, member(name, what))).toString('utf8'), `from_image ${file}: ${name}`);

  const manifest = await json('manifest.json', 'manifest');
  const first = Array.isArray(manifest) ? manifest[0] : undefined;
  if (!(first instanceof Map)) throw new StrataError(`from_image ${file}: manifest.json must be a non-empty list of {Config, Layers}`);
  const configName = first.get('Config');
  const layerNames = first.get('Layers');
  if (typeof configName !== 'string' || !Array.isArray(layerNames) || layerNames.some((l) => typeof l !== 'string')) {
    throw new StrataError(`from_image ${file}: manifest.json's first entry needs a string Config and a list of Layers`);
  }
  const imageJson = await json(configName, 'config');
  const rootfs = imageJson instanceof Map ? imageJson.get('rootfs') : undefined;
  const diffIds = rootfs instanceof Map ? rootfs.get('diff_ids') : undefined;
  if (!(imageJson instanceof Map) || !Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d))) {
    throw new StrataError(`from_image ${file}: config ${configName} needs rootfs.diff_ids, a list of sha256 digests`);
  }
  if (diffIds.length !== layerNames.length) {
    throw new StrataError(`from_image ${file}: manifest lists ${layerNames.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  const layers = (layerNames as string[]).map((name, i): Layer => {
    const m = member(name, 'layer');
    return {
      contents: [m.name],
      known: { digest: diffIds[i] as string, size: m.size },
      // Python re-adds the member as it read it, pax records included.
      member: { name: m.name, mode: m.mode, uid: m.uid, gid: m.gid, uname: m.uname, gname: m.gname, mtime: m.mtime, pax: m.pax },
      open: () => (m.size === 0 ? emptyStream() : createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 })),
    };
  });
  return { layers, imageJson };
}

async function* emptyStream(): AsyncGenerator<Buffer> {}

/** How many layers a base image brings (they count against the layer budget). */
export async function countBaseLayers(file: string): Promise<number> {
  return (await readDockerArchive(file)).layers.length;
}
