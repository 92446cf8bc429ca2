import type { Argv } from 'yargs';
import { type MakeConfOptions, makeConf } from '../build/make-conf.js';
import { renderConf } from '../conf/conf.js';
import { writeOutput } from '../output.js';
import { outputOption, planOptions, planSettings, registryReadOptions, registrySourceSettings } from './options.js';

/** The options of a conf: a plan's, and the image's (conf and image take them). */
export const confOptions = <T>(y: Argv<T>) =>
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

/** The arguments confOptions declares, as yargs parses them. */
type ConfArgs = ReturnType<typeof confOptions<object>> extends Argv<infer A> ? A : never;

export function confSettings(a: ConfArgs): MakeConfOptions {
  return {
    ...planSettings(a),
    name: a.name,
    tag: a.tag,
    config: a.config,
    entrypoint: a.entrypoint,
    env: a.env,
    label: a.label,
    annotation: a.annotation,
    author: a.author,
    perms: a.perms,
    created: a.created,
    mtime: a.mtime,
    uid: a.uid,
    gid: a.gid,
    uname: a.uname,
    gname: a.gname,
    customisation: a.customisation,
    inherit: a.inherit === undefined ? undefined : String(a.inherit).split(','),
  };
}

export const confCommand = <T>(y: Argv<T>) =>
  y.command(
    'conf [roots..]',
    'write the conf.json of the streaming builder (nixpkgs compatible)',
    (y) => registryReadOptions(outputOption(confOptions(y))).option('digests', { type: 'boolean', describe: 'record each store layer\'s digest and size, so stream reads every layer once' }),
    async (a) => {
      await writeOutput(renderConf(await makeConf({ ...confSettings(a), base: { registry: registrySourceSettings(a) }, digests: a.digests })), a.output);
    },
  );
