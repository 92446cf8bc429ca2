// Every media type and annotation key strata reads or writes, defined once.

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

// Docker Image Manifest V2, Schema 2 (what registries took before OCI, and
// what skopeo keeps when it copies a Docker image into a layout as it is).
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';

/** The annotation naming an image in an OCI layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** Where a blob lies in an OCI layout (or an OCI archive), or undefined for a digest that is not sha256. */
export function layoutBlobPath(digest: string): string | undefined {
  const [algo, hex] = digest.split(':');
  return algo === 'sha256' && /^[0-9a-f]{64}$/.test(hex ?? '') ? `blobs/sha256/${hex}` : undefined;
}
