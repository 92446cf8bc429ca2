import type { Argv } from 'yargs';
import { imageName } from './options.js';
import { diffImages, diffToText } from '../inspect/diff.js';

export const diffCommand = <T>(y: Argv<T>) =>
  y.command(
    'diff <old> <new>',
    'layers kept, added and removed from OLD to NEW (plans, conf.json files or images), and the bytes a pull or push of NEW costs after OLD',
    (y) =>
      y
        .positional('old', { type: 'string', demandOption: true, coerce: imageName, describe: 'a plan (strata plan --format json), a conf.json, or an image (docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path; - for an archive on standard input)' })
        .positional('new', { type: 'string', demandOption: true, describe: 'the same kinds as OLD', coerce: imageName })
        .option('json', { type: 'boolean', describe: 'print the diff as JSON' }),
    async (a) => {
      const diff = await diffImages({ old: a.old, new: a.new });
      process.stdout.write(a.json ? JSON.stringify(diff, null, 2) + '\n' : diffToText(diff));
    },
  );
