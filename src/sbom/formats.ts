/** The SBOM document formats: CycloneDX 1.6 JSON and SPDX 2.3 JSON (a module of its own: the CLI lists them without loading the writers). */
export const SBOM_FORMATS = ['cyclonedx', 'spdx'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];
