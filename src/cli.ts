#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadClosure } from './closure/load.js';
import type { Closure } from './closure/types.js';
import { type Conf, parseConf, parseRuntimeConfig, renderConf } from './conf/conf.js';
import { confFromPlan } from './conf/from-plan.js';
import { ExitCode, StrataError } from './errors.js';
import { COMPRESSIONS, type Compression } from './image/compression.js';
import { streamConf } from './image/stream.js';
import { countBaseLayers } from './layer/base-image.js';
import { type Plan, STRATEGIES, type Strategy, planLayers } from './plan/plan.js';
import { planToJson, planToText, readPlanFile } from './plan/plan-file.js';
import { terminalProgress } from './progress.js';
import type { PyObject } from './util/pyjson.js';

// The CLI only parses arguments and calls the library.

const warn = (m: string): void => void process.stderr.write(`strata: warning: ${m}\n`);

const closureOptions = <T>(y: Argv<T>) =>
  y
    .positional('roots', { type: 'string', array: true, describe: 'store paths (or links to them) whose closure to use' })
    .option('graph', { type: 'string', describe: 'read the closure from a reference graph file (exportReferencesGraph text, .attrs.json, or a JSON list)' })
    .option('graph-key', { type: 'string', describe: 'the .attrs.json key holding the graph, when there are several' })
    .option('store-dir', { type: 'string', describe: 'the store directory (default: inferred from the paths, else /nix/store)' });

const planOptions = <T>(y: Argv<T>) =>
  closureOptions(y)
    .option('max-layers', { type: 'number', default: 100, describe: 'layers in the image, counting the customisation layer (nixpkgs maxLayers)' })
    .option('strategy', { choices: STRATEGIES, default: 'popularity' as Strategy, describe: 'how store paths are grouped into layers' })
    .option('from', { type: 'string', describe: 'base image (a docker-archive); its layers count against --max-layers' });

const confOptions = <T>(y: Argv<T>) =>
  planOptions(y)
    .option('plan', { type: 'string', describe: 'use a plan written by strata plan --format json' })
    .option('name', { type: 'string', describe: 'image name (default: the first root\'s name)' })
    .option('tag', { type: 'string', describe: 'image tag (default: a hash of the conf)' })
    .option('config', { type: 'string', describe: 'image runtime config: a JSON file, or JSON text such as \'{"Cmd":["/bin/sh"]}\'' })
    .option('entrypoint', { type: 'string', array: true, describe: 'set config.Entrypoint (repeat for arguments)' })
    .option('env', { type: 'string', array: true, describe: 'add KEY=VALUE to config.Env' })
    .option('architecture', { type: 'string', describe: 'GOARCH of the image (default: this machine\'s)' })
    .option('created', { type: 'string', describe: 'image creation time, ISO 8601 or "now"', default: '1970-01-01T00:00:01Z' })
    .option('mtime', { type: 'string', describe: 'time of every file in the layers, ISO 8601 or "now"', default: '1970-01-01T00:00:01Z' })
    .option('uid', { type: 'number', default: 0 })
    .option('gid', { type: 'number', default: 0 })
    .option('uname', { type: 'string', default: 'root' })
    .option('gname', { type: 'string', default: 'root' })
    .option('customisation', { type: 'string', describe: 'customisation layer: a layer.tar+checksum directory, or a directory tree to pack' });

const destinationOptions = <T>(y: Argv<T>) =>
  y
    .option('to', { type: 'string', describe: 'destination: docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or - (docker-archive on stdout, the default)' })
    .option('output', { alias: 'o', type: 'string', describe: 'docker-archive FILE (short for --to docker-archive:FILE)' })
    .option('compression', { choices: COMPRESSIONS, describe: 'layer compression for OCI destinations (default none)' })
    .option('compression-level', { type: 'number', describe: 'gzip 0-9 (default 6), zstd 1-19 (default 3)' });

type DestinationArgs = { to?: string; output?: string; compression?: Compression; 'compression-level'?: number };

function destination(a: DestinationArgs): { to: string; compression?: Compression; level?: number; progress: ReturnType<typeof terminalProgress> } {
  if (a.to !== undefined && a.output !== undefined) throw new StrataError('give --to or -o, not both');
  const to = a.to ?? (a.output === undefined || a.output === '-' ? '-' : `docker-archive:${a.output}`);
  return { to, compression: a.compression, level: a['compression-level'], progress: terminalProgress() };
}

type ClosureArgs = { roots?: string[]; graph?: string; 'graph-key'?: string; 'store-dir'?: string };

async function closureFrom(a: ClosureArgs): Promise<Closure> {
  return loadClosure({ roots: a.roots, graph: a.graph, graphKey: a['graph-key'], storeDir: a['store-dir'], warn });
}

async function planFrom(a: ClosureArgs & { 'max-layers': number; strategy: Strategy; from?: string; plan?: string }): Promise<Plan> {
  if (a.plan !== undefined) return readPlanFile(a.plan);
  const baseLayers = a.from === undefined ? 0 : await countBaseLayers(a.from);
  return planLayers(await closureFrom(a), { maxLayers: a['max-layers'], strategy: a.strategy, baseLayers });
}

async function runtimeConfig(a: { config?: string; entrypoint?: string[]; env?: string[] }): Promise<PyObject> {
  let config: PyObject = new Map();
  if (a.config !== undefined) {
    const text = a.config.trimStart().startsWith('{') ? a.config : await readText(a.config, '--config');
    config = parseRuntimeConfig(text, a.config.trimStart().startsWith('{') ? '--config' : a.config);
  }
  if (a.entrypoint) config.set('Entrypoint', a.entrypoint);
  for (const e of a.env ?? []) {
    if (!e.includes('=')) throw new StrataError(`--env ${e}: expected KEY=VALUE`);
    const env = config.get('Env');
    config.set('Env', [...(Array.isArray(env) ? env : []), e]);
  }
  return config;
}

async function confFrom(a: Parameters<typeof planFrom>[0] & Parameters<typeof runtimeConfig>[0] & Record<string, unknown>): Promise<Conf> {
  const plan = await planFrom(a);
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
  });
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
      (y) => confOptions(y).option('output', { alias: 'o', type: 'string', describe: 'write to FILE instead of stdout' }),
      async (a) => emit(renderConf(await confFrom(a)), a.output),
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
        const confs = await Promise.all(files.map(async (f) => parseConf(await readText(f, 'conf'), f)));
        const d = destination(a);
        await streamConf(confs, d.to, { ...d, repoTag: a['repo-tag'] });
      },
    )
    .command(
      'image [roots..]',
      'closure, plan, conf and stream in one go: write a layered image of store paths',
      (y) => destinationOptions(confOptions(y)),
      async (a) => {
        const d = destination(a);
        await streamConf(await confFrom(a), d.to, d);
      },
    )
    .demandCommand(1, 'name a command; see strata --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
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
