import type { Argv } from 'yargs';
import { diffImages, diffToText } from '../inspect/diff.js';

export const diffCommand = <T>(y: Argv<T>) =>
  y.command(
    'diff <old> <new>',
    'layers kept, added and removed from OLD to NEW (plans, conf.json files or images), and the bytes a pull or push of NEW costs after OLD',
    (y) =>
      y
        .positional('old', { type: 'string', demandOption: true, describe: 'a plan (strata plan --format json), a conf.json, or an image (docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path)' })
        .positional('new', { type: 'string', demandOption: true, describe: 'the same kinds as OLD' })
        .option('json', { type: 'boolean', describe: 'print the diff as JSON' }),
    async (a) => {
      const diff = await diffImages(a.old, a.new);
      process.stdout.write(a.json ? JSON.stringify(diff, null, 2) + '\n' : diffToText(diff));
    },
  );
