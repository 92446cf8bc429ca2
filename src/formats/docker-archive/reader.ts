import { posix } from 'node:path';
import { ExitCode, StrataError } from '../../errors.js';
import { type Compression, sniffCompression } from '../../image/compression.js';
import { DOCKER_LAYER } from '../../model/media-types.js';
import { sha256Digest } from '../../model/digest.js';
import { TarType } from '../../tar/header.js';
import type { TarMember } from '../../tar/reader.js';
import { type PyObject, type PyValue, parsePyJson } from '../../util/pyjson.js';
import type { TarArchive } from '../../image/tar-archive.js';
import { diffIdsOf, platformOf } from '../../image/config-fields.js';
import { digestOf } from '../../model/digest.js';
import { type SourceImage, type SourceLayer, blobLayer } from '../../image/source.js';

/** A layer member's media type, by its compression. */
const MEMBER_TYPES: Record<Compression, string> = { none: DOCKER_LAYER, gzip: `${DOCKER_LAYER}.gzip`, zstd: `${DOCKER_LAYER}.zstd` };

/** Members named by their digest: `blobs/sha256/HEX` (docker 25+), `HEX.json` (configs). */
const DIGEST_NAME = /^(?:blobs\/sha256\/([0-9a-f]{64})|([0-9a-f]{64})\.json)$/;

/**
 * The images of a docker-archive (docker save, skopeo, nixpkgs): the
 * entries of its manifest.json, or those tagged `ref`. Layer members are
 * plain tars, as nixpkgs writes them, or compressed, as some newer docker
 * save does (told apart by their first bytes).
 */
export async function readDockerArchive(archive: TarArchive, name: string, ref?: string): Promise<SourceImage[]> {
  const member = (path: string, what: string, links = 0): TarMember => {
    const normal = posix.normalize(path);
    if (normal.startsWith('/') || normal.split('/').includes('..')) throw new StrataError(`${name}: ${what} '${path}' escapes the archive; refusing it`);
    const m = archive.member(normal);
    if (!m) throw new StrataError(`${name}: ${what} '${path}' is missing; is it a docker-archive (docker save, skopeo copy docker-archive:)?`);
    // docker save links a layer that repeats another to the first.
    if (m.type === TarType.Symlink && links < 8) {
      return member(m.linkname.startsWith('/') ? m.linkname : posix.join(posix.dirname(normal), m.linkname), what, links + 1);
    }
    return m;
  };
  const manifest = parsePyJson((await archive.read(member('manifest.json', 'manifest'))).toString('utf8'), `${name}: manifest.json`);
  if (!Array.isArray(manifest) || manifest.length === 0) throw new StrataError(`${name}: manifest.json must be a non-empty list of {Config, Layers}`);
  const entries = manifest.map((entry, i) => {
    const config = entry instanceof Map ? entry.get('Config') : undefined;
    const layers = entry instanceof Map ? entry.get('Layers') : undefined;
    const tags = entry instanceof Map ? (entry.get('RepoTags') ?? []) : undefined;
    if (typeof config !== 'string' || !isStrings(layers) || !isStrings(tags)) {
      throw new StrataError(`${name}: manifest.json's entry ${i + 1} needs a string Config, a list of Layers and a list (or null) of RepoTags`);
    }
    return { config, layers, tags };
  });
  const chosen = ref === undefined ? entries : entries.filter((e) => e.tags.includes(ref));
  if (chosen.length === 0) {
    throw new StrataError(`${name}: no image tagged '${ref}' (it has: ${entries.flatMap((e) => e.tags).join(', ') || 'no tags'}); name one of those, or none`);
  }

  return Promise.all(
    chosen.map(async ({ config: configName, layers: layerNames, tags }): Promise<SourceImage> => {
      const bytes = await archive.read(member(configName, 'config'));
      // The digest its name claims, which verify checks (docker load does not).
      const named = DIGEST_NAME.exec(configName);
      const actual = sha256Digest(bytes);
      const digest = named ? `sha256:${named[1] ?? named[2]}` : actual;
      let json: PyValue;
      let diffIds: string[];
      try {
        json = parsePyJson(bytes.toString('utf8'), `${name}: ${configName}`);
        diffIds = diffIdsOf(json, `${name}: config ${configName}`);
      } catch (e) {
        // A config that is not what its name says is damaged rather than malformed.
        if (digest !== actual) throw new StrataError(`${name}: config ${digest}: its digest is ${actual}; the archive is damaged`, ExitCode.Integrity);
        throw e;
      }
      if (diffIds.length !== layerNames.length) {
        throw new StrataError(`${name}: manifest lists ${layerNames.length} layers but the config has ${diffIds.length} diff_ids`);
      }
      const layers = await Promise.all(layerNames.map((layerName, i) => memberLayer(archive, name, i, member(layerName, 'layer'), diffIds[i]!)));
      return { name, refs: tags, platform: platformOf(json as PyObject), config: { digest, size: bytes.length, bytes, json: json as PyObject }, layers };
    }),
  );
}

async function memberLayer(archive: TarArchive, name: string, index: number, m: TarMember, diffId: string): Promise<SourceLayer> {
  const compression = sniffCompression(Buffer.concat([await archive.head(m, 4), Buffer.alloc(4)]));
  const named = DIGEST_NAME.exec(m.name.replace(/^\.\//, ''))?.[1];
  // A compressed member named otherwise is hashed once here: its digest is the blob's name elsewhere.
  const digest = named ? `sha256:${named}` : compression === 'none' ? diffId : (await digestOf(archive.stream(m))).digest;
  const layer = blobLayer(name, index, m.name, { mediaType: MEMBER_TYPES[compression], digest, size: m.size, open: () => archive.stream(m) }, diffId);
  if (compression !== 'none') return layer;
  // nixpkgs re-adds a base layer as it read it: name, attributes, pax records.
  return { ...layer, contents: [m.name], member: { name: m.name, mode: m.mode, uid: m.uid, gid: m.gid, uname: m.uname, gname: m.gname, mtime: m.mtime, pax: m.pax } };
}

function isStrings(v: PyValue | undefined): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
