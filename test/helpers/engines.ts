/**
 * Real container engines for the tests, each started in its own short temp
 * directory and stopped by PID: dockerd (overlay2, no network set-up),
 * containerd (its CRI plugin off) and podman (private vfs storage, runc:
 * crun fails on this machine's cgroup set-up). Images are loaded and run
 * with `--network none`; nothing listens beyond unix sockets in the temp dirs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { podmanFlags, runTool, type RunResult } from './store.js';

/**
 * A daemon in a temp dir under /tmp (short, so its unix socket path stays
 * under 108 bytes), ready once `ready()` answers.
 */
abstract class TestDaemon {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync('/tmp/se-');
  readonly socket = join(this.dir, 'sock');
  readonly logFile = join(this.dir, 'log');

  protected abstract command(): [string, string[]];
  protected abstract ready(): boolean;

  protected async start(): Promise<void> {
    const log = createWriteStream(this.logFile);
    await new Promise((resolve) => log.once('open', resolve));
    const [file, args] = this.command();
    this.child = spawn(file, args, { stdio: ['ignore', log, log] });
    const started = Date.now();
    // Poll the engine's own answer: it is ready when its API answers.
    while (!this.ready()) {
      if (this.child.exitCode !== null) throw new Error(`${file} exited with ${this.child.exitCode}; see ${this.logFile}`);
      if (Date.now() - started > 60_000) throw new Error(`${file} did not answer within 60 s; see ${this.logFile}`);
      await delay(100);
    }
  }

  /** SIGTERM, then wait until the process is gone; removes nothing it may still hold mounted. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    // The daemons leave overlay and shm mounts under their root behind; unmount, then remove.
    runTool('sh', ['-c', `grep -o ' ${this.dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l; rm -rf '${this.dir}'`], { allowFailure: true });
  }
}

/** dockerd with overlay2, no iptables or bridge; `docker -H unix://SOCK`. */
export class TestDockerd extends TestDaemon {
  static async start(): Promise<TestDockerd> {
    const daemon = new TestDockerd();
    await daemon.start();
    return daemon;
  }

  protected command(): [string, string[]] {
    const config = join(this.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ 'deprecated-key-path': join(this.dir, 'key.json') }));
    return ['dockerd', [
      '--storage-driver', 'overlay2', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--bridge=none',
      '--data-root', join(this.dir, 'root'), '--exec-root', join(this.dir, 'exec'), '--pidfile', join(this.dir, 'pid'),
      '-H', `unix://${this.socket}`, '--config-file', config,
    ]];
  }

  protected ready(): boolean {
    return this.docker(['version'], true).status === 0;
  }

  /** `docker -H unix://SOCK args...` (throws on failure unless allowFailure). */
  docker(args: readonly string[], allowFailure = false): RunResult {
    return runTool('docker', ['-H', `unix://${this.socket}`, ...args], { allowFailure });
  }

  /** `docker load -i ARCHIVE`: the loaded image's name or ID. */
  load(archive: string): string {
    const out = this.docker(['load', '-i', resolve(archive)]).stdout;
    const match = /^Loaded image(?: ID)?: (.+)$/m.exec(out);
    if (!match) throw new Error(`docker load ${archive}: no "Loaded image" line in:\n${out}`);
    return match[1]!.trim();
  }

  /** `docker run --rm --network none IMAGE args...`. */
  run(image: string, args: readonly string[] = []): RunResult {
    return this.docker(['run', '--rm', '--network', 'none', image, ...args], true);
  }
}

/**
 * podman's Docker-compatible API (`podman system service`) on a socket in its
 * own temp dir, with its own vfs storage; answered by `docker -H` as dockerd is.
 */
export class TestPodmanService extends TestDaemon {
  static async start(): Promise<TestPodmanService> {
    const daemon = new TestPodmanService();
    await daemon.start();
    return daemon;
  }

  private flags(): string[] {
    return [
      '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--tmpdir', join(this.dir, 'tmp'),
      '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs',
    ];
  }

  protected command(): [string, string[]] {
    return ['podman', [...this.flags(), 'system', 'service', '--time=0', `unix://${this.socket}`]];
  }

  protected ready(): boolean {
    return runTool('docker', ['-H', `unix://${this.socket}`, 'version'], { allowFailure: true }).status === 0;
  }

  /** `podman run --rm` (runc, no network) on this service's storage. */
  run(image: string, args: readonly string[] = []): RunResult {
    return runTool('podman', [...this.flags(), 'run', '--rm', ...PODMAN_RUN_FLAGS, image, ...args], { allowFailure: true });
  }
}

/** containerd with a version 2 config, its CRI plugin off; `ctr -a SOCK`. */
export class TestContainerd extends TestDaemon {
  private runs = 0;

  static async start(): Promise<TestContainerd> {
    const daemon = new TestContainerd();
    await daemon.start();
    return daemon;
  }

  protected command(): [string, string[]] {
    const config = join(this.dir, 'config.toml');
    writeFileSync(config, [
      'version = 2',
      `root = "${join(this.dir, 'root')}"`,
      `state = "${join(this.dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${this.socket}"`,
      '',
    ].join('\n'));
    return ['containerd', ['--config', config]];
  }

  protected ready(): boolean {
    return this.ctr(['version'], true).status === 0;
  }

  ctr(args: readonly string[], allowFailure = false): RunResult {
    return runTool('ctr', ['-a', this.socket, ...args], { allowFailure });
  }

  /** `ctr images import ARCHIVE` (docker-archive or OCI archive): the image names it made. */
  import(archive: string, extra: readonly string[] = []): string[] {
    const out = this.ctr(['images', 'import', ...extra, resolve(archive)]).stdout;
    return [...out.matchAll(/^unpacking (\S+) \(/gm)].map((m) => m[1]!);
  }

  /** `ctr run --rm IMAGE ID args...` (no network namespace set-up is needed: ctr gives none). */
  run(image: string, args: readonly string[] = []): RunResult {
    return this.ctr(['run', '--rm', image, `strata-test-${process.pid}-${++this.runs}`, ...args], true);
  }
}

/** podman's run flags for this machine: runc, and limits crun would otherwise set from the host. */
export const PODMAN_RUN_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', 'none'];

/** `podman run --rm IMAGE args...` in the tests' private storage. */
export function podmanRun(image: string, args: readonly string[] = []): RunResult {
  return runTool('podman', [...podmanFlags(), 'run', '--rm', ...PODMAN_RUN_FLAGS, image, ...args], { allowFailure: true });
}
