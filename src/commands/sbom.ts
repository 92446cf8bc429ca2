import type { Argv } from 'yargs';
import { closureSbom, sourceImageSbom } from '../build/sbom.js';
import { SBOM_FORMATS, type SbomFormat } from '../sbom/formats.js';
import { StrataError } from '../errors.js';
import { parsePlatform } from '../image/platform.js';
import { writeOutput } from '../output.js';
import { closureOptions, closureSource, imageName, outputOption, registryReadOptions, registrySourceSettings } from './options.js';

export const sbomCommand = <T>(y: Argv<T>) =>
  y.command(
    'sbom [roots..]',
    'write a JSON SBOM of a closure (CycloneDX 1.6, or SPDX 2.3): a component or package per store path (name, version, NAR hash and size), references as dependencies; or of an image (IMAGE as TRANSPORT:NAME, or --image): the store paths its history names, each with its layer',
    (y) =>
      registryReadOptions(outputOption(closureOptions(y)))
        .option('format', { choices: SBOM_FORMATS, default: 'cyclonedx' as SbomFormat, describe: 'CycloneDX 1.6 JSON, or SPDX 2.3 JSON' })
        .option('image', {
          type: 'string',
          coerce: imageName,
          describe: 'describe this image instead of a closure (docker-archive:FILE, oci:DIR[:REF], oci-archive:FILE[:REF], docker://HOST/REPO[:TAG|@DIGEST], or a path; - for standard input; a name with its transport may stand alone as IMAGE): its history\'s store paths per layer; an image holds no NAR hashes or references',
        })
        .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] of the image to describe from a multi-platform index (with --image)' })
        .option('stored', { type: 'boolean', describe: 'with an image: print the SBOM stored with it, as it is (beside its file, or its OCI layout\'s or registry\'s referrer of its manifest, read through the referrers tag scheme where the registry has no referrers API) instead of one made from its history' }),
    async (a) => {
      // One transport-named positional (docker://..., oci:DIR, ...) is an image: strata sbom IMAGE, as --image.
      const named = a.roots?.length === 1 && /^[a-z][a-z0-9-]*:/.test(a.roots[0]!) ? imageName(a.roots[0]!) : undefined;
      const image = a.image ?? named;
      const roots = named === undefined ? (a.roots ?? []) : [];
      if (image !== undefined && (roots.length > 0 || a.graph !== undefined || (named !== undefined && a.image !== undefined))) {
        throw new StrataError('strata sbom: name one image (IMAGE or --image) or a closure (ROOT or --graph), not both');
      }
      if (image === undefined && (a.platform !== undefined || a.stored === true)) throw new StrataError(`strata sbom: --${a.platform === undefined ? 'stored' : 'platform'} is about an image; name one (IMAGE or --image)`);
      const platform = a.platform === undefined ? undefined : parsePlatform(a.platform);
      await writeOutput(image === undefined ? await closureSbom({ ...closureSource(a), format: a.format }) : await sourceImageSbom({ image, platform, format: a.format, stored: a.stored, source: { registry: registrySourceSettings(a) } }), a.output);
    },
  );
