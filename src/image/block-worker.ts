import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';

// Makes one gzip member per message for image/block-compression.ts: the
// block deflated by libdeflate 1.25, built to WebAssembly from the copy in
// vendor/ (scripts/build-deflate-wasm.sh), about 1.4x zlib's speed here for
// 2.7% smaller output. A module of pinned code, not the machine's zlib or
// CPU features: a member depends on its block and the level alone (see
// compressionId), on every machine. libdeflate has no preset dictionary and
// ends each stream, so blocks are members of their own, which every gzip
// reader joins (RFC 1952 section 2.2).

export type BlockJob = { id: number; level: number; data: Uint8Array };
export type BlockResult = { id: number; out: Uint8Array; input: ArrayBuffer } | { id: number; error: string };

// TypeScript types WebAssembly with the DOM library, which strata does not load.
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };

interface Libdeflate {
  memory: { buffer: ArrayBuffer };
  alloc(size: number): number;
  free(at: number): void;
  compressor(level: number): number;
  bound(compressor: number, size: number): number;
  deflate(compressor: number, input: number, size: number, output: number, room: number): number;
}

const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL('./libdeflate.wasm', import.meta.url))), {}).exports as unknown as Libdeflate;
const compressors = new Map<number, number>();
// One piece of the module's memory for a block and its output, grown as needed.
let room = { at: 0, size: 0 };

function space(size: number): number {
  if (room.size < size) {
    if (room.size > 0) wasm.free(room.at);
    room = { at: wasm.alloc(size), size };
    if (room.at === 0) throw new Error(`no memory for a block of ${size} bytes`);
  }
  return room.at;
}

function compressor(level: number): number {
  let c = compressors.get(level);
  if (c === undefined) {
    c = wasm.compressor(level);
    if (c === 0) throw new Error(`libdeflate has no level ${level}`);
    compressors.set(level, c);
  }
  return c;
}

parentPort!.on('message', (job: BlockJob) => {
  try {
    const c = compressor(job.level);
    const size = job.data.length;
    const bound = wasm.bound(c, size);
    const at = space(size + bound);
    new Uint8Array(wasm.memory.buffer, at, size).set(job.data);
    const n = wasm.deflate(c, at, size, at + size, bound);
    if (n === 0) throw new Error('deflate output over its bound');
    // The member: gzip's header as zlib writes it (no name, mtime 0, zlib's level hint, Unix), the deflate data, CRC-32 and size.
    const out = new Uint8Array(10 + n + 8);
    out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, job.level === 9 ? 2 : job.level < 2 ? 4 : 0, 3]);
    out.set(new Uint8Array(wasm.memory.buffer, at + size, n), 10);
    const trailer = new DataView(out.buffer, 10 + n);
    trailer.setUint32(0, crc32(job.data), true);
    trailer.setUint32(4, size, true);
    // The block's memory goes back too, to be filled again (see GzipBlocks).
    const input = job.data.buffer as ArrayBuffer;
    parentPort!.postMessage({ id: job.id, out, input } satisfies BlockResult, [out.buffer, input]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies BlockResult);
  }
});
