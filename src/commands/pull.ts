import type { Argv } from 'yargs';
import { pullImage } from '../build/pull.js';
import { pushReport } from '../formats/registry/report.js';
import { parsePlatform, platformName } from '../image/platform.js';
import { terminalProgress } from '../progress.js';
import { layerOptions, registrySourceSettings, sinkSettings } from './options.js';

export const pullCommand = <T>(y: Argv<T>) =>
  y.command(
    'pull <source> <destination>',
    'copy an image from any source (a registry\'s docker://HOST/REPO[:TAG|@DIGEST], or files) to any destination, and print the digest that pins it (--json: with each platform\'s)',
    (y) =>
      layerOptions(y)
        .positional('source', { type: 'string', demandOption: true, describe: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], or a path' })
        .positional('destination', { type: 'string', demandOption: true, describe: 'docker-archive:FILE[:NAME[:TAG]], oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST[:PORT]/REPO[:TAG], or - (docker-archive on stdout)' })
        .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] of the image to take from a multi-platform index (default: all of them)' }),
    async (a) => {
      const progress = terminalProgress();
      // stdout keeps the digest that pins the source; what a push to a registry tells goes to stderr.
      const settings = { ...sinkSettings(a), progress };
      settings.registry = { ...settings.registry, ...pushReport({ digestfile: a.digestfile, log: (line) => progress.log(line) }) };
      const pulled = await pullImage({
        source: a.source,
        destination: a.destination,
        platform: a.platform === undefined ? undefined : parsePlatform(a.platform),
        sourceOptions: { registry: registrySourceSettings(a) },
        sinkOptions: settings,
      });
      for (const image of pulled.images) progress.log(`${a.source}: ${platformName(image.platform)} ${image.digest}`);
      const toStdout = /^(docker-archive:)?-(:|$)/.test(a.destination);
      (toStdout ? process.stderr : process.stdout).write(a.json ? `${JSON.stringify(pulled)}\n` : `${pulled.digest}\n`);
    },
  );
