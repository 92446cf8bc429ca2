import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const schemaDir = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');

/**
 * A validator of CycloneDX 1.6 JSON against the official schema (as
 * @cyclonedx/cyclonedx-library ships it): the schema and the two it refers
 * to, under the names it refers to them by.
 */
export function cycloneDxValidator() {
  const ajv = new Ajv.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The schema's idn-email and iri-reference formats: not in ajv-formats; no SBOM here has such a field.
  ajv.addFormat('idn-email', true).addFormat('iri-reference', true);
  const load = (file: string) => JSON.parse(readFileSync(join(schemaDir, file), 'utf8'));
  for (const file of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) ajv.addSchema({ ...load(file), $id: `http://cyclonedx.org/schema/${file}` });
  return ajv.compile<any>(load('bom-1.6.SNAPSHOT.schema.json'));
}

/**
 * The fields SPDX 2.3 requires of a JSON document with packages and
 * relationships, checked by hand: no npm package ships the official SPDX 2.3
 * JSON schema. Returns what is wrong (empty when nothing).
 */
export function spdx23Problems(doc: any): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => void (ok || problems.push(what));
  need(doc.spdxVersion === 'SPDX-2.3', 'spdxVersion is SPDX-2.3');
  need(doc.dataLicense === 'CC0-1.0', 'dataLicense is CC0-1.0');
  need(doc.SPDXID === 'SPDXRef-DOCUMENT', 'SPDXID is SPDXRef-DOCUMENT');
  need(typeof doc.name === 'string' && doc.name !== '', 'a name');
  need(typeof doc.documentNamespace === 'string' && /^[a-z][a-z0-9+.-]*:[^\s#]+$/.test(doc.documentNamespace), 'documentNamespace an absolute URI without #');
  need(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(doc.creationInfo?.created ?? ''), 'creationInfo.created as YYYY-MM-DDThh:mm:ssZ');
  const creators: unknown[] = doc.creationInfo?.creators ?? [];
  need(creators.length > 0 && creators.every((c) => typeof c === 'string' && /^(Tool|Organization|Person): \S/.test(c)), 'creators: Tool:, Organization: or Person:');
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  for (const [i, p] of (doc.packages ?? []).entries()) {
    need(typeof p.SPDXID === 'string' && /^SPDXRef-[A-Za-z0-9.-]+$/.test(p.SPDXID) && !ids.has(p.SPDXID), `packages[${i}].SPDXID unique, SPDXRef-[A-Za-z0-9.-]+`);
    ids.add(p.SPDXID);
    need(typeof p.name === 'string' && p.name !== '', `packages[${i}].name`);
    need(typeof p.downloadLocation === 'string' && p.downloadLocation !== '', `packages[${i}].downloadLocation`);
    need(p.filesAnalyzed === false || p.packageVerificationCode !== undefined, `packages[${i}]: filesAnalyzed false, or a packageVerificationCode`);
    for (const c of p.checksums ?? []) need(c.algorithm === 'SHA256' && /^[0-9a-f]{64}$/.test(c.checksumValue), `packages[${i}].checksums: SHA256, 64 hex digits`);
    if (p.primaryPackagePurpose !== undefined) need(['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING-SYSTEM', 'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER'].includes(p.primaryPackagePurpose), `packages[${i}].primaryPackagePurpose`);
  }
  for (const [i, r] of (doc.relationships ?? []).entries()) {
    need(ids.has(r.spdxElementId) && ids.has(r.relatedSpdxElement), `relationships[${i}] names elements of the document`);
    need(['DESCRIBES', 'CONTAINS', 'DEPENDS_ON'].includes(r.relationshipType), `relationships[${i}].relationshipType`);
  }
  need((doc.relationships ?? []).some((r: any) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES'), 'the document DESCRIBES something');
  return problems;
}

/**
 * The documents of `artifactType` that refer to the manifest `digest` in a
 * registry without the referrers API (its answer there is checked to be
 * 404), as a reader with the digest alone finds them: the index under the
 * referrers tag (`sha256-<hex>`), each artifact manifest it lists (its
 * subject checked), the document blob.
 */
export async function tagSchemeReferrers(repository: string, digest: string, artifactType: string): Promise<Buffer[]> {
  assert.equal((await fetch(`${repository}/referrers/${digest}`)).status, 404);
  const res = await fetch(`${repository}/manifests/${digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  assert.equal(res.status, 200, `no referrers tag for ${digest}`);
  const listed: any = await res.json();
  const found: Buffer[] = [];
  for (const entry of listed.manifests.filter((m: any) => m.artifactType === artifactType)) {
    const manifest: any = await (await fetch(`${repository}/manifests/${entry.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json();
    assert.equal(manifest.subject.digest, digest);
    assert.equal(manifest.artifactType, artifactType);
    found.push(Buffer.from(await (await fetch(`${repository}/blobs/${manifest.layers[0].digest}`)).arrayBuffer()));
  }
  return found;
}
