/**
 * OCI archives written in one pass: each store file read once, each blob's
 * header written in place once it is hashed; the same bytes to a file and
 * to a pipe; a file changed between the walk and the read stops the archive
 * with nothing left behind; and skopeo, umoci and podman read the result.
 */
import { before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConf } from '../../src/conf/conf.js';
import { imageFromConf } from '../../src/build/from-conf.js';
import { writeImage } from '../../src/build/write.js';
import { ExitCode, StrataError } from '../../src/errors.js';
import type { Layer } from '../../src/model/image.js';
import { CLI, strata, strataOk } from '../helpers/cli.js';
import { changedAfterWalk } from '../helpers/layers.js';
import { PODMAN_RUN_FLAGS, podmanRun } from '../helpers/engines.js';
import { buildFixture, nixEnv, podmanLoad, runTool, tmpDir } from '../helpers/store.js';

const HELLO = 'hello from strata\nthe data says hi\n';
const BIG = 32 << 20;

let work: string;
before(() => {
  work = tmpDir('strata-oci-one-pass-');
});

/** A store of one path: a big file (incompressible, so gzip cannot hide a second read), then a small one. */
function bigStore(name: string): { conf: string; small: string } {
  const store = join(work, `store-${name}`);
  const path = join(store, `${'b'.repeat(32)}-${name}`);
  mkdirSync(path, { recursive: true });
  const big = Buffer.alloc(BIG);
  // A fixed pseudo-random sequence: the same store on every run.
  for (let i = 0, x = 1; i < BIG; i += 4) big.writeUInt32LE((x = (Math.imul(x, 1103515245) + 12345) >>> 0), i);
  writeFileSync(join(path, 'a-big'), big);
  writeFileSync(join(path, 'z-small'), 'before\n');
  const graph = join(work, `graph-${name}.json`);
  writeFileSync(graph, JSON.stringify([{ path, narSize: BIG, references: [] }]));
  const conf = join(work, `conf-${name}.json`);
  strataOk(['conf', '--graph', graph, '--store-dir', store, '-o', conf]);
  return { conf, small: join(path, 'z-small') };
}

const bytesRead = (stderr: string): number => Number(/strata: stats: read (\d+) bytes/.exec(stderr)?.[1]);
const members = (file: string): string[] => runTool('tar', ['-tf', file]).stdout.trim().split('\n');

test('an oci-archive reads each store file once (uncompressed and gzip), in a fixed member order, and a pipe gets the same bytes', () => {
  const { conf } = bigStore('stats');
  let single = 0;
  for (const c of ['none', 'gzip']) {
    const file = join(work, `stats-${c}.tar`);
    const r = strataOk(['stream', '--no-cache', conf, '--to', `oci-archive:${file}:x`, '--compression', c], { env: { ...process.env, STRATA_STATS: '1' } });
    const read = bytesRead(r.stderr);
    // Besides the store, strata reads its own modules (about a megabyte); a second read of the layer would double it.
    assert.ok(read >= BIG && read < BIG * 1.25, `${c}: ${read} bytes read for a ${BIG}-byte store`);

    const names = members(file);
    single = names.length;
    const index = JSON.parse(runTool('tar', ['-xOf', file, 'index.json']).stdout);
    const manifestDigest: string = index.manifests[0].digest;
    const manifest = JSON.parse(runTool('tar', ['-xOf', file, `blobs/sha256/${manifestDigest.slice(7)}`]).stdout);
    const blob = (d: string): string => `blobs/sha256/${d.slice(7)}`;
    assert.deepEqual(names, ['blobs/', 'blobs/sha256/', ...manifest.layers.map((l: { digest: string }) => blob(l.digest)), blob(manifest.config.digest), blob(manifestDigest), 'index.json', 'oci-layout']);
    assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'x');

    // A pipe cannot be patched: the archive is made beside it, then copied, to the same bytes.
    const piped = join(work, `piped-${c}.tar`);
    const shell = `set -o pipefail; "${process.execPath}" "${CLI}" stream --no-cache "${conf}" --to oci-archive:/dev/stdout:x --compression ${c} | cat > "${piped}"`;
    const r2 = spawnSync('bash', ['-c', shell], { env: nixEnv(), encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.ok(readFileSync(piped).equals(readFileSync(file)), `${c}: the pipe's archive is the file's`);
  }

  // Two platforms of the same files: their shared layer is packed, read and stored once.
  const arm = join(work, 'arm64.json');
  writeFileSync(arm, JSON.stringify({ ...JSON.parse(readFileSync(conf, 'utf8')), architecture: 'arm64' }));
  const multi = join(work, 'multi.tar');
  const r = strataOk(['stream', '--no-cache', conf, arm, '--to', `oci-archive:${multi}:m`, '--allow-foreign-binaries'], { env: { ...process.env, STRATA_STATS: '1' } });
  assert.ok(bytesRead(r.stderr) < BIG * 1.25, `${bytesRead(r.stderr)} bytes read for two platforms of a ${BIG}-byte store`);
  const names = members(multi);
  assert.equal(new Set(names).size, names.length, names.join('\n'));
  // One image's members, and another config and manifest, and the index naming both.
  assert.equal(names.length, single + 3);
});

test('a file changed between the walk and its read stops the oci-archive (exit 4): no file, no temporary left', async () => {
  const { conf, small } = bigStore('race');
  for (const compression of ['none', 'gzip'] as const) {
    const image = await imageFromConf(parseConf(readFileSync(conf, 'utf8'), conf));
    image.layers[0] = changedAfterWalk(image.layers[0]!, small);
    const dir = join(work, `race-${compression}`);
    mkdirSync(dir);
    const out = join(dir, 'image.tar');
    await assert.rejects(writeImage(image, `oci-archive:${out}`, { compression }), (e: unknown) => e instanceof StrataError && e.exitCode === ExitCode.Integrity && /z-small: changed/.test(e.message));
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(dir), []);
  }
  // Unchanged since, the same conf writes.
  const r = strata(['stream', conf, '--no-cache', '--to', `oci-archive:${join(work, 'race-after.tar')}`]);
  assert.equal(r.status, 0, r.stderr);
});

test('a layer of no size known up front gets a pax size record in its reserved header; the archive still reads', async () => {
  const { conf } = bigStore('unsized');
  const image = await imageFromConf(parseConf(readFileSync(conf, 'utf8'), conf));
  const layer = image.layers[0]!;
  const unsized: Layer = { contents: layer.contents, open: () => layer.open() };
  image.layers[0] = unsized;
  const out = join(work, 'unsized.tar');
  await writeImage(image, `oci-archive:${out}`);
  const bytes = readFileSync(out);
  const header = bytes.subarray(1024, 1024 + 1536);
  assert.equal(header.toString('latin1', 0, 14), '././@PaxHeader');
  const size = Number(/^\d+ size=(\d+)\n/.exec(header.toString('latin1', 512, 1024))?.[1]);
  assert.ok(size > BIG, `pax size ${size}`);
  assert.match(header.toString('latin1', 1024, 1024 + 100), /^blobs\/sha256\/[0-9a-f]{64}\0/);
  assert.match(runTool('skopeo', ['--insecure-policy', 'inspect', `oci-archive:${out}`]).stdout, /"Os": "linux"/);
});

test('skopeo, umoci and podman load read the oci-archive (uncompressed and gzip), and it runs', () => {
  const app = buildFixture('app');
  for (const c of ['none', 'gzip']) {
    const file = join(work, `app-${c}.oci.tar`);
    strataOk(['image', app, '--name', 'onepass', '--tag', c, '--max-layers', '4', '--entrypoint', `${app}/bin/hello`, '--to', `oci-archive:${file}:${c}`, '--compression', c]);
    const inspected = JSON.parse(runTool('skopeo', ['--insecure-policy', 'inspect', `oci-archive:${file}:${c}`]).stdout);
    assert.equal(inspected.Layers.length, 3);

    const layout = join(work, `layout-${c}`);
    mkdirSync(layout);
    runTool('tar', ['-xf', file, '-C', layout]);
    const bundle = join(work, `bundle-${c}`);
    runTool('umoci', ['unpack', '--image', `${layout}:${c}`, bundle]);
    assert.equal(runTool('/usr/sbin/chroot', [join(bundle, 'rootfs'), `${app}/bin/hello`]).stdout, HELLO);

    const loaded = podmanLoad(file);
    const run = podmanRun(loaded);
    assert.equal(run.stdout, HELLO, `${c} (${PODMAN_RUN_FLAGS.join(' ')}): ${run.stderr}`);
    assert.equal(run.status, 0);
  }
});
