/**
 * The platform guard: headers of ELF, Mach-O and PE files, and closures of
 * real store paths holding Debian's cross C libraries (arm64, armhf, s390x),
 * a stub Mach-O executable and the host's busybox (amd64).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { StrataError } from '../../src/errors.js';
import { type BinaryKind, binaryKind } from '../../src/guard/binary.js';
import { checkPlatform, checkWalkedPlatform, findForeignBinaries } from '../../src/guard/platform-guard.js';
import { DigestCache } from '../../src/layer/digest-cache.js';
import { isStoreLayer, storeLayer } from '../../src/layer/store-layer.js';
import { parseConf } from '../../src/conf/conf.js';
import { imageFromConf } from '../../src/build/from-conf.js';
import { writeImage } from '../../src/build/write.js';
import type { Bytes } from '../../src/model/image.js';
import { strata, strataOk } from '../helpers/cli.js';
import { REPO_ROOT, buildFixture, nixBuild, tmpDir } from '../helpers/store.js';

const foreign = (attr: string) => nixBuild(join(REPO_ROOT, 'test', 'fixtures', 'foreign.nix'), attr);
const kindOf = (bytes: Buffer): BinaryKind | undefined => binaryKind(bytes, (offset, length) => bytes.subarray(offset, offset + length));

/** An ELF header: class, byte order, OS ABI, type and machine, the rest zero. */
function elf(bits: 32 | 64, little: boolean, osAbi: number, type: number, machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = bits === 32 ? 1 : 2;
  b[5] = little ? 1 : 2;
  b[6] = 1;
  b[7] = osAbi;
  if (little) {
    b.writeUInt16LE(type, 16);
    b.writeUInt16LE(machine, 18);
  } else {
    b.writeUInt16BE(type, 16);
    b.writeUInt16BE(machine, 18);
  }
  return b;
}

/** A PE file: DOS stub pointing at `at`, COFF machine, PE32+ optional header with a subsystem and a CLR directory size. */
function pe(machine: number, options: { at?: number; subsystem?: number; clr?: number; length?: number } = {}): Buffer {
  const at = options.at ?? 0x80;
  const b = Buffer.alloc(options.length ?? at + 512);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(at, 0x3c);
  b.write('PE\0\0', at, 'latin1');
  b.writeUInt16LE(machine, at + 4);
  b.writeUInt16LE(0x20b, at + 24);
  b.writeUInt16LE(options.subsystem ?? 3, at + 24 + 68);
  b.writeUInt32LE(options.clr ?? 0, at + 24 + 112 + 14 * 8 + 4);
  return b;
}

describe('binaryKind', () => {
  test('ELF executables and shared libraries: GOARCH from machine, class and byte order; OS from the OS ABI', () => {
    assert.deepEqual(kindOf(elf(64, true, 0, 2, 62)), { format: 'ELF', architectures: ['amd64'] });
    assert.deepEqual(kindOf(elf(64, true, 3, 3, 183)), { format: 'ELF', architectures: ['arm64'], os: 'linux' });
    assert.deepEqual(kindOf(elf(32, true, 0, 3, 40)), { format: 'ELF', architectures: ['arm'] });
    assert.deepEqual(kindOf(elf(64, false, 0, 3, 22)), { format: 'ELF', architectures: ['s390x'] });
    assert.deepEqual(kindOf(elf(64, true, 0, 3, 21)), { format: 'ELF', architectures: ['ppc64le'] });
    assert.deepEqual(kindOf(elf(64, false, 0, 3, 21)), { format: 'ELF', architectures: ['ppc64'] });
    assert.deepEqual(kindOf(elf(32, true, 0, 2, 3)), { format: 'ELF', architectures: ['386'] });
    assert.deepEqual(kindOf(elf(64, true, 0, 2, 243)), { format: 'ELF', architectures: ['riscv64'] });
    assert.deepEqual(kindOf(elf(64, true, 9, 2, 62)), { format: 'ELF', architectures: ['amd64'], os: 'freebsd' });
    assert.deepEqual(kindOf(elf(64, true, 0, 2, 9999)), { format: 'ELF', architectures: ['ELF machine 9999 (64-bit little-endian)'] });
  });

  test('ELF objects and core files are not checked', () => {
    assert.equal(kindOf(elf(64, true, 0, 1, 183)), undefined);
    assert.equal(kindOf(elf(64, true, 0, 4, 183)), undefined);
  });

  test('Mach-O: thin of either byte order, universal with every slice, objects and Java classes left out', () => {
    const thin = Buffer.alloc(32);
    thin.writeUInt32LE(0xfeedfacf, 0);
    thin.writeUInt32LE(0x01000007, 4);
    thin.writeUInt32LE(6, 12); // MH_DYLIB
    assert.deepEqual(kindOf(thin), { format: 'Mach-O', architectures: ['amd64'], os: 'darwin' });
    thin.writeUInt32LE(1, 12); // MH_OBJECT
    assert.equal(kindOf(thin), undefined);

    const big = Buffer.alloc(32);
    big.writeUInt32BE(0xfeedface, 0);
    big.writeUInt32BE(18, 4);
    big.writeUInt32BE(2, 12);
    assert.deepEqual(kindOf(big), { format: 'Mach-O', architectures: ['ppc'], os: 'darwin' });

    const fat = Buffer.alloc(48);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    assert.deepEqual(kindOf(fat), { format: 'Mach-O', architectures: ['amd64', 'arm64'], os: 'darwin' });

    const javaClass = Buffer.from('cafebabe0000003d0020', 'hex');
    assert.equal(kindOf(Buffer.concat([javaClass, Buffer.alloc(30)])), undefined);
  });

  test('PE: machine of native programs, headers past the first bytes read on demand; .NET assemblies and EFI applications left out', () => {
    assert.deepEqual(kindOf(pe(0x8664)), { format: 'PE', architectures: ['amd64'], os: 'windows' });
    assert.deepEqual(kindOf(pe(0xaa64, { at: 0x600 })), { format: 'PE', architectures: ['arm64'], os: 'windows' });
    // What the guard reads first is 1024 bytes; the rest comes from readAt.
    const far = pe(0x14c, { at: 0x600 });
    const guarded = binaryKind(far.subarray(0, 1024), (offset, length) => far.subarray(offset, offset + length));
    assert.deepEqual(guarded, { format: 'PE', architectures: ['386'], os: 'windows' });
    assert.equal(kindOf(pe(0x14c, { clr: 72 })), undefined);
    assert.equal(kindOf(pe(0xaa64, { subsystem: 10 })), undefined);
    const notPe = pe(0x8664);
    notPe.write('NE', 0x80, 'latin1');
    assert.equal(kindOf(notPe), undefined);
  });

  test('text and short files are not binaries', () => {
    assert.equal(kindOf(Buffer.from('#!/bin/sh\necho hi\n')), undefined);
    assert.equal(kindOf(Buffer.from('MZ')), undefined);
    assert.equal(kindOf(Buffer.from('\x7fELF', 'latin1')), undefined);
  });
});

describe('findForeignBinaries over real store paths', () => {
  const arm64 = foreign('arm64');
  const arm64Files = readdirSync(join(arm64, 'lib')).sort().map((f) => join(arm64, 'lib', f));

  test("Debian's arm64 libc in an amd64 image: every library named, including those without an exec bit", async () => {
    const found = await findForeignBinaries([arm64, buildFixture('busybox')], { architecture: 'amd64', os: 'linux' });
    assert.deepEqual(found.map((f) => f.path), arm64Files);
    assert.ok(found.every((f) => f.kind.format === 'ELF' && f.kind.architectures.join() === 'arm64' && (f.kind.os ?? 'linux') === 'linux'));
    assert.deepEqual(found.find((f) => f.path.endsWith('/libc.so.6'))?.kind, { format: 'ELF', architectures: ['arm64'], os: 'linux' });
  });

  test('the same closure in an arm64 image: only the amd64 busybox is foreign', async () => {
    const busybox = buildFixture('busybox');
    const found = await findForeignBinaries([arm64, busybox], { architecture: 'arm64', os: 'linux' });
    assert.deepEqual(found.map((f) => f.path), [join(busybox, 'bin', 'busybox')]);
    assert.deepEqual(found[0]!.kind.architectures, ['amd64']);
  });

  test('armhf is arm, s390x is big-endian s390x: each accepted on its own platform', async () => {
    const armhf = foreign('armhf');
    const s390x = foreign('s390x');
    assert.deepEqual(await findForeignBinaries([armhf], { architecture: 'arm', os: 'linux' }), []);
    assert.deepEqual(await findForeignBinaries([s390x], { architecture: 's390x', os: 'linux' }), []);
    const onAmd64 = await findForeignBinaries([armhf, s390x], { architecture: 'amd64', os: 'linux' });
    assert.deepEqual(new Set(onAmd64.map((f) => f.kind.architectures[0])), new Set(['arm', 's390x']));
    assert.equal(onAmd64.length, readdirSync(join(armhf, 'lib')).length + readdirSync(join(s390x, 'lib')).length);
  });

  test('a Mach-O executable in a Linux image is foreign whatever its architecture', async () => {
    const darwin = foreign('darwin');
    const found = await findForeignBinaries([darwin], { architecture: 'arm64', os: 'linux' });
    assert.deepEqual(found, [{ path: join(darwin, 'bin', 'tool'), kind: { format: 'Mach-O', architectures: ['arm64'], os: 'darwin' } }]);
  });

  test('with a cache, a store path is read once; one rebuilt in place (new ctime) is read again', async () => {
    const cache = new DigestCache(join(tmpDir('strata-guard-cache-'), 'cache'));
    const root = join(tmpDir('strata-guard-root-'), 'path');
    mkdirSync(join(root, 'lib'), { recursive: true });
    const lib = join(root, 'lib', 'libc.so.6');
    copyFileSync(join(arm64, 'lib', 'libc.so.6'), lib);
    const target = { architecture: 'amd64', os: 'linux' };
    const first = await findForeignBinaries([root], target, cache);
    assert.deepEqual(first.map((f) => [f.path, f.kind.architectures]), [[lib, ['arm64']]]);
    // A file changed under the path, the path itself untouched: what the cache holds is what is told.
    copyFileSync(join(buildFixture('busybox'), 'bin', 'busybox'), lib);
    assert.deepEqual(await findForeignBinaries([root], target, cache), first);
    assert.deepEqual(await findForeignBinaries([root], target), []);
    // The path made anew (its ctime moves): read again.
    chmodSync(root, 0o755);
    assert.deepEqual(await findForeignBinaries([root], target, cache), []);
  });

  test('checkPlatform: exit 2 naming the first three paths, how many more, and the way out', async () => {
    await assert.doesNotReject(() => checkPlatform([buildFixture('app')], { architecture: 'amd64', os: 'linux' }));
    await assert.rejects(
      () => checkPlatform([arm64], { architecture: 'amd64', os: 'linux' }),
      (e: unknown) => {
        assert.ok(e instanceof StrataError);
        assert.equal(e.exitCode, 2);
        assert.ok(e.message.includes(`${arm64Files[0]} (ELF `), e.message);
        assert.ok(e.message.includes(arm64Files[2]!), e.message);
        assert.ok(!e.message.includes(arm64Files[3]!), e.message);
        assert.ok(e.message.includes(`(+${arm64Files.length - 3} more)`), e.message);
        assert.match(e.message, /not built for linux\/amd64/);
        assert.match(e.message, /--allow-foreign-binaries/);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  });
});

describe('strata image and stream check the closure before writing anything', () => {
  const arm64 = foreign('arm64');
  const libs = readdirSync(join(arm64, 'lib')).length;

  test('an arm64 closure in an amd64 image: exit 2, one line naming three paths and how many more, no file', () => {
    const out = join(tmpDir('strata-guard-'), 'image.tar');
    const r = strata(['image', arm64, '--architecture', 'amd64', '-o', out]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^strata: the closure holds ${libs} executable\\(s\\) or librar\\(ies\\) not built for linux/amd64: ${arm64}/lib/\\S+ \\(ELF [^)]+\\), `));
    assert.match(r.stderr, new RegExp(`\\(\\+${libs - 3} more\\); .*--allow-foreign-binaries\\n$`));
    assert.equal(r.stderr.split('\n').length, 2);
    assert.equal(existsSync(out), false);
  });

  test('with --allow-foreign-binaries, or --architecture arm64, the image is written', () => {
    const dir = tmpDir('strata-guard-');
    assert.equal(strata(['image', arm64, '--architecture', 'amd64', '--allow-foreign-binaries', '-o', join(dir, 'a.tar')]).status, 0);
    assert.equal(strata(['image', arm64, '--architecture', 'arm64', '-o', join(dir, 'b.tar')]).status, 0);
    assert.ok(existsSync(join(dir, 'a.tar')) && existsSync(join(dir, 'b.tar')));
  });
});

const ATTRS = { mtime: 1, uid: 0, gid: 0, uname: 'root', gname: 'root' };
const NO_LIMIT = { members: Number.MAX_SAFE_INTEGER };

async function sha256Of(bytes: Bytes): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of bytes) h.update(chunk);
  return h.digest('hex');
}

/** A store of one path we may change: a file bigger than any pipe buffer, then a small one. */
function mutableStore(name: string): { storeDir: string; path: string; conf: string; small: string } {
  const work = tmpDir('strata-guard-walk-');
  const storeDir = join(work, 'store');
  const path = join(storeDir, `${'b'.repeat(32)}-${name}`);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'a-big'), Buffer.alloc(4 << 20, 7));
  writeFileSync(join(path, 'z-small'), 'before\n');
  const graph = join(work, 'graph.json');
  writeFileSync(graph, JSON.stringify([{ path, narSize: 4 << 20, references: [] }]));
  const conf = join(work, 'conf.json');
  strataOk(['conf', '--graph', graph, '--store-dir', storeDir, '-o', conf]);
  return { storeDir, path, conf, small: join(path, 'z-small') };
}

describe('the guard on the walk the writer reads by', () => {
  const arm64 = foreign('arm64');
  const busybox = buildFixture('busybox');
  const amd64 = { architecture: 'amd64', os: 'linux' };
  const membersOf = (paths: string[]) => storeLayer(paths, '/nix/store', ATTRS).walkAhead(() => {}, NO_LIMIT.members);

  test('what it finds is what the standalone guard finds, in layers kept and in layers past the budget', async () => {
    const expected = await findForeignBinaries([arm64, busybox], amd64);
    const budget = { members: membersOf([arm64]) };
    const layers = [storeLayer([arm64], '/nix/store', ATTRS), storeLayer([busybox], '/nix/store', ATTRS)];
    assert.throws(
      () => checkWalkedPlatform(layers, amd64, budget),
      (e: unknown) => e instanceof StrataError && e.exitCode === 2 && e.message.startsWith(`the closure holds ${expected.length} executable(s)`) && e.message.includes(`${expected[0]!.path} (ELF `),
    );
    // The first layer took the whole budget; the second was walked for the guard and not kept.
    assert.equal(budget.members, 0);
    // Past the budget, still guarded: busybox is the one foreign binary of this closure on arm64.
    const arm = { architecture: 'arm64', os: 'linux' };
    assert.throws(
      () => checkWalkedPlatform([storeLayer([arm64], '/nix/store', ATTRS), storeLayer([busybox], '/nix/store', ATTRS)], arm, { members: membersOf([arm64]) }),
      (e: unknown) => e instanceof StrataError && e.message.includes(`${join(busybox, 'bin', 'busybox')} (ELF linux/amd64)`) && !e.message.includes(arm64),
    );
  });

  test('a layer walked ahead is read from that walk: the same tar as a layer walked when read', async () => {
    const fresh = storeLayer([busybox, buildFixture('app')], '/nix/store', ATTRS);
    const ahead = storeLayer([busybox, buildFixture('app')], '/nix/store', ATTRS);
    checkWalkedPlatform([ahead], amd64, NO_LIMIT);
    const walked = ahead.walk();
    assert.equal(walked.size, fresh.walk().size);
    assert.equal(await sha256Of(walked.open()), await sha256Of(fresh.open()));
    // One walk, taken once: a second read walks again.
    const again = storeLayer([busybox], '/nix/store', ATTRS);
    checkWalkedPlatform([again], amd64, NO_LIMIT);
    assert.equal(await sha256Of(again.open()), await sha256Of(again.open()));
  });

  test('a file changed between the guard\'s walk and the read stops the write (exit 4), to a docker-archive and an OCI layout', async () => {
    for (const to of ['docker-archive', 'oci']) {
      const { conf, small } = mutableStore(to);
      const image = await imageFromConf(parseConf(readFileSync(conf, 'utf8'), conf));
      checkWalkedPlatform(image.layers.filter(isStoreLayer), image.platform, NO_LIMIT);
      appendFileSync(small, 'changed\n');
      const out = join(tmpDir('strata-guard-walk-out-'), 'image');
      await assert.rejects(writeImage(image, `${to}:${out}`), (e: unknown) => e instanceof StrataError && e.exitCode === 4 && /z-small: changed while the image was written/.test(e.message), to);
      if (to === 'docker-archive') assert.equal(existsSync(out), false);
    }
  });

  test('a symlink replaced by a file between the guard\'s walk and the read stops the write (exit 4), naming it', async () => {
    const { conf, path } = mutableStore('relinked');
    const link = join(path, 'y-link');
    symlinkSync('z-small', link);
    const image = await imageFromConf(parseConf(readFileSync(conf, 'utf8'), conf));
    checkWalkedPlatform(image.layers.filter(isStoreLayer), image.platform, NO_LIMIT);
    rmSync(link);
    writeFileSync(link, 'now a file\n');
    const out = join(tmpDir('strata-guard-walk-out-'), 'image.tar');
    await assert.rejects(writeImage(image, `docker-archive:${out}`), (e: unknown) => e instanceof StrataError && e.exitCode === 4 && e.message.startsWith(`${link}: changed while the image was written`));
    assert.equal(existsSync(out), false);
  });

  test('a layer read since its walk ahead (hashed, here or in a worker) is walked again, so a file added since is in its bytes', async () => {
    const { storeDir, path } = mutableStore('added');
    const layer = storeLayer([path], storeDir, ATTRS);
    checkWalkedPlatform([layer], amd64, NO_LIMIT);
    writeFileSync(join(path, 'm-added'), 'new\n');
    // Another read of the layer (a hashing worker's), adopted as the first.
    const hashed = storeLayer([path], storeDir, ATTRS);
    const digest = await sha256Of(hashed.open());
    layer.fingerprints!.adopt(hashed.fingerprints!.export()!);
    assert.equal(await sha256Of(layer.open()), digest);
  });
});

describe('the guard refuses before a destination is reached or made', () => {
  const arm64 = foreign('arm64');

  test('a registry and an engine: refused (exit 2) before either is reached; an OCI layout: refused with no directory made', () => {
    const layout = join(tmpDir('strata-guard-'), 'layout');
    const env = { ...process.env, DOCKER_HOST: `unix://${join(tmpDir('strata-guard-'), 'no.sock')}` };
    for (const to of ['docker://127.0.0.1:9/guard:1', 'docker-daemon:guard:1', `oci:${layout}`]) {
      const r = strata(['image', arm64, '--architecture', 'amd64', '--to', to], { env });
      assert.equal(r.status, 2, `${to}: ${r.stderr}`);
      assert.match(r.stderr, /^strata: the closure holds \d+ executable\(s\) or librar\(ies\) not built for linux\/amd64: /, to);
    }
    assert.equal(existsSync(layout), false);
  });
});
