import type { Argv } from 'yargs';
import type { PlanImageOptions } from '../build/plan-image.js';
import type { WriteOptions } from '../build/write.js';
import type { ClosureSource } from '../closure/stores/table.js';
import { StrataError } from '../errors.js';
import { COMPRESSIONS, type Compression, DEFAULT_LEVEL } from '../image/compression-names.js';
import { DigestCache } from '../layer/digest-cache.js';
import { pushReport } from '../formats/registry/report.js';
import { MANIFEST_FORMATS, type ManifestFormat } from '../formats/registry/manifest.js';
import type { SourceOptions } from '../formats/table.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, STRATEGIES, type Strategy } from '../plan/strategies.js';
import { terminalProgress } from '../progress.js';
import { SBOM_FORMATS, type SbomFormat } from '../sbom/formats.js';

// Options several commands share, and the library options they turn into.

export const warn = (m: string): void => void process.stderr.write(`strata: warning: ${m}\n`);

/** yargs reads a positional `-` (an image on standard input) as ''; no image is named '', so '' is `-`. */
export const imageName = (name: string): string => (name === '' ? '-' : name);

export const outputOption = <T>(y: Argv<T>) => y.option('output', { alias: 'o', type: 'string', describe: 'write to FILE (complete or not at all) instead of stdout' });

export const closureOptions = <T>(y: Argv<T>) =>
  y
    .positional('roots', { type: 'string', array: true, describe: 'store paths (or links to them) whose closure to use' })
    .option('graph', { type: 'string', describe: 'read the closure from a reference graph file (exportReferencesGraph text, .attrs.json, or a JSON list)' })
    .option('graph-key', { type: 'string', describe: 'the .attrs.json key holding the graph, when there are several' })
    .option('store-dir', { type: 'string', describe: 'the store directory (default: inferred from the paths, else /nix/store)' })
    .option('store', { choices: ['nix', 'guix'] as const, default: 'nix' as const, describe: 'which store to ask for the closure of the roots: nix-store, or guix gc' });

type ClosureArgs = { roots?: string[]; graph?: string; 'graph-key'?: string; 'store-dir'?: string; store?: 'nix' | 'guix' };

export function closureSource(a: ClosureArgs): ClosureSource {
  return { roots: a.roots, graph: a.graph, graphKey: a['graph-key'], storeDir: a['store-dir'], store: a.store, warn };
}

/** The planning options alone (report plans each of its images with them). */
export const planningOptions = <T>(y: Argv<T>) =>
  y
    .option('max-layers', { type: 'number', default: DEFAULT_MAX_LAYERS, describe: 'layers in the image, counting the customisation layer (nixpkgs maxLayers)' })
    .option('strategy', { choices: STRATEGIES, default: DEFAULT_STRATEGY, describe: 'how store paths are grouped into layers: shared (strata: what updates re-ship least), popularity (nixpkgs, byte-compatible), auto (nixpkgs auto-layer), size (Guix)' })
    .option('layer', { type: 'string', array: true, describe: 'an explicit layer (repeatable, bottom first): comma-separated store paths whose closure, less earlier --layer layers, gets one layer below the planned ones' })
    .option('layering-pipeline', { type: 'string', describe: 'nixpkgs\' layeringPipeline (FILE or inline JSON): steps such as [["popularity_contest"], ["limit_layers", 50]] that make the store layers instead of --strategy' })
    .option('reuse', { type: 'string', array: true, describe: 'layers shipped before, kept where all their paths are in the closure (repeatable, first wins): a plan from strata plan --format json (a layer lock file: --reuse layers.json -o layers.json), a conf.json, or an image strata reads (its history names each layer\'s store paths; with --to docker://, an image of that registry also lends its keyed layers unread)' })
    .option('from', { type: 'string', describe: 'base image: docker://HOST[:PORT]/REPO[:TAG|@DIGEST] (a registry; credentials as for --to, else the auth files), docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path (plain or compressed archive, layout directory); its layers count against --max-layers' });

export const planOptions = <T>(y: Argv<T>) => planningOptions(closureOptions(y));

type PlanningArgs = { 'max-layers': number; strategy: Strategy; layer?: string[]; 'layering-pipeline'?: string; reuse?: string[]; from?: string; os?: string; architecture?: string; variant?: string };

export function planningSettings(a: PlanningArgs): Omit<PlanImageOptions, keyof ClosureSource | 'plan'> {
  return {
    maxLayers: a['max-layers'],
    strategy: a.strategy,
    layers: layerGroups(a.layer),
    layeringPipeline: a['layering-pipeline'],
    reuse: a.reuse,
    from: a.from,
    os: a.os,
    architecture: a.architecture,
    variant: a.variant,
  };
}

export function planSettings(a: ClosureArgs & PlanningArgs & { plan?: string }): PlanImageOptions {
  return { ...closureSource(a), ...planningSettings(a), plan: a.plan };
}

/** --layer values: comma-separated store paths. */
function layerGroups(values: string[] | undefined): string[][] {
  return (values ?? []).map((value) => {
    const group = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (group.length === 0) throw new StrataError(`--layer '${value}': name at least one store path`);
    return group;
  });
}

/** How to reach a registry images are read from: credentials, TLS, retries (layerOptions holds them too). */
export const registryReadOptions = <T>(y: Argv<T>) =>
  y
    .group(['creds', 'authfile', 'registry-token', 'tls-verify', 'cert-dir', 'retry-times', 'retry-delay'], 'Registries (docker://):')
    .option('creds', { type: 'string', describe: 'USER:PASS (default: the registry\'s entry in the auth files, or their credential helper; see --authfile)' })
    .option('authfile', { type: 'string', describe: 'auth file read first (default $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json), then ~/.config/containers/auth.json, ~/.docker/config.json; auths, credHelpers and credsStore entries' })
    .option('registry-token', { type: 'string', describe: 'a bearer token to send to the registry instead of credentials' })
    .option('tls-verify', { type: 'boolean', default: true, describe: 'verify the registry\'s certificate; --tls-verify=false also allows plain HTTP' })
    .option('cert-dir', { type: 'string', describe: 'directory of *.crt CAs and a NAME.cert/NAME.key client certificate' })
    .option('retry-times', { type: 'number', default: 5, describe: 'retries of a request or upload that the network or a busy registry broke' })
    .option('retry-delay', { type: 'number', describe: 'seconds between retries (default: 0.5, doubled each time)' });

/** How layers are written, and the registry options (push takes no --to). */
export const layerOptions = <T>(y: Argv<T>) =>
  registryReadOptions(
    y
      .option('compression', { choices: COMPRESSIONS, describe: 'layer compression for OCI destinations (default none) and registries (default gzip)' })
      .option('compression-level', { type: 'number', describe: `gzip 0-9 (default ${DEFAULT_LEVEL.gzip}), zstd 1-19 (default ${DEFAULT_LEVEL.zstd})` })
      .option('cache', { type: 'boolean', default: true, describe: 'keep layer digests across runs in $XDG_CACHE_HOME/strata, for what needs a digest before the bytes (--nixpkgs-names on a pipe, pushes); --no-cache neither reads nor writes it' })
      .group(['creds', 'authfile', 'registry-token', 'tls-verify', 'cert-dir', 'mount-from', 'additional-tag', 'verify-reused', 'manifest-format', 'digestfile', 'json', 'retry-times', 'retry-delay'], 'Registries (docker://):'),
  )
    .option('mount-from', { type: 'string', describe: 'repository of the same registry to mount missing blobs from' })
    .option('additional-tag', { type: 'string', array: true, describe: 'also put the manifest under TAG in the same repository (repeatable; the blobs are sent once)' })
    .option('verify-reused', { type: 'boolean', describe: 'download each layer taken by its key or diff_id from the registry (the tags replaced, --reuse docker://...) and refuse one whose digest or diff_id is wrong' })
    .option('manifest-format', { choices: MANIFEST_FORMATS, default: 'oci' as ManifestFormat, describe: 'docker: Docker schema 2 media types' })
    .option('digestfile', { type: 'string', describe: 'write the pushed manifest\'s digest to FILE' })
    .option('json', { type: 'boolean', describe: 'print the push report as JSON on stdout (default: the digest alone); for files, what was written (digests, layers, sizes)' });

export const destinationOptions = <T>(y: Argv<T>) =>
  sbomOptions(layerOptions(y))
    .option('to', { type: 'string', describe: 'destination: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST[:PORT]/REPO[:TAG|@DIGEST] (a registry), docker-daemon:[NAME:TAG] (the engine at $DOCKER_HOST, unix:// only, or /var/run/docker.sock; sends only the layers it lacks), or - (docker-archive on stdout, the default)' })
    .option('output', { alias: 'o', type: 'string', describe: 'docker-archive FILE (short for --to docker-archive:FILE)' })
    .option('allow-foreign-binaries', { type: 'boolean', describe: 'let the closure hold executables and libraries of another platform than the image\'s' })
    .option('nixpkgs-names', {
      type: 'boolean',
      describe: 'docker-archive on a pipe: name layers <sha256>/layer.tar as nixpkgs does, for its exact bytes (a layer whose digest is not known or cached is then read twice); files always get these names',
    });

const STORED_SBOM = 'store an SBOM of the closure with the image: FILE.cdx.json beside a file, an OCI 1.1 referrer in an OCI layout or a registry (the referrers tag scheme where the registry has no referrers API)';

/** --sbom (described as push or as image and stream take it) and --sbom-format. */
export const sbomOptions = <T>(y: Argv<T>, sbom = STORED_SBOM) =>
  y
    .option('sbom', { type: 'boolean', describe: sbom })
    .option('sbom-format', { choices: SBOM_FORMATS, default: 'cyclonedx' as SbomFormat, describe: 'the SBOM\'s format: CycloneDX 1.6 JSON (FILE.cdx.json), or SPDX 2.3 JSON (FILE.spdx.json)' });

type LayerArgs = {
  compression?: Compression;
  'compression-level'?: number;
  cache?: boolean;
  creds?: string;
  authfile?: string;
  'registry-token'?: string;
  'tls-verify': boolean;
  'cert-dir'?: string;
  'mount-from'?: string;
  'additional-tag'?: string[];
  'verify-reused'?: boolean;
  'manifest-format': ManifestFormat;
  digestfile?: string;
  json?: boolean;
  'retry-times': number;
  'retry-delay'?: number;
};

/** How to write layers and reach registries, with a progress line on a terminal. */
export function sinkSettings(a: LayerArgs): WriteOptions {
  const level = a['compression-level'];
  // yargs makes a word NaN; the range is checked with the compression.
  if (level !== undefined && !Number.isInteger(level)) throw new StrataError(`--compression-level: expected a whole number (gzip 0-9, zstd 1-19)`);
  const cache = a.cache === false ? undefined : new DigestCache();
  const progress = terminalProgress();
  const registry = {
    ...registrySourceSettings(a),
    mountFrom: a['mount-from'],
    additionalTags: a['additional-tag'],
    verifyReused: a['verify-reused'],
    manifestFormat: a['manifest-format'],
    ...pushReport({ json: a.json, digestfile: a.digestfile, log: progress.log }),
  };
  // For people on a terminal; a JSON line for scripts.
  const daemon: WriteOptions['daemon'] = {
    onLoaded: (l) =>
      progress.log(
        process.stderr.isTTY
          ? `${l.loaded.join(', ') || 'loaded'} into ${l.engine} (${l.host}): ${l.layers.sent} layer(s) sent, ${l.layers.skipped} held by the engine not sent; ` +
              `${l.bytes.sent} bytes sent, ${l.bytes.skipped} not sent${l.resent ? ' (sent whole: the engine refused the load without its held layers)' : ''}`
          : JSON.stringify(l),
      ),
  };
  return { compression: a.compression, level, progress, cache, registry, daemon };
}

type RegistryReadArgs = Pick<LayerArgs, 'creds' | 'authfile' | 'registry-token' | 'tls-verify' | 'cert-dir' | 'retry-times' | 'retry-delay'>;

/** How to reach a registry: credentials, TLS, retries (for reading and pushing alike). */
export function registrySourceSettings(a: RegistryReadArgs): NonNullable<SourceOptions['registry']> {
  const times = a['retry-times'];
  if (!(Number.isInteger(times) && times >= 0)) throw new StrataError(`--retry-times ${times}: expected a whole number, 0 or more`);
  if (a['retry-delay'] !== undefined && !(a['retry-delay'] >= 0)) throw new StrataError(`--retry-delay ${a['retry-delay']}: expected seconds, 0 or more`);
  return {
    creds: a.creds,
    authfile: a.authfile,
    registryToken: a['registry-token'],
    tlsVerify: a['tls-verify'],
    certDir: a['cert-dir'],
    retries: { times, delay: a['retry-delay'] ?? 0.5, fixed: a['retry-delay'] !== undefined },
    warn,
  };
}

/** --to or -o, and the sink settings; --json describes what was written. */
export function writeSettings(a: LayerArgs & SbomArgs & { to?: string; output?: string; 'repo-tag'?: string; 'allow-foreign-binaries'?: boolean; 'nixpkgs-names'?: boolean; store?: 'nix' | 'guix' }): WriteOptions {
  if (a.to !== undefined && a.output !== undefined) throw new StrataError('give --to or -o, not both');
  const to = a.to ?? (a.output === undefined || a.output === '-' ? '-' : `docker-archive:${a.output}`);
  // A docker:// base (--from, from_image) is read with the same credentials and TLS settings.
  return { ...sinkSettings(a), base: { registry: registrySourceSettings(a) }, to, describe: a.json, repoTag: a['repo-tag'], allowForeignBinaries: a['allow-foreign-binaries'], nixpkgsNames: a['nixpkgs-names'], sbom: sbomSettings(a, a.store) };
}

type SbomArgs = { sbom?: boolean; 'sbom-format'?: SbomFormat };

/** --sbom and --sbom-format; where the SBOM went is told on stderr (once the image is written, after any progress line). */
export function sbomSettings(a: SbomArgs, store?: 'nix' | 'guix'): WriteOptions['sbom'] {
  if (a.sbom !== true) return undefined;
  return { format: a['sbom-format'], store, onStored: (where) => void process.stderr.write(`SBOM (${a['sbom-format']}): ${where}\n`) };
}

/** What stream and image print with --json once written. */
export function printDescription(written: unknown): void {
  if (written !== undefined) process.stdout.write(JSON.stringify(written, null, 2) + '\n');
}
