/**
 * Test helpers that give tests a real Nix store (test/fixtures/store.nix,
 * built with the host's single-user Nix) and real image tools: skopeo,
 * podman (isolated vfs storage), umoci and chroot.
 *
 * Everything runs through node:child_process; a failing tool throws an
 * Error that shows the command line, the exit status and its stderr.
 * scripts/install-deps.sh installs the tools.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest parent holding test/fixtures/store.nix. */
export const REPO_ROOT: string = findRepoRoot();

/** The fixture store expression. */
export const FIXTURE_NIX: string = join(REPO_ROOT, 'test', 'fixtures', 'store.nix');

/**
 * Single-user Nix as root without build users, sandbox or binary caches
 * (there is no network, and no nixbld users are needed).
 */
export const NIX_CONFIG = 'build-users-group =\nsandbox = false\nsubstituters =';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'test', 'fixtures', 'store.nix'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`test/fixtures/store.nix not found above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

// ---------------------------------------------------------------------------
// Running tools

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Return a non-zero status instead of throwing. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
}

function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Run `file args...` and return its output. Throws, showing stderr, when it
 * cannot start, is killed, or (unless allowFailure) exits non-zero.
 */
export function runTool(file: string, args: readonly string[], options: RunOptions = {}): RunResult {
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    cwd: options.cwd,
    input: options.input,
    maxBuffer: 512 * 1024 * 1024,
  });
  const cmd = commandLine(file, args);
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (not installed? run scripts/install-deps.sh)' : '';
    throw new Error(`${cmd}: could not run: ${result.error.message}${hint}`);
  }
  const stderr = result.stderr ?? '';
  if (result.status === null) {
    throw new Error(`${cmd}: killed by ${result.signal}\n--- stderr ---\n${stderr}`);
  }
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${cmd}: exit status ${result.status}\n--- stderr ---\n${stderr}`);
  }
  return { stdout: result.stdout ?? '', stderr, status: result.status };
}

// ---------------------------------------------------------------------------
// Temporary directories

const tmpDirs = new Set<string>();
let cleanupRegistered = false;

function removeTmpDirs(): void {
  for (const dir of tmpDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Read-only directories (as in unpacked store paths) when not root.
      spawnSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  tmpDirs.clear();
}

/** A new directory under the system temp dir, removed when the process exits. */
export function tmpDir(prefix: string): string {
  if (!cleanupRegistered) {
    process.once('exit', removeTmpDirs);
    cleanupRegistered = true;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  tmpDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------------------
// Nix

/** process.env plus the single-user NIX_CONFIG. */
export function nixEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NIX_CONFIG };
}

const built = new Map<string, string>();

/**
 * `nix-build FILE -A attr --no-out-link`, returning the store path. Retries
 * a build that Nix reports "failed due to signal 9 (Killed)": Nix without
 * build users sometimes SIGKILLs a builder that has already succeeded
 * (NixOS/nix#2176, about 1 build in 100 here).
 */
export function nixBuild(file: string, attr: string): string {
  const args = [file, '-A', attr, '--no-out-link'];
  for (let attempt = 1; ; attempt++) {
    const result = runTool('nix-build', args, { env: nixEnv(), allowFailure: true });
    if (result.status === 0) {
      const lines = result.stdout.trim().split('\n');
      const path = lines[lines.length - 1]!;
      if (!path.startsWith('/nix/store/')) {
        throw new Error(`${commandLine('nix-build', args)}: no store path in output:\n${result.stdout}`);
      }
      return path;
    }
    if (attempt < 3 && /failed due to signal 9/.test(result.stderr)) continue;
    throw new Error(`${commandLine('nix-build', args)}: exit status ${result.status}\n--- stderr ---\n${result.stderr}`);
  }
}

/** Build fixture `attr` of test/fixtures/store.nix (cached per process). */
export function buildFixture(attr: string): string {
  let path = built.get(attr);
  if (path === undefined) {
    path = nixBuild(FIXTURE_NIX, attr);
    built.set(attr, path);
  }
  return path;
}

/** `nix-store args...`, its stdout. */
export function nixStore(args: readonly string[]): string {
  return runTool('nix-store', args, { env: nixEnv() }).stdout;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** `nix-store --query --references` (includes the path itself if it refers to itself). */
export function queryReferences(path: string): string[] {
  return lines(nixStore(['--query', '--references', path]));
}

/** `nix-store --query --requisites`: the closure, the path included. */
export function queryRequisites(path: string): string[] {
  return lines(nixStore(['--query', '--requisites', path]));
}

export interface GraphFiles {
  /** The graph derivation's output. */
  out: string;
  /**
   * Plain `exportReferencesGraph` output, Nix's validity registration text:
   * per path "PATH\n\nCOUNT\nREF...\n" (the empty line is the deriver).
   */
  registration: string;
  /**
   * The builder's .attrs.json with `__structuredAttrs`: key "closure" holds
   * [{ path, narHash, narSize, references, closureSize }].
   */
  attrsJson: string;
}

/** Reference graph files of fixture `attr` (built by `graphs.<attr>` in store.nix). */
export function graphFiles(attr: string): GraphFiles {
  const out = buildFixture(`graphs.${attr}`);
  return { out, registration: join(out, 'registration'), attrsJson: join(out, 'attrs.json') };
}

// ---------------------------------------------------------------------------
// skopeo

/** A bare path (absolute or starting with ".") means a docker-archive. */
function imageRef(ref: string): string {
  return ref.startsWith('/') || ref.startsWith('.') ? `docker-archive:${resolve(ref)}` : ref;
}

function skopeo(args: readonly string[]): string {
  return runTool('skopeo', ['--insecure-policy', ...args]).stdout;
}

/** `skopeo inspect REF`: skopeo's summary (Digest, Layers, Env, Architecture...). */
export function skopeoInspect(ref: string): any {
  return JSON.parse(skopeo(['inspect', imageRef(ref)]));
}

/** `skopeo inspect --raw REF`: the image manifest as stored. */
export function skopeoInspectRaw(ref: string): any {
  return JSON.parse(skopeo(['inspect', '--raw', imageRef(ref)]));
}

/** `skopeo inspect --config --raw REF`: the image config blob as stored. */
export function skopeoInspectConfig(ref: string): any {
  return JSON.parse(skopeo(['inspect', '--config', '--raw', imageRef(ref)]));
}

// ---------------------------------------------------------------------------
// podman

let podmanState: string | undefined;

/**
 * Global podman flags for a private storage under a temp dir (one per
 * process): vfs works without overlay support, no events or cgroups.
 */
export function podmanFlags(): string[] {
  podmanState ??= tmpDir('strata-podman-');
  return [
    '--root', join(podmanState, 'root'),
    '--runroot', join(podmanState, 'runroot'),
    '--tmpdir', join(podmanState, 'tmp'),
    '--storage-driver', 'vfs',
    '--events-backend', 'none',
    '--cgroup-manager', 'cgroupfs',
  ];
}

/** `podman <private storage flags> args...`, its stdout. */
export function podman(args: readonly string[]): string {
  return runTool('podman', [...podmanFlags(), ...args]).stdout;
}

/**
 * `podman load -i ARCHIVE` into the private storage; returns the loaded
 * image's name (e.g. "localhost/name:tag") or, untagged, "sha256:<id>".
 */
export function podmanLoad(archivePath: string): string {
  const out = podman(['load', '-i', resolve(archivePath)]);
  const match = /^Loaded image(?:\(s\))?: *(.+)$/m.exec(out);
  if (!match) throw new Error(`podman load ${archivePath}: no "Loaded image" line in:\n${out}`);
  return match[1]!.split(',')[0]!.trim();
}

/** `podman image inspect REF`: the first (only) object. */
export function podmanImageInspect(ref: string): any {
  return JSON.parse(podman(['image', 'inspect', ref]))[0];
}

// ---------------------------------------------------------------------------
// umoci + chroot

export interface UnpackedImage {
  /** The OCI layout skopeo wrote, image tag "strata". */
  ociDir: string;
  /** umoci's runtime bundle. */
  bundle: string;
  /** The image's file system. */
  rootfs: string;
  /** The bundle's config.json (OCI runtime spec made from the image config). */
  runtimeConfig: any;
}

/**
 * `skopeo copy docker-archive:ARCHIVE oci:DIR:strata` then
 * `umoci unpack --image DIR:strata BUNDLE`, in a new temp dir.
 */
export function unpackImage(archivePath: string): UnpackedImage {
  const dir = tmpDir('strata-unpack-');
  const ociDir = join(dir, 'oci');
  const bundle = join(dir, 'bundle');
  skopeo(['copy', '--quiet', `docker-archive:${resolve(archivePath)}`, `oci:${ociDir}:strata`]);
  runTool('umoci', ['unpack', '--image', `${ociDir}:strata`, bundle]);
  const runtimeConfig = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  return { ociDir, bundle, rootfs: join(bundle, 'rootfs'), runtimeConfig };
}

const CHROOT = existsSync('/usr/sbin/chroot') ? '/usr/sbin/chroot' : 'chroot';

export interface ChrootOptions {
  /** The environment inside; default: the image's Env. */
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/**
 * Unpack the image and run `chroot ROOTFS argv...` (argv[0] is a path in the
 * image; empty argv runs the image's entrypoint + cmd) with the image's Env.
 * The working directory is "/" whatever the image's WorkingDir.
 */
export function unpackAndRun(
  archivePath: string,
  argv: readonly string[],
  options: ChrootOptions = {},
): { stdout: string; stderr: string; status: number } {
  return runUnpacked(unpackImage(archivePath), argv, options);
}

/** `chroot ROOTFS argv...` in an image unpackImage gave, as unpackAndRun does (to run several commands in one unpacked image). */
export function runUnpacked(
  image: UnpackedImage,
  argv: readonly string[],
  options: ChrootOptions = {},
): { stdout: string; stderr: string; status: number } {
  const processSpec = image.runtimeConfig.process ?? {};
  const command: string[] = argv.length > 0 ? [...argv] : (processSpec.args ?? []);
  if (command.length === 0) throw new Error(`${image.ociDir}: no argv given and the image has no entrypoint or cmd`);
  const env: NodeJS.ProcessEnv = options.env ?? Object.fromEntries(
    ((processSpec.env ?? []) as string[]).map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  return runTool(CHROOT, [image.rootfs, ...command], {
    env,
    allowFailure: true,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}
