import type { Argv } from 'yargs';
import { streamConfFiles } from '../build/write.js';
import { destinationOptions, printDescription, warn, writeSettings } from './options.js';

export const streamCommand = <T>(y: Argv<T>) =>
  y.command(
    'stream <conf> [more..]',
    'write the image a conf.json describes (docker-archive on stdout by default); several confs make a multi-platform OCI index',
    (y) =>
      destinationOptions(y)
        .positional('conf', { type: 'string', demandOption: true, describe: 'conf.json from strata conf or nixpkgs' })
        .positional('more', { type: 'string', array: true, describe: 'more confs, one per platform, for a multi-platform index' })
        .option('repo-tag', { alias: ['t', 'repo_tag'], type: 'string', describe: 'override the conf\'s repo_tag' }),
    async (a) => {
      printDescription(await streamConfFiles({ ...writeSettings(a), confs: [a.conf, ...(a.more ?? [])], warn }));
    },
  );
