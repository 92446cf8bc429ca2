// strata's own tar encoder against tar-stream on the hot path: one store
// layer of many small files and a few large ones, each tar hashed as a
// sink would (sha256), best of five runs. Also shows whether tar-stream can
// write the bytes nixpkgs' script writes (it cannot: its header fields are
// formatted differently), which the byte-identity tests require.
//   npm run build && node bench/tar-encoders.mjs [MiB, default 256]
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tarStream from 'tar-stream';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { storeLayer } = await import(join(dist, 'layer', 'store-layer.js'));
const { encodeHeader, tarHeader } = await import(join(dist, 'tar', 'header.js'));

const mib = Number(process.argv[2] ?? 256);
const root = mkdtempSync(join(tmpdir(), 'strata-tar-bench-'));
const store = join(root, 'store');
const path = join(store, '0123456789abcdfghijklmnpqrsvwxyz-bench');
try {
  // Deterministic contents: 3/4 of the bytes in 4 KiB-64 KiB files, the rest in 4 large ones.
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const small = (mib * 3 * 2 ** 20) / 4;
  let made = 0;
  for (let i = 0; made < small; i++) {
    const dir = join(path, `d${i % 64}`);
    mkdirSync(dir, { recursive: true });
    const size = 4096 + Math.floor(rand() * 61440);
    writeFileSync(join(dir, `f${i}`), Buffer.alloc(size, i % 251));
    made += size;
  }
  for (let i = 0; i < 4; i++) writeFileSync(join(path, `large${i}`), Buffer.alloc((mib * 2 ** 20) / 16, i));
  const files = countFiles(path);
  const attrs = { mtime: 1, uid: 0, gid: 0, uname: 'root', gname: 'root' };

  const strata = async () => {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of storeLayer([path], store, attrs).open()) {
      hash.update(chunk);
      size += chunk.length;
    }
    return size;
  };
  const withTarStream = async () => {
    const pack = tarStream.pack();
    const hash = createHash('sha256');
    let size = 0;
    const consumed = (async () => {
      for await (const chunk of pack) {
        hash.update(chunk);
        size += chunk.length;
      }
    })();
    for (const p of sortedWalk(path)) {
      const st = lstatSync(p);
      const name = p.slice(1);
      if (st.isDirectory()) pack.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(1000), uid: 0, gid: 0, uname: 'root', gname: 'root' });
      else await pipeline(createReadStream(p, { highWaterMark: 1 << 20 }), pack.entry({ name, size: st.size, mode: 0o644, mtime: new Date(1000), uid: 0, gid: 0, uname: 'root', gname: 'root' }));
    }
    pack.finalize();
    await consumed;
    return size;
  };
  const best = async (f) => {
    let t = Infinity;
    let size = 0;
    for (let i = 0; i < 5; i++) {
      const start = process.hrtime.bigint();
      size = await f();
      t = Math.min(t, Number(process.hrtime.bigint() - start) / 1e9);
    }
    return { t, size };
  };
  const a = await best(strata);
  const b = await best(withTarStream);
  console.log(`${files} files, ${(a.size / 2 ** 20).toFixed(0)} MiB of tar`);
  console.log(`strata encoder: ${a.t.toFixed(3)} s (${(a.size / 2 ** 20 / a.t).toFixed(0)} MiB/s)`);
  console.log(`tar-stream:     ${b.t.toFixed(3)} s (${(b.size / 2 ** 20 / b.t).toFixed(0)} MiB/s), ${(b.t / a.t).toFixed(2)}x the time`);

  // One file's header as each writes it (nixpkgs' bytes are Python tarfile's, which strata's encoder reproduces).
  const first = async (iter) => {
    for await (const chunk of iter) return chunk.subarray(0, 512);
  };
  const one = join(store, '0123456789abcdfghijklmnpqrsvwxyz-one');
  const own = encodeHeader(tarHeader({ name: one.slice(1), size: 1, mode: 0o644, mtime: 1, uname: 'root', gname: 'root' }));
  const p = tarStream.pack();
  p.entry({ name: one.slice(1), size: 1, mode: 0o644, mtime: new Date(1000), uid: 0, gid: 0, uname: 'root', gname: 'root' }, 'x');
  p.finalize();
  const theirs = await first(p);
  const differ = [...own].filter((byte, i) => byte !== theirs[i]).length;
  console.log(`first header: ${differ} of 512 bytes differ (strata mode field ${JSON.stringify(own.toString('latin1', 100, 108))}, tar-stream ${JSON.stringify(theirs.toString('latin1', 100, 108))})`);
} finally {
  rmSync(root, { recursive: true, force: true });
}

function* sortedWalk(p) {
  yield p;
  if (lstatSync(p).isDirectory()) for (const n of readdirSync(p).sort()) yield* sortedWalk(join(p, n));
}

function countFiles(p) {
  return lstatSync(p).isDirectory() ? readdirSync(p).reduce((s, n) => s + countFiles(join(p, n)), 0) : 1;
}
