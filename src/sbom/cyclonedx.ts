import type { SbomModel, SbomPackage } from './sbom.js';

/** The media type of a CycloneDX JSON document (an OCI artifact type too). */
export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

const IMAGE_REF = 'image';

function component(p: SbomPackage, root: boolean): Record<string, unknown> {
  const properties = [
    { name: 'nix:store_path', value: p.path },
    ...(p.narSize === undefined ? [] : [{ name: 'nix:nar_size', value: String(p.narSize) }]),
    ...(p.narHash === undefined ? [] : [{ name: 'nix:nar_hash', value: p.narHash }]),
    ...(p.layer === undefined ? [] : [{ name: 'strata:layer_digest', value: p.layer }]),
  ];
  return {
    type: root ? 'application' : 'library',
    'bom-ref': p.path,
    name: p.name,
    ...(p.version === '' ? {} : { version: p.version }),
    // The NAR is the store's own serialisation of the path: its hash is the path's content hash.
    ...(p.narHash === undefined ? {} : { hashes: [{ alg: 'SHA-256', content: p.narHash.slice('sha256:'.length) }] }),
    properties,
  };
}

/**
 * A CycloneDX 1.6 JSON document: a component per store path, the references
 * as dependencies, the image (when there is one) as the described component.
 * No timestamp or random serial number, so the same closure gives the same bytes.
 */
export function cycloneDx(model: SbomModel): string {
  const roots = new Set(model.roots ?? []);
  const image = model.image;
  const doc = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: model.tool.name, version: model.tool.version }] },
      ...(model.note === undefined ? {} : { properties: [{ name: 'strata:note', value: model.note }] }),
      ...(image === undefined
        ? {}
        : {
            component: {
              type: 'container',
              'bom-ref': IMAGE_REF,
              name: image.name,
              ...(image.tag === undefined ? {} : { version: image.tag }),
              ...(image.digest === undefined ? {} : { hashes: [{ alg: 'SHA-256', content: image.digest.replace(/^sha256:/, '') }] }),
            },
          }),
    },
    components: model.packages.map((p) => component(p, roots.has(p.path))),
    dependencies: [
      // Unknown references are left out: an empty dependsOn would claim there are none.
      ...(image === undefined || model.roots === undefined ? [] : [{ ref: IMAGE_REF, dependsOn: model.roots }]),
      ...model.packages.flatMap((p) => (p.dependsOn === undefined ? [] : [{ ref: p.path, dependsOn: p.dependsOn }])),
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
