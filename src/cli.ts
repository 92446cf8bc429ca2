#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadClosure } from './closure/load.js';
import { diffCommand } from './commands/diff.js';
import { exportCommand } from './commands/export.js';
import { inspectCommand } from './commands/inspect.js';
import { mergeCommand } from './commands/merge.js';
import { closureFrom, closureOptions, planFrom, planOptions, warn } from './commands/options.js';
import { reportCommand } from './commands/report.js';
import { verifyCommand } from './commands/verify.js';
import { type Conf, checkInherit, parseConf, parseRuntimeConfig, renderConf } from './conf/conf.js';
import { confFromPlan } from './conf/from-plan.js';
import { ExitCode, StrataError } from './errors.js';
import { COMPRESSIONS, type Compression } from './image/compression.js';
import { withLayerDigests } from './image/from-conf.js';
import { inspectImages } from './image/inspect.js';
import { streamConf } from './image/stream.js';
import type { SinkOptions } from './image/transports.js';
import { DigestCache } from './layer/digest-cache.js';
import { type PermRule, parsePerms } from './layer/perms.js';
import { STRATEGIES } from './plan/plan.js';
import { planToJson, planToText } from './plan/plan-file.js';
import { type SimImage, simulate, simulationToText } from './plan/simulate.js';
import { releasesToText, simulateReleases, simulateReuse } from './plan/simulate-reuse.js';
import { terminalProgress } from './progress.js';
import { MANIFEST_FORMATS, type ManifestFormat } from './registry/manifest.js';
import { pushImage } from './registry/push.js';
import { pushReport } from './registry/report.js';
import { renderGuixCommand } from './render/guix.js';
import { renderNixCommand } from './render/nix.js';
import { type PyObject, parsePyJson } from './util/pyjson.js';

// The CLI only parses arguments and calls the library.

const confOptions = <T>(y: Argv<T>) =>
  planOptions(y)
    .option('plan', { type: 'string', describe: 'use a plan written by strata plan --format json' })
    .option('name', { type: 'string', describe: 'image name (default: the first root\'s name)' })
    .option('tag', { type: 'string', describe: 'image tag (default: a hash of the conf)' })
    .option('config', { type: 'string', describe: 'image runtime config: a JSON file, or JSON text such as \'{"Cmd":["/bin/sh"]}\'' })
    .option('entrypoint', { type: 'string', array: true, describe: 'set config.Entrypoint (repeat for arguments)' })
    .option('env', { type: 'string', array: true, describe: 'add KEY=VALUE to config.Env' })
    .option('label', { type: 'string', array: true, describe: 'add KEY=VALUE to config.Labels' })
    .option('annotation', { type: 'string', array: true, describe: 'add KEY=VALUE to the OCI manifest\'s annotations' })
    .option('author', { type: 'string', describe: 'the image config\'s author' })
    .option('architecture', { type: 'string', describe: 'GOARCH of the image (default: this machine\'s)' })
    .option('variant', { type: 'string', describe: 'CPU variant of the architecture, such as v8 for arm64 or v7 for arm' })
    .option('os', { type: 'string', describe: 'GOOS of the image (default linux)' })
    .option('perms', { type: 'string', describe: 'ownership and mode rules: a JSON file, or JSON text such as \'[{"path":"/nix/store/...-app","regex":"/bin/","mode":"0755","uid":1000}]\'' })
    .option('created', { type: 'string', describe: 'image creation time, ISO 8601 or "now"', default: '1970-01-01T00:00:01Z' })
    .option('mtime', { type: 'string', describe: 'time of every file in the layers, ISO 8601 or "now"', default: '1970-01-01T00:00:01Z' })
    .option('uid', { type: 'number', default: 0 })
    .option('gid', { type: 'number', default: 0 })
    .option('uname', { type: 'string', default: 'root' })
    .option('gname', { type: 'string', default: 'root' })
    .option('customisation', { type: 'string', describe: 'customisation layer: a layer.tar+checksum directory, or a directory tree to pack' })
    .option('inherit', { type: 'string', describe: 'with --from: base config keys kept where yours does not set them, comma-separated (Entrypoint,Cmd,WorkingDir,User,ExposedPorts,Volumes,Labels,StopSignal)' });

/** How layers are written, and the registry options (push takes no --to). */
const layerOptions = <T>(y: Argv<T>) =>
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

const destinationOptions = <T>(y: Argv<T>) =>
  layerOptions(y)
    .option('to', { type: 'string', describe: 'destination: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST[:PORT]/REPO[:TAG|@DIGEST] (a registry), or - (docker-archive on stdout, the default)' })
    .option('output', { alias: 'o', type: 'string', describe: 'docker-archive FILE (short for --to docker-archive:FILE)' });

type DestinationArgs = {
  to?: string;
  output?: string;
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

function destination(a: DestinationArgs): SinkOptions & { to: string } {
  if (a.to !== undefined && a.output !== undefined) throw new StrataError('give --to or -o, not both');
  const to = a.to ?? (a.output === undefined || a.output === '-' ? '-' : `docker-archive:${a.output}`);
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
  return { to, compression: a.compression, level: a['compression-level'], progress, cache, registry };
}

/** Write what stream and image make; with --json, then describe what was written (a registry's push report does that itself). */
async function writeConfs(confs: Conf | Conf[], d: SinkOptions & { to: string }, a: { json?: boolean; 'repo-tag'?: string }): Promise<void> {
  const summary = a.json === true && !d.to.startsWith('docker:');
  if (summary && ['-', 'docker-archive:', 'docker-archive:-'].includes(d.to)) {
    throw new StrataError('--json: standard output holds the image; write it with -o FILE or --to DEST, or drop --json');
  }
  await streamConf(confs, d.to, { ...d, repoTag: a['repo-tag'] });
  if (summary) process.stdout.write(JSON.stringify({ destination: d.to, images: await inspectImages(d.to) }, null, 2) + '\n');
}

/** An option holding JSON text or naming a JSON file: the text, and the name errors give. */
async function jsonOption(value: string, option: string): Promise<[string, string]> {
  return /^\s*[[{]/.test(value) ? [value, option] : [await readText(value, option), value];
}

function keyValue(option: string, entry: string): [string, string] {
  const i = entry.indexOf('=');
  if (i < 1) throw new StrataError(`${option} ${entry}: expected KEY=VALUE`);
  return [entry.slice(0, i), entry.slice(i + 1)];
}

async function runtimeConfig(a: { config?: string; entrypoint?: string[]; env?: string[]; label?: string[] }): Promise<PyObject> {
  let config: PyObject = new Map();
  if (a.config !== undefined) config = parseRuntimeConfig(...(await jsonOption(a.config, '--config')));
  if (a.entrypoint) config.set('Entrypoint', a.entrypoint);
  for (const e of a.env ?? []) {
    keyValue('--env', e);
    const env = config.get('Env');
    config.set('Env', [...(Array.isArray(env) ? env : []), e]);
  }
  // A Labels of the wrong type is left for the config check to name.
  const labels = config.get('Labels') ?? new Map();
  if (a.label && labels instanceof Map) config.set('Labels', new Map([...labels, ...a.label.map((l) => keyValue('--label', l))]));
  return config;
}

async function permsFrom(option: string | undefined): Promise<PermRule[] | undefined> {
  if (option === undefined) return undefined;
  const [text, source] = await jsonOption(option, '--perms');
  return parsePerms(parsePyJson(text, source), source);
}

async function confFrom(a: Parameters<typeof planFrom>[0] & Parameters<typeof runtimeConfig>[0] & Record<string, unknown>): Promise<Conf> {
  const perms = await permsFrom(a.perms as string | undefined);
  const bytes = { uid: a.uid as number, gid: a.gid as number, uname: a.uname as string, gname: a.gname as string, mtime: a.mtime as string, perms };
  const plan = await planFrom(a, bytes);
  const firstRoot = a.roots?.[0]?.replace(/\/+$/, '').split('/').pop()?.replace(/^[0-9a-z]{32}-/, '');
  return confFromPlan(plan, {
    name: (a.name as string | undefined) ?? firstRoot ?? 'strata-image',
    tag: a.tag as string | undefined,
    config: await runtimeConfig(a),
    architecture: a.architecture as string | undefined,
    created: a.created as string,
    mtime: a.mtime as string,
    uid: a.uid as number,
    gid: a.gid as number,
    uname: a.uname as string,
    gname: a.gname as string,
    customisation: a.customisation as string | undefined,
    fromImage: a.from as string | undefined,
    os: a.os as string | undefined,
    author: a.author as string | undefined,
    variant: a.variant as string | undefined,
    annotations: a.annotation === undefined ? undefined : new Map((a.annotation as string[]).map((e) => keyValue('--annotation', e))),
    perms,
    inherit: inheritFrom(a),
    warn,
  });
}

function inheritFrom(a: { from?: string; inherit?: unknown }): string[] | undefined {
  if (a.inherit === undefined) return undefined;
  if (a.from === undefined) throw new StrataError('--inherit needs --from, the base image to inherit from');
  return checkInherit(String(a.inherit).split(',').map((k) => k.trim()), '--inherit');
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new StrataError(`${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
}

async function emit(text: string, output: string | undefined): Promise<void> {
  if (output === undefined || output === '-') process.stdout.write(text);
  else await writeFile(output, text);
}

/** The version in the package.json beside dist/ (yargs would look above its own node_modules: another package's when strata is a dependency). */
async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('strata')
    .usage('$0 <command>: layered container images from Nix and Guix store closures')
    .command(
      'closure [roots..]',
      'print the closure of store paths, with sizes and references',
      (y) => closureOptions(y).option('json', { type: 'boolean', describe: 'print [{path, narSize, references}]' }),
      async (a) => {
        const closure = await closureFrom(a);
        process.stdout.write(a.json ? JSON.stringify(closure.paths, null, 2) + '\n' : closure.paths.map((p) => p.path + '\n').join(''));
      },
    )
    .command(
      'plan [roots..]',
      'group a closure\'s store paths into layers',
      (y) =>
        planOptions(y)
          .option('format', { choices: ['text', 'json', 'order'] as const, default: 'text' as const, describe: 'order: the paths in layer order, one a line' })
          .option('output', { alias: 'o', type: 'string', describe: 'write to FILE instead of stdout' }),
      async (a) => {
        const plan = await planFrom(a);
        const text = a.format === 'json' ? planToJson(plan) : a.format === 'order' ? plan.layers.flatMap((l) => l.paths).join('\n') + '\n' : planToText(plan);
        await emit(text, a.output);
      },
    )
    .command(
      'conf [roots..]',
      'write the conf.json of the streaming builder (nixpkgs compatible)',
      (y) =>
        confOptions(y)
          .option('output', { alias: 'o', type: 'string', describe: 'write to FILE instead of stdout' })
          .option('digests', { type: 'boolean', describe: 'record each store layer\'s digest and size, so stream reads every layer once' }),
      async (a) => {
        const conf = await confFrom(a);
        await emit(renderConf(a.digests ? await withLayerDigests(conf) : conf), a.output);
      },
    )
    .command(
      'stream <conf> [more..]',
      'write the image a conf.json describes (docker-archive on stdout by default); several confs make a multi-platform OCI index',
      (y) =>
        destinationOptions(y)
          .positional('conf', { type: 'string', demandOption: true, describe: 'conf.json from strata conf or nixpkgs' })
          .positional('more', { type: 'string', array: true, describe: 'more confs, one per platform, for a multi-platform index' })
          .option('repo-tag', { alias: ['t', 'repo_tag'], type: 'string', describe: 'override the conf\'s repo_tag' }),
      async (a) => {
        const files = [a.conf, ...((a.more as string[] | undefined) ?? [])];
        const confs = await Promise.all(files.map(async (f) => parseConf(await readText(f, 'conf'), f, { warn })));
        await writeConfs(confs, destination(a), a);
      },
    )
    .command(
      'image [roots..]',
      'closure, plan, conf and stream in one go: write a layered image of store paths',
      (y) => destinationOptions(confOptions(y)),
      async (a) => {
        await writeConfs(await confFrom(a), destination(a), a);
      },
    )
    .command('render', 'write a build expression that makes an image: render guix, render nix', (y) => y.command(renderGuixCommand).command(renderNixCommand).demandCommand(1, 'name what to render: guix, nix'))
    .command(
      'simulate [roots..]',
      'compare layering strategies on a fleet of images: registry bytes, and bytes re-pulled on app and library updates',
      (y) =>
        y
          .positional('roots', { type: 'string', array: true, describe: 'store paths, one image each' })
          .option('graph', { type: 'string', array: true, describe: 'a reference graph file, one image each (repeatable)' })
          .option('store-dir', { type: 'string', describe: 'the store directory' })
          .option('store', { choices: ['nix', 'guix'] as const, default: 'nix' as const })
          .option('max-layers', { type: 'number', array: true, default: [8, 16, 32], describe: 'budgets (counting the customisation layer), a table each' })
          .option('strategy', { choices: STRATEGIES, array: true, describe: 'strategies to compare (default all)' })
          .option('library', { type: 'string', array: true, describe: 'library store paths to update (default: --libraries paths sampled from the fleet)' })
          .option('libraries', { type: 'number', default: 10, describe: 'how many libraries to sample' })
          .option('reuse', { type: 'boolean', describe: 'also plan each strategy with --reuse: the fleet in order, each image reusing the plans before it; each update reusing its previous plan, then the fleet\'s' })
          .option('releases', { type: 'number', describe: 'simulate N releases instead: each bumps --bump libraries and the applications, planned alone and with --reuse of the previous release' })
          .option('bump', { type: 'number', default: 3, describe: 'with --releases: libraries bumped per release' })
          .option('seed', { type: 'number', default: 1, describe: 'with --releases: seeds the choice of libraries' })
          .option('json', { type: 'boolean', describe: 'print the results as JSON' }),
      async (a) => {
        const images: SimImage[] = [];
        for (const g of a.graph ?? []) images.push({ name: g, closure: await loadClosure({ graph: g, storeDir: a['store-dir'], warn }) });
        for (const r of (a.roots as string[] | undefined) ?? []) images.push({ name: r, closure: await loadClosure({ roots: [r], storeDir: a['store-dir'], store: a.store, warn }) });
        if (images.length === 0) throw new StrataError('simulate: name images as store paths or --graph FILE');
        for (const m of a['max-layers']) if (!Number.isInteger(m) || m <= 1) throw new StrataError(`--max-layers ${m}: must be an integer greater than 1`);
        if (a.releases !== undefined) {
          for (const [o, v] of [['--releases', a.releases], ['--bump', a.bump]] as const) if (!Number.isInteger(v) || v < 1) throw new StrataError(`${o} ${v}: expected a whole number, 1 or more`);
          const series = a['max-layers'].map((m) => simulateReleases(images, { maxLayers: m, releases: a.releases!, bump: a.bump, strategies: a.strategy, seed: a.seed }));
          process.stdout.write(a.json ? JSON.stringify(series, null, 2) + '\n' : `${images.length} images\n` + series.map(releasesToText).join('\n'));
          return;
        }
        const sims = a['max-layers'].map((m) => {
          const options = { maxLayers: m, strategies: a.strategy, libraries: a.library, libraryCount: a.libraries };
          const sim = simulate(images, options);
          if (!a.reuse) return sim;
          const reused = simulateReuse(images, { ...options, libraries: sim.libraries });
          return { ...sim, results: [...sim.results, ...reused.results] };
        });
        process.stdout.write(a.json ? JSON.stringify(sims, null, 2) + '\n' : `${images.length} images\n` + sims.map(simulationToText).join('\n'));
      },
    )
    .command(reportCommand)
    .command(diffCommand)
    .command(inspectCommand)
    .command(verifyCommand)
    .command(exportCommand)
    .command(mergeCommand)
    .command(
      'push <source> <destination>',
      'push an image (docker-archive, oci:DIR[:REF], oci-archive:FILE[:REF]) to a registry, sending only the blobs it lacks',
      (y) =>
        layerOptions(y)
          .positional('source', { type: 'string', demandOption: true, describe: 'the image: a docker-archive file, oci:DIR[:REF] or oci-archive:FILE[:REF]' })
          .positional('destination', { type: 'string', demandOption: true, describe: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST]' }),
      async (a) => {
        await pushImage(a.source, a.destination, destination(a));
      },
    )
    .demandCommand(1, 'name a command; see strata --help')
    .strict()
    .recommendCommands()
    .completion('completion', 'print a bash completion script (strata completion >> ~/.bashrc)')
    .help()
    .alias('h', 'help')
    .version(await packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      throw err ?? new StrataError(msg);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((e: unknown) => {
  if (e instanceof StrataError) {
    if (e.exitCode !== ExitCode.BrokenPipe) process.stderr.write(`strata: ${e.message}\n`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`strata: internal error: ${e instanceof Error ? (process.env.STRATA_DEBUG ? e.stack : e.message) : String(e)}\n`);
    process.exitCode = ExitCode.Internal;
  }
});
