import { StrataError } from '../../errors.js';

/** Where an image goes in a registry: `HOST[:PORT]/REPO[:TAG|@DIGEST]`. */
export interface RegistryReference {
  /** `host[:port]` as written (IPv6 in brackets): the key of auth files and cert dirs. */
  registry: string;
  /** The host name alone, for TLS and the loopback check. */
  hostname: string;
  repository: string;
  /** The tag, or the manifest digest the image must have. */
  tag?: string;
  digest?: string;
}

// The grammar of github.com/distribution/reference.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const TAG_RULE = 'not a valid tag (letters, digits, _ . -, up to 128)';
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::[0-9]{1,5})?$/;

/** Parse the part after `docker:` (`//HOST[:PORT]/REPO[:TAG|@DIGEST]`); the tag defaults to `latest`. */
export function parseRegistryReference(text: string, what = `docker:${text}`): RegistryReference {
  const fail = (why: string): never => {
    throw new StrataError(`${what}: ${why}; expected docker://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], e.g. docker://localhost:5000/app:1.0`);
  };
  if (!text.startsWith('//')) fail('the reference must start with //');
  // USER:PASS@ before the host: never sent, and never shown back.
  const userinfo = /^\/\/([^/]*)@/.exec(text)?.[1];
  if (userinfo !== undefined) throw new StrataError(`${what.replace(userinfo, '***')}: a reference carries no credentials; give them with --creds USER:PASS, --authfile FILE or an auth file's entry`);
  const rest = text.slice(2);
  const slash = rest.indexOf('/');
  if (slash < 0) fail('no repository after the host');
  const registry = rest.slice(0, slash);
  if (!HOST.test(registry)) fail(`'${registry}' is not a host[:port]`);
  // Docker reads a first part without a dot or a port as a Docker Hub namespace, not as a host.
  if (!/[.:[]/.test(registry) && registry !== 'localhost') fail(`'${registry}' is not a registry host (a first part without a dot or a port is a namespace to Docker); name the registry with its domain or port`);
  let name = rest.slice(slash + 1);
  let tag: string | undefined;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) fail(`'${digest}' is not a sha256 digest`);
  } else {
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) {
      tag = name.slice(colon + 1);
      name = name.slice(0, colon);
      if (!TAG.test(tag)) fail(`'${tag}' is ${TAG_RULE}`);
    }
  }
  if (!REPOSITORY.test(name)) fail(`'${name}' is not a repository name (lowercase letters, digits, separators . _ - and /)`);
  const hostname = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:[0-9]+$/, '');
  return { registry, hostname, repository: name, tag: digest ? undefined : (tag ?? 'latest'), digest };
}

/** A repository of the same registry, as `--mount-from` names it. */
export function parseRepository(name: string, what: string): string {
  if (!REPOSITORY.test(name)) throw new StrataError(`${what} ${name}: not a repository name (lowercase letters, digits, separators . _ - and /); give the repository alone, without host or tag`);
  return name;
}

/** A tag alone, as `--additional-tag` names it. */
export function parseTag(tag: string, what: string): string {
  if (!TAG.test(tag)) throw new StrataError(`${what} ${tag}: ${TAG_RULE}`);
  return tag;
}

export function formatReference(r: RegistryReference): string {
  return `docker://${r.registry}/${r.repository}${r.digest ? `@${r.digest}` : `:${r.tag}`}`;
}

/** Hosts that may be spoken to over plain HTTP without --tls-verify=false, as Docker treats them. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
