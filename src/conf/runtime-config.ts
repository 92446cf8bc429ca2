import { StrataError } from '../errors.js';
import { PyInt, type PyObject, type PyValue } from '../util/pyjson.js';

/**
 * The image runtime config (Entrypoint, Env, ...) checked against the OCI
 * image-spec config schema, plus the Docker keys image configs still carry.
 * Values come back as given (so nixpkgs confs keep their bytes) except the
 * short forms, which are normalised: a single-string Entrypoint or Cmd
 * becomes a one-element list (Docker reads it so, without splitting words),
 * and ExposedPorts or Volumes given as a list become objects of {}.
 */
export interface ImageConfigOptions {
  /** The input the config came from, prefixed to errors and warnings (a file name, --config). */
  source?: string;
  /** Told about keys the schema does not know (they are kept). */
  warn?: (message: string) => void;
}

/** Checks a value at a key path; returns it, or its normalised form. */
type Check = (value: PyValue, at: string) => PyValue;

const INT64 = 1n << 63n;
const PORT = /^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/;

const fail = (at: string, what: string): never => {
  throw new StrataError(`${at} ${what}`);
};

const string: Check = (v, at) => (typeof v === 'string' ? v : fail(at, 'must be a string'));
const boolean: Check = (v, at) => (typeof v === 'boolean' ? v : fail(at, 'must be true or false'));
const integer: Check = (v, at) => (v instanceof PyInt && v.value >= -INT64 && v.value < INT64 ? v : fail(at, 'must be an integer'));
const nonNegative: Check = (v, at) => (v instanceof PyInt && v.value >= 0n && v.value < INT64 ? v : fail(at, 'must be a non-negative integer'));
const orNull = (check: Check): Check => (v, at) => (v === null ? v : check(v, at));

const stringList = (what: string): Check => (v, at) => {
  if (!Array.isArray(v)) return fail(at, `must be a list of ${what}`);
  v.forEach((item, i) => string(item, `${at}[${i}]`));
  return v;
};

/** Entrypoint and Cmd: a list of strings; a single string is the one-element list. */
const command: Check = (v, at) => (typeof v === 'string' ? [v] : v === null ? v : stringList('strings (or a single string, or null)')(v, at));

const env: Check = (v, at) => {
  stringList('"KEY=VALUE" strings')(v, at);
  (v as PyValue[]).forEach((item, i) => {
    if (!/^[^=]+=/.test(item as string)) fail(`${at}[${i}]`, `${JSON.stringify(item)} must be KEY=VALUE`);
  });
  return v;
};

/** An object whose values are {} (ExposedPorts, Volumes); a list of keys stands for it. */
const setOf = (what: string, key: (k: string, at: string) => string): Check => (v, at) => {
  if (Array.isArray(v)) {
    return new Map(v.map((item, i): [string, PyValue] => [key(string(item, `${at}[${i}]`) as string, `${at}[${i}]`), new Map()]));
  }
  if (!(v instanceof Map)) return fail(at, `must be an object of ${what} to {} (or a list of ${what})`);
  for (const [k, item] of v) {
    const here = `${at}[${JSON.stringify(k)}]`;
    key(k, at);
    if (!(item instanceof Map)) fail(here, 'must be an object ({})');
  }
  return v;
};

/** "80/tcp", "53/udp", "8000-8010/tcp"; a bare port is TCP. */
const port = (k: string, at: string): string => {
  if (!PORT.test(k)) fail(`${at}:`, `${JSON.stringify(k)} is not a port; write PORT[/PROTO] such as "80/tcp" (PROTO tcp, udp or sctp)`);
  return k.includes('/') ? k : `${k}/tcp`;
};

const volume = (k: string, at: string): string => (k === '' ? fail(`${at}:`, 'an empty path; write a path in the image such as "/data"') : k);

const labels: Check = (v, at) => {
  if (!(v instanceof Map)) return fail(at, 'must be an object of strings (or null)');
  for (const [k, item] of v) string(item, `${at}[${JSON.stringify(k)}]`);
  return v;
};

/** An object with known keys; unknown keys are collected for the warning. */
const object = (checks: Record<string, Check>, unknown: string[]): Check => (v, at) => {
  if (!(v instanceof Map)) return fail(at, 'must be an object');
  const out: PyObject = new Map();
  for (const [k, item] of v) {
    const check = Object.hasOwn(checks, k) ? checks[k] : undefined;
    if (!check) unknown.push(unknownKey(k, at, Object.keys(checks)));
    out.set(k, check ? check(item, /^[A-Za-z_]\w*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`) : item);
  }
  return out;
};

const healthTest: Check = (v, at) => {
  stringList('strings such as ["CMD", "/bin/check"]')(v, at);
  const first = (v as PyValue[])[0];
  if (first !== undefined && !['NONE', 'CMD', 'CMD-SHELL'].includes(first as string)) fail(`${at}[0]`, 'must be "CMD", "CMD-SHELL" or "NONE"');
  return v;
};

const healthcheck = (unknown: string[]): Check =>
  object({ Test: healthTest, Interval: nonNegative, Timeout: nonNegative, StartPeriod: nonNegative, StartInterval: nonNegative, Retries: nonNegative }, unknown);

/** The OCI image-spec config keys, then Docker's (container.Config and the v1 image spec). */
const KEYS = (unknown: string[]): Record<string, Check> => ({
  User: string,
  ExposedPorts: setOf('ports', port),
  Env: env,
  Entrypoint: command,
  Cmd: command,
  Volumes: orNull(setOf('paths', volume)),
  WorkingDir: string,
  Labels: orNull(labels),
  StopSignal: string,
  ArgsEscaped: boolean,
  Healthcheck: healthcheck(unknown),
  OnBuild: orNull(stringList('strings (or null)')),
  Shell: stringList('strings'),
  StopTimeout: orNull(integer),
  Hostname: string,
  Domainname: string,
  Image: string,
  MacAddress: string,
  AttachStdin: boolean,
  AttachStdout: boolean,
  AttachStderr: boolean,
  Tty: boolean,
  OpenStdin: boolean,
  StdinOnce: boolean,
  NetworkDisabled: boolean,
  Memory: integer,
  MemorySwap: integer,
  CpuShares: integer,
  Cpuset: string,
});

function unknownKey(key: string, at: string, known: string[]): string {
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
  return `${at}.${key}` + (near ? ` (did you mean ${near}?)` : '');
}

/**
 * Check an image runtime config; a wrong type is an error naming the key
 * path (config.ExposedPorts["80/tcp"]). Unknown keys are kept, with one
 * warning line naming them.
 */
export function validateImageConfig(config: PyObject, options: ImageConfigOptions = {}): PyObject {
  const prefix = options.source === undefined ? '' : `${options.source}: `;
  const unknown: string[] = [];
  let checked: PyObject;
  try {
    checked = object(KEYS(unknown), unknown)(config, 'config') as PyObject;
  } catch (e) {
    if (e instanceof StrataError) throw new StrataError(prefix + e.message, e.exitCode);
    throw e;
  }
  if (unknown.length > 0) options.warn?.(`${prefix}keys not in the OCI image config, kept as they are: ${unknown.join(', ')}`);
  return checked;
}
