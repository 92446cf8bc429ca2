import type { Argv } from 'yargs';
import { StrataError } from '../errors.js';
import { writeOutput } from '../output.js';
import { DEFAULT_MAX_LAYERS, DEFAULT_STRATEGY, STRATEGIES } from '../plan/plan.js';
import { renderGuixImage } from '../render/guix.js';
import { renderNixImage } from '../render/nix.js';
import { outputOption } from './options.js';

/** `strata render nix`: an image.nix for nix-build. */
const renderNix = <T>(y: Argv<T>) =>
  y.command(
    'nix',
    'an image.nix for nix-build: strata\'s drop-in streamLayeredImage over the given contents',
    (y) =>
      outputOption(y)
        .option('name', { type: 'string', demandOption: true, describe: 'image name' })
        .option('contents', { type: 'string', array: true, describe: 'store paths, local paths or attributes of pkgs (hello, python3Packages.flask)' })
        .option('config', { type: 'string', describe: 'image runtime config as JSON text, such as \'{"Cmd": ["/bin/hello"]}\'' })
        .option('tag', { type: 'string', describe: 'image tag (default: the hash of the conf, as nixpkgs)' })
        .option('max-layers', { type: 'number', default: DEFAULT_MAX_LAYERS, describe: 'layers in the image, counting the customisation layer' })
        .option('strata', { type: 'string', describe: 'path of strata\'s nix/default.nix (default <strata/nix>, found through -I strata=...)' }),
    async (a) => {
      const text = await renderNixImage({
        name: a.name,
        contents: (a.contents ?? []).map(String),
        ...(a.config === undefined ? {} : { config: a.config }),
        ...(a.tag === undefined ? {} : { tag: a.tag }),
        maxLayers: a['max-layers'],
        ...(a.strata === undefined ? {} : { strataNix: a.strata }),
      });
      await writeOutput(text, a.output);
    },
  );

/** `strata render guix`: an image.scm for `guix build -f`. */
const renderGuix = <T>(y: Argv<T>) =>
  y.command(
    'guix',
    'an image.scm for `guix build -f image.scm`: a layered image of Guix packages, built by strata (the strata channel\'s layered-image)',
    (y) =>
      outputOption(y)
        .option('name', { type: 'string', demandOption: true, describe: 'image name' })
        .option('packages', { type: 'string', array: true, demandOption: true, describe: 'package specifications, as guix install takes them (guile, guile@3.0, glibc:debug)' })
        .option('tag', { type: 'string', describe: 'image tag (default latest)' })
        .option('max-layers', { type: 'number', default: DEFAULT_MAX_LAYERS, describe: 'layers in the image, counting the symlinks layer' })
        .option('strategy', { choices: STRATEGIES, default: DEFAULT_STRATEGY, describe: 'how store items are grouped into layers: shared (strata\'s own), popularity (nixpkgs), size (as guix pack --max-layers), auto' })
        .option('entry-point', { type: 'string', describe: 'the program to run, relative to the profile (bin/app), as guix pack --entry-point' })
        .option('entry-point-argument', { type: 'string', array: true, describe: 'an argument of the entry point (repeat for more)' })
        .option('symlink', { alias: 'S', type: 'string', array: true, describe: 'SOURCE=TARGET: a link SOURCE in the image to TARGET in the profile, as guix pack -S' })
        .option('config', { type: 'string', describe: 'image runtime config as JSON text' })
        .option('format', { choices: ['docker', 'oci'] as const, default: 'docker' as const, describe: 'docker-archive or OCI archive' })
        .option('compression', { choices: ['gzip', 'zstd'] as const, describe: 'layer compression (with --format oci)' }),
    async (a) => {
      const symlinks = (a.symlink ?? []).map((s) => {
        const i = s.indexOf('=');
        if (i <= 0) throw new StrataError(`--symlink ${s}: expected SOURCE=TARGET`);
        return { source: s.slice(0, i), target: s.slice(i + 1) };
      });
      const text = await renderGuixImage({
        name: a.name,
        packages: a.packages.map(String),
        ...(a.tag === undefined ? {} : { tag: a.tag }),
        maxLayers: a['max-layers'],
        strategy: a.strategy,
        ...(a['entry-point'] === undefined ? {} : { entryPoint: a['entry-point'] }),
        entryPointArguments: (a['entry-point-argument'] ?? []).map(String),
        symlinks,
        ...(a.config === undefined ? {} : { config: a.config }),
        format: a.format,
        ...(a.compression === undefined ? {} : { compression: a.compression }),
      });
      await writeOutput(text, a.output);
    },
  );

export const renderCommand = <T>(y: Argv<T>) =>
  y.command('render', 'write a build expression that makes an image: render guix, render nix', (y) => renderNix(renderGuix(y)).demandCommand(1, 'name what to render: guix, nix'));
