import type { Argv } from 'yargs';
import type { PlanImageOptions } from '../build/plan-image.js';
import type { WriteOptions } from '../build/write.js';
import type { ClosureSource } from '../closure/load.js';
import { StrataError } from '../errors.js';
import { COMPRESSIONS, type Compression } from '../image/compression.js';
import { DigestCache } from '../layer/digest-cache.js';
import { pushReport } from '../formats/registry/report.js';
import { MANIFEST_FORMATS, type ManifestFormat } from '../formats/registry/manifest.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, STRATEGIES, type Strategy } from '../plan/plan.js';
import { terminalProgress } from '../progress.js';

// Options several commands share, and the library options they turn into.

export const warn = (m: string): void => void process.stderr.write(`strata: warning: ${m}\n`);

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
    .option('reuse', { type: 'string', array: true, describe: 'layers shipped before, kept where all their paths are in the closure (repeatable, first wins): a plan from strata plan --format json (a layer lock file: --reuse layers.json -o layers.json), a conf.json, or an image strata reads (its history names each layer\'s store paths)' })
    .option('from', { type: 'string', describe: 'base image: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path (plain or compressed archive, layout directory); its layers count against --max-layers' });

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

/** How layers are written, and the registry options (push takes no --to). */
export const layerOptions = <T>(y: Argv<T>) =>
  y
    .option('compression', { choices: COMPRESSIONS, describe: 'layer compression for OCI destinations (default none) and registries (default gzip)' })
    .option('compression-level', { type: 'number', describe: 'gzip 0-9 (default 6), zstd 1-19 (default 3)' })
    .option('cache', { type: 'boolean', default: true, describe: 'keep layer digests across runs in $XDG_CACHE_HOME/strata (--no-cache to read every layer twice)' })
    .group(['creds', 'tls-verify', 'cert-dir', 'mount-from', 'manifest-format', 'digestfile', 'json', 'retry-times', 'retry-delay'], 'Registry destinations (docker://):')
    .option('creds', { type: 'string', describe: 'USER:PASS (default: the registry\'s entry in $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json)' })
    .option('tls-verify', { type: 'boolean', default: true, describe: 'verify the registry\'s certificate; --tls-verify=false also allows plain HTTP' })
    .option('cert-dir', { type: 'string', describe: 'directory of *.crt CAs and a NAME.cert/NAME.key client certificate' })
    .option('mount-from', { type: 'string', describe: 'repository of the same registry to mount missing blobs from' })
    .option('manifest-format', { choices: MANIFEST_FORMATS, default: 'oci' as ManifestFormat, describe: 'docker: Docker schema 2 media types' })
    .option('digestfile', { type: 'string', describe: 'write the pushed manifest\'s digest to FILE' })
    .option('json', { type: 'boolean', describe: 'print the push report as JSON on stdout (default: the digest alone); for files, what was written (digests, layers, sizes)' })
    .option('retry-times', { type: 'number', default: 5, describe: 'retries of a request or upload that the network or a busy registry broke' })
    .option('retry-delay', { type: 'number', describe: 'seconds between retries (default: 0.5, doubled each time)' });

export const destinationOptions = <T>(y: Argv<T>) =>
  layerOptions(y)
    .option('to', { type: 'string', describe: 'destination: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST[:PORT]/REPO[:TAG|@DIGEST] (a registry), or - (docker-archive on stdout, the default)' })
    .option('output', { alias: 'o', type: 'string', describe: 'docker-archive FILE (short for --to docker-archive:FILE)' })
    .option('allow-foreign-binaries', { type: 'boolean', describe: 'let the closure hold executables and libraries of another platform than the image\'s' });

type LayerArgs = {
  compression?: Compression;
  'compression-level'?: number;
  cache?: boolean;
  creds?: string;
  'tls-verify': boolean;
  'cert-dir'?: string;
  'mount-from'?: string;
  'manifest-format': ManifestFormat;
  digestfile?: string;
  json?: boolean;
  'retry-times': number;
  'retry-delay'?: number;
};

/** How to write layers and reach registries, with a progress line on a terminal. */
export function sinkSettings(a: LayerArgs): WriteOptions {
  const cache = a.cache === false ? undefined : new DigestCache();
  const progress = terminalProgress();
  const times = a['retry-times'];
  if (!(Number.isInteger(times) && times >= 0)) throw new StrataError(`--retry-times ${times}: expected a whole number, 0 or more`);
  if (a['retry-delay'] !== undefined && !(a['retry-delay'] >= 0)) throw new StrataError(`--retry-delay ${a['retry-delay']}: expected seconds, 0 or more`);
  const registry = {
    creds: a.creds,
    tlsVerify: a['tls-verify'],
    certDir: a['cert-dir'],
    mountFrom: a['mount-from'],
    manifestFormat: a['manifest-format'],
    retries: { times, delay: a['retry-delay'] ?? 0.5, fixed: a['retry-delay'] !== undefined },
    warn,
    ...pushReport({ json: a.json, digestfile: a.digestfile, log: progress.log }),
  };
  return { compression: a.compression, level: a['compression-level'], progress, cache, registry };
}

/** --to or -o, and the sink settings; --json describes what was written. */
export function writeSettings(a: LayerArgs & { to?: string; output?: string; 'repo-tag'?: string; 'allow-foreign-binaries'?: boolean }): WriteOptions {
  if (a.to !== undefined && a.output !== undefined) throw new StrataError('give --to or -o, not both');
  const to = a.to ?? (a.output === undefined || a.output === '-' ? '-' : `docker-archive:${a.output}`);
  return { ...sinkSettings(a), to, describe: a.json, repoTag: a['repo-tag'], allowForeignBinaries: a['allow-foreign-binaries'] };
}

/** What stream and image print with --json once written. */
export function printDescription(written: unknown): void {
  if (written !== undefined) process.stdout.write(JSON.stringify(written, null, 2) + '\n');
}
