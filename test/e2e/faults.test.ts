import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, strata, strataOk, worldReadableCli } from '../helpers/cli.js';
import { runTool, tmpDir } from '../helpers/store.js';

// Inputs strata must refuse, or survive, with a one-line error, a non-zero
// exit, and no output file that looks complete. A plain directory serves as
// the store (store_dir), so the tree can hold what a Nix store cannot.

let work: string;
let store: string;
let small: string;
before(() => {
  work = tmpDir('strata-faults-');
  store = join(work, 'store');
  mkdirSync(store);
  small = storePath('aaaa-small', { 'bin/tool': 'echo hi\n' });
});

function storePath(name: string, files: Record<string, string | Buffer>): string {
  const root = join(store, name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

function writeConf(name: string, fields: Record<string, unknown>): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify({
    architecture: 'amd64', config: {}, created: '1970-01-01T00:00:01Z', mtime: '1970-01-01T00:00:01Z',
    uid: 0, gid: 0, uname: 'root', gname: 'root', store_dir: store, from_image: null,
    customisation_layer: null, repo_tag: 'faults:1', ...fields,
  }));
  return file;
}

/** Run `strata stream CONF -o OUT` and check the error and that OUT was not left behind. */
function refused(conf: string, status: number, message: RegExp): void {
  const out = join(work, 'out.tar');
  const r = strata(['stream', conf, '-o', out]);
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, /^strata: [^\n]+\n$/);
  assert.match(r.stderr, message);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('out.tar')), []);
}

test('conf.json: invalid JSON, missing or mistyped fields are named', () => {
  const broken = join(work, 'broken.json');
  writeFileSync(broken, '{"architecture": "amd64",');
  refused(broken, 2, /broken\.json: invalid JSON at line 1/);
  refused(writeConf('no-layers.json', { store_layers: undefined }), 2, /field 'store_layers' is missing; expected a list of lists of store paths/);
  refused(writeConf('bad-uid.json', { store_layers: [], uid: 'root' }), 2, /field 'uid' must be a non-negative integer/);
  refused(writeConf('bad-config.json', { store_layers: [], config: [] }), 2, /field 'config' must be an object/);
  refused(writeConf('bad-time.json', { store_layers: [], created: 'yesterday' }), 2, /created/);
  refused(writeConf('bad-arch.json', { store_layers: [], architecture: 7 }), 2, /field 'architecture' must be a string/);
});

test('store paths that are missing or outside store_dir', () => {
  refused(writeConf('missing.json', { store_layers: [[join(store, 'zzzz-missing')]] }), 4, /zzzz-missing: no such file/);
  refused(writeConf('outside.json', { store_layers: [['/etc']] }), 2, /'\/etc' is not inside the store directory/);
  refused(writeConf('escape.json', { store_layers: [[`${small}/../../etc`]] }), 2, /is not inside the store directory/);
  // As pathlib spells them, the script accepts a trailing slash and a path inside a store path.
  const spelled = join(work, 'spelled.tar');
  const plain = join(work, 'plain.tar');
  strataOk(['stream', writeConf('spelled.json', { store_layers: [[`${small}//./`]] }), '-o', spelled]);
  strataOk(['stream', writeConf('plain.json', { store_layers: [[small]] }), '-o', plain]);
  // Same layer bytes; the history keeps the conf's own spelling, as the script's does.
  const layers = (f: string): string[] => JSON.parse(runTool('tar', ['-xOf', f, 'manifest.json']).stdout)[0].Layers;
  assert.deepEqual(layers(spelled), layers(plain));
  strataOk(['stream', writeConf('inside.json', { store_layers: [[`${small}/bin`]] }), '-o', plain]);
});

test('a socket cannot go into a layer', async () => {
  const root = storePath('ssss-socket', { 'README': 'x' });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
  try {
    refused(writeConf('socket.json', { store_layers: [[root]] }), 2, /sock: a socket cannot be put in a tar layer/);
  } finally {
    server.close();
  }
});

test('an unreadable file stops the image (the script would write a broken one)', () => {
  const root = storePath('uuuu-unreadable', { 'secret': 'x', 'public': 'y' });
  chmodSync(join(root, 'secret'), 0o000);
  chmodSync(work, 0o755);
  const conf = writeConf('unreadable.json', { store_layers: [[root]] });
  const out = join(work, 'unreadable.tar');
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, worldReadableCli(), 'stream', conf], { encoding: 'buffer' });
  assert.equal(r.status, 4, r.stderr.toString());
  assert.match(r.stderr.toString(), /secret: cannot read \(EACCES\)/);
  assert.equal(existsSync(out), false);
});

test('a file that changes between the hashing and the streaming pass stops the stream, naming it', async () => {
  const big = Buffer.alloc(8 << 20, 'x');
  const root = storePath('cccc-changing', { 'a-big': big, 'z-target': 'the original content\n' });
  const conf = writeConf('changing.json', { store_layers: [[root]] });
  const child = spawn(process.execPath, [CLI, 'stream', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The first bytes out mean the hashing pass is over. Paused, this end reads
  // no more: the writer blocks within the first pipe buffers of a-big's 8 MiB,
  // long before z-target, which changes now; then read on.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.pause();
  truncateSync(join(root, 'z-target'), 3);
  child.stdout.resume();
  child.stdout.on('data', () => {});
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, 4, stderr);
  assert.match(stderr, /z-target/);
});

test('a reader that goes away: quiet exit 141', () => {
  const conf = writeConf('pipe.json', { store_layers: [[storePath('pppp-big', { 'blob': Buffer.alloc(4 << 20, 'y') })]] });
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" stream "${conf}" | head -c 1000 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), '141');
  assert.equal(r.stderr, '');
});

test('an output that takes no more bytes (/dev/full): exit 2, one line naming it, the process gone with its writing thread', () => {
  // More than the writing thread holds in flight, in big and in small files: the failure comes while chunks wait.
  const files: Record<string, Buffer> = { 'big': Buffer.alloc(12 << 20, 'f') };
  for (let i = 0; i < 200; i++) files[`small/${i}`] = Buffer.alloc(3000, i);
  const conf = writeConf('full.json', { store_layers: [[storePath('gggg-full', files)]] });
  const named = strata(['stream', conf, '-o', '/dev/full']);
  assert.equal(named.status, 2, named.stderr);
  assert.equal(named.stderr, 'strata: /dev/full: cannot write (ENOSPC); the disk is full\n');
  // Standard output on the device: written in place, the failure named as standard output.
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" stream "${conf}" > /dev/full`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'strata: standard output: cannot write (ENOSPC); the disk is full\n');
});

test('a file system that fills up: every file and directory output fails in one line naming it, leaving nothing', () => {
  // Bytes that do not compress, more than the file system holds.
  const conf = writeConf('fills.json', { store_layers: [[storePath('ffff-fills', { noise: randomBytes(6 << 20) })]] });
  const disk = join(work, 'small-disk');
  mkdirSync(disk);
  runTool('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
  try {
    for (const [to, shown] of [
      [['-o', join(disk, 'image.tar')], join(disk, 'image.tar')],
      [['--to', `oci-archive:${join(disk, 'image.oci.tar')}`, '--compression', 'zstd'], join(disk, 'image.oci.tar')],
      ...(['none', 'gzip', 'zstd'] as const).map((c) => [['--to', `oci:${join(disk, `layout-${c}`)}:1`, '--compression', c], join(disk, `layout-${c}`)]),
    ] as [string[], string][]) {
      const r = strata(['stream', conf, ...to]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `strata: ${shown}: cannot write (ENOSPC); the disk is full\n`, to.join(' '));
      // Only a layout's skeleton is left (no index.json names an image), and no temporary file anywhere.
      const left = readdirSync(disk, { recursive: true, encoding: 'utf8' }).filter((f) => !/^layout-\w+(\/oci-layout|\/blobs(\/sha256)?)?$/.test(f));
      assert.deepEqual(left, [], to.join(' '));
    }
  } finally {
    runTool('umount', [disk]);
  }
});

test('a standard output another process made non-blocking (a pipe, a socket) still gets the whole image', () => {
  const conf = writeConf('nonblocking.json', { store_layers: [[storePath('nnnn-big', { 'blob': Buffer.alloc(4 << 20, 'n') })]] });
  const expected = createHash('sha256').update(strataOk(['stream', conf]).stdoutBytes).digest('hex');
  const ready = join(work, 'ready.fifo');
  runTool('mkfifo', [ready]);
  // A node sharing strata's standard output creates its process.stdout, which
  // makes the shared description non-blocking, and stays alive while strata
  // writes (a node that exits, or spawns strata itself, makes it blocking again).
  const holder = `"${process.execPath}" -e 'process.stdout; require("fs").writeFileSync("${ready}", "x"); setInterval(() => {}, 1e6)'`;
  const run = `${holder} & h=$!; read -r _ < "${ready}"; "${process.execPath}" "${CLI}" stream "${conf}"; s=$?; kill $h; exit $s`;
  // Through a pipe to cat (a FIFO), and straight into this process's pipe (a socket).
  for (const script of [`{ ${run}; } | cat`, run]) {
    const r = spawnSync('bash', ['-c', script], { maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(createHash('sha256').update(r.stdout).digest('hex'), expected, script);
  }
});

test('an output that is a device or a pipe is written in place, not replaced by a renamed file', () => {
  const conf = writeConf('fifo.json', { store_layers: [[storePath('ffff-fifo', { 'f': 'fifo content\n' })]] });
  const fifo = join(work, 'out.fifo');
  runTool('mkfifo', [fifo]);
  const r = spawnSync('bash', ['-c', `cat "${fifo}" > "${fifo}.read" & "${process.execPath}" "${CLI}" stream "${conf}" -o "${fifo}"; s=$?; wait; exit $s`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(statSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  const listing = runTool('tar', ['-tf', `${fifo}.read`]).stdout;
  assert.match(listing, /manifest\.json/);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.strata-')), []);
});

test('from_image: not an archive, truncated, escaping names, lying diff_ids', () => {
  const good = join(work, 'base.tar');
  strataOk(['stream', writeConf('base.json', { store_layers: [[small]] }), '-o', good]);
  const notTar = join(work, 'not-a-tar.tar');
  writeFileSync(notTar, 'hello, this is not a tar file'.repeat(40));
  refused(writeConf('from-not-tar.json', { store_layers: [], from_image: notTar }), 2, /not-a-tar\.tar: not a tar archive/);
  const truncated = join(work, 'truncated.tar');
  writeFileSync(truncated, readFileSync(good).subarray(0, 1536));
  refused(writeConf('from-truncated.json', { store_layers: [], from_image: truncated }), 2, /truncated\.tar: truncated/);
  refused(writeConf('from-missing.json', { store_layers: [], from_image: join(work, 'nope.tar') }), 2, /nope\.tar: cannot open/);

  // Rewrite the manifest of a copy to point outside the archive, or lie about a digest.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  runTool('tar', ['-xf', good, '-C', unpacked]);
  const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8'));
  const repack = (name: string, edit: (m: any, config: any) => void): string => {
    const m = structuredClone(manifest);
    const config = JSON.parse(readFileSync(join(unpacked, m[0].Config), 'utf8'));
    edit(m, config);
    writeFileSync(join(unpacked, 'manifest.json'), JSON.stringify(m));
    writeFileSync(join(unpacked, m[0].Config), JSON.stringify(config));
    const file = join(work, name);
    runTool('tar', ['-cf', file, '-C', unpacked, '.']);
    return file;
  };
  const escaping = repack('escaping.tar', (m) => (m[0].Layers[0] = '../../etc/passwd'));
  refused(writeConf('from-escaping.json', { store_layers: [], from_image: escaping }), 2, /escapes the archive/);
  const lying = repack('lying.tar', (_m, c) => (c.rootfs.diff_ids[0] = 'sha256:' + '0'.repeat(64)));
  refused(writeConf('from-lying.json', { store_layers: [], from_image: lying }), 4, /digest/);
  const count = repack('count.tar', (_m, c) => c.rootfs.diff_ids.push('sha256:' + '1'.repeat(64)));
  refused(writeConf('from-count.json', { store_layers: [], from_image: count }), 2, /lists 1 layers but the config has 2 diff_ids/);
  const r = strata(['plan', '--graph', writeGraph(), '--from', good, '--max-layers', '2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /base image's 1 layer\(s\) and the customisation layer leave no layer/);
});

function writeGraph(): string {
  const file = join(work, 'graph.json');
  writeFileSync(file, JSON.stringify([{ path: small, narSize: 1, references: [] }]));
  return file;
}
