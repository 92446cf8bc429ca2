import { sha256Hex } from '../model/digest.js';
import type { SbomModel, SbomPackage } from './sbom.js';

/** The media type of an SPDX JSON document (an OCI artifact type too). */
export const SPDX_MEDIA_TYPE = 'application/spdx+json';

const DOCUMENT = 'SPDXRef-DOCUMENT';
const IMAGE = 'SPDXRef-Image';

/** An SPDX identifier for a store path: its hash part and name, in the letters SPDX IDs allow. */
function packageId(path: string): string {
  return `SPDXRef-Package-${path.slice(path.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

function spdxPackage(p: SbomPackage, root: boolean): Record<string, unknown> {
  return {
    SPDXID: packageId(p.path),
    name: p.name,
    ...(p.version === '' ? {} : { versionInfo: p.version }),
    packageFileName: p.path,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    // The NAR hash is the store's content hash of the path.
    ...(p.narHash === undefined ? {} : { checksums: [{ algorithm: 'SHA256', checksumValue: p.narHash.slice('sha256:'.length) }] }),
    primaryPackagePurpose: root ? 'APPLICATION' : 'LIBRARY',
    comment: `Nix store path ${p.path}${p.narSize === undefined ? '' : `, NAR size ${p.narSize}`}${p.layer === undefined ? '' : `, in image layer ${p.layer}`}`,
  };
}

/**
 * An SPDX 2.3 JSON document: a package per store path, `DEPENDS_ON` for
 * its references, the image (when there is one) as the package the document
 * describes and that contains the rest. Deterministic: the creation time is
 * the epoch (as the image's own), the namespace derives from the content.
 */
export function spdx(model: SbomModel): string {
  const roots = new Set(model.roots ?? []);
  const image = model.image;
  const packages = [
    ...(image === undefined
      ? []
      : [
          {
            SPDXID: IMAGE,
            name: image.name,
            ...(image.tag === undefined ? {} : { versionInfo: image.tag }),
            downloadLocation: 'NOASSERTION',
            filesAnalyzed: false,
            ...(image.digest === undefined ? {} : { checksums: [{ algorithm: 'SHA256', checksumValue: image.digest.replace(/^sha256:/, '') }] }),
            primaryPackagePurpose: 'CONTAINER',
          },
        ]),
    ...model.packages.map((p) => spdxPackage(p, roots.has(p.path))),
  ];
  const relationships = [
    ...(image === undefined
      ? (model.roots ?? []).map((r) => ({ spdxElementId: DOCUMENT, relationshipType: 'DESCRIBES', relatedSpdxElement: packageId(r) }))
      : [
          { spdxElementId: DOCUMENT, relationshipType: 'DESCRIBES', relatedSpdxElement: IMAGE },
          ...model.packages.map((p) => ({ spdxElementId: IMAGE, relationshipType: 'CONTAINS', relatedSpdxElement: packageId(p.path) })),
        ]),
    ...model.packages.flatMap((p) => (p.dependsOn ?? []).map((d) => ({ spdxElementId: packageId(p.path), relationshipType: 'DEPENDS_ON', relatedSpdxElement: packageId(d) }))),
  ];
  const name = image === undefined ? `closure of ${(model.roots ?? []).join(' ')}` : `${image.name}${image.tag === undefined ? '' : `:${image.tag}`}`;
  const body = { packages, relationships };
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: DOCUMENT,
    name,
    // Unique per content, and the same for the same content.
    documentNamespace: `urn:strata:sbom:sha256:${sha256Hex(JSON.stringify(body))}`,
    creationInfo: { created: '1970-01-01T00:00:00Z', creators: [`Tool: ${model.tool.name}-${model.tool.version}`], ...(model.note === undefined ? {} : { comment: model.note }) },
    ...body,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
