import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeader, tarHeader, TarType } from '../../src/index.js';
import { hasPython, python } from '../helpers/python.js';

// strata's tar headers, byte for byte those of Python's tarfile in PAX format
// (what nixpkgs' stream_layered_image.py writes).

const field = (block: Buffer, at: number, length: number): string => block.subarray(at, at + length).toString('latin1').replace(/\0.*$/s, '');

/** The ustar checksum of a block: its bytes summed, the checksum field counted as spaces. */
function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

const big = 8 * 1024 ** 3 + 1;
const CASES = [
  tarHeader({ name: 'nix/store/aaaa-app/bin/hello', mode: 0o555, size: 1234, mtime: 1 }),
  tarHeader({ name: 'nix/store/aaaa-app/share', type: TarType.Directory, mode: 0o555, mtime: 1 }),
  tarHeader({ name: 'nix/store/aaaa-app/lib/link', type: TarType.Symlink, mode: 0o777, linkname: '../../bbbb-lib/lib/libx.so.1', mtime: 1 }),
  tarHeader({ name: 'dev/null', type: TarType.CharDevice, mode: 0o666, devmajor: 1, devminor: 3, uname: 'root', gname: 'root' }),
  tarHeader({ name: `nix/store/aaaa-app/${'d'.repeat(120)}/file`, size: 1 }),
  tarHeader({ name: 'nix/store/aaaa-app/caf\u00e9 \u65e5\u672c', size: 2 }),
  tarHeader({ name: 'nix/store/aaaa-app/sparse', size: big, mtime: 1 }),
  tarHeader({ name: 'nix/store/aaaa-app/owned', uid: 2 ** 21, gid: 100, uname: 'u'.repeat(40), mtime: 2 ** 33 }),
];

test('a plain file: one ustar block, octal fields, a valid checksum', () => {
  const block = encodeHeader(CASES[0]!);
  assert.equal(block.length, 512);
  assert.equal(field(block, 0, 100), 'nix/store/aaaa-app/bin/hello');
  assert.equal(field(block, 100, 8), '0000555');
  assert.equal(field(block, 124, 12), '00000002322');
  assert.equal(field(block, 257, 8), 'ustar');
  assert.equal(Number.parseInt(field(block, 148, 8), 8), checksumOf(block));
});

test('a file over 8 GiB: its size in a pax record, the ustar size field zero', () => {
  const bytes = encodeHeader(CASES[6]!);
  assert.equal(bytes.length, 3 * 512);
  assert.equal(String.fromCharCode(bytes[156]!), 'x');
  assert.match(bytes.subarray(512, 1024).toString('latin1'), /^\d+ size=8589934593\n\0+$/);
  const ustar = bytes.subarray(1024);
  assert.equal(field(ustar, 124, 12), '00000000000');
  assert.equal(Number.parseInt(field(ustar, 148, 8), 8), checksumOf(ustar));
});

describe('against python3', { skip: !hasPython && 'python3 is not on PATH' }, () => {
  test("every case is what Python's tarfile writes", () => {
    const program = String.raw`
import json, sys, tarfile
out = []
for h in json.load(sys.stdin):
    info = tarfile.TarInfo(h["name"])
    for key in ("mode", "uid", "gid", "size", "mtime", "linkname", "uname", "gname", "devmajor", "devminor"):
        setattr(info, key, h[key])
    info.type = h["type"].encode()
    out.append(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape").hex())
print(json.dumps(out))`;
    const expected = python(program, CASES) as string[];
    CASES.forEach((h, i) => assert.equal(encodeHeader(h).toString('hex'), expected[i], h.name));
  });
});
