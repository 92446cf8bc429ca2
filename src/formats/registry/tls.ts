import { readFile, readdir } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { StrataError } from '../../errors.js';

/** What https requests to one registry are made with. */
export interface TlsSettings {
  verify: boolean;
  /** Trusted CAs; undefined keeps Node's own. */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

// Where distributions keep the system's CA bundle (what Go, and so skopeo, reads after SSL_CERT_FILE).
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/**
 * TLS settings as containers/image makes them: the system CAs, plus from the
 * cert directory (`--cert-dir`, else /etc/containers/certs.d/HOST[:PORT] or
 * /etc/docker/certs.d/HOST[:PORT] when present) every `*.crt` as a CA and a
 * `NAME.cert` with its `NAME.key` as the client certificate.
 */
export async function tlsSettings(registry: string, options: { verify?: boolean; certDir?: string }): Promise<TlsSettings> {
  const dirs = options.certDir !== undefined ? [options.certDir] : [join('/etc/containers/certs.d', registry), join('/etc/docker/certs.d', registry)];
  for (const dir of dirs) {
    const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (options.certDir !== undefined) throw new StrataError(`--cert-dir ${dir}: cannot read the directory (${e.code})`);
      return undefined;
    });
    if (names === undefined) continue;
    const read = (name: string): Promise<Buffer> =>
      readFile(join(dir, name)).catch((e: NodeJS.ErrnoException) => {
        throw new StrataError(`${join(dir, name)}: cannot read (${e.code})`);
      });
    const cas = await Promise.all(names.filter((n) => n.endsWith('.crt')).sort().map(async (n) => (await read(n)).toString('utf8')));
    const certs = names.filter((n) => n.endsWith('.cert')).sort();
    if (certs.length > 1) throw new StrataError(`${dir}: several client certificates (${certs.join(', ')}); keep one NAME.cert with its NAME.key`);
    let client: { cert: Buffer; key: Buffer } | undefined;
    if (certs[0] !== undefined) {
      const keyName = certs[0].replace(/\.cert$/, '.key');
      if (!names.includes(keyName)) throw new StrataError(`${join(dir, certs[0])}: client certificate without its key ${keyName}; put the key beside it`);
      client = { cert: await read(certs[0]), key: await read(keyName) };
    }
    return { ...(await trusted(options.verify, cas)), ...client };
  }
  return trusted(options.verify, []);
}

/** The system's CAs and `cas`, when certificates are verified: without, none is parsed for each connection (~30 ms of CPU). */
async function trusted(verify = true, cas: string[]): Promise<TlsSettings> {
  return verify ? { verify, ca: [...(await systemCas()), ...cas] } : { verify };
}

async function systemCas(): Promise<string[]> {
  // SSL_CERT_FILE first, as Go reads it (Nix builds point it at cacert's bundle).
  for (const file of [...(process.env.SSL_CERT_FILE ? [process.env.SSL_CERT_FILE] : []), ...SYSTEM_BUNDLES]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return [text];
  }
  return [...rootCertificates];
}
