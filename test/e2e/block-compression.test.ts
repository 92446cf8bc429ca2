import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { once } from 'node:events';
import { StrataError } from '../../src/errors.js';
import { type BlockCompression, CompressionThreads, blockCompressor } from '../../src/image/block-compression.js';
import { CHUNK, newChunk } from '../../src/tar/chunked-tar.js';
import { fileRange } from '../../src/util/streams.js';
import { REPO_ROOT, runTool, tmpDir } from '../helpers/store.js';

// Parallel compression must give the same bytes whatever the number of
// threads (gzip's pool, zstd's workers) and however the input arrives, and
// those bytes must be plain gzip / zstd that the system's own tools read back.

const work = tmpDir('strata-blocks-');
const pools = [1, 2, 5].map((n) => new CompressionThreads(n));
after(() => Promise.all(pools.map((p) => p.close())));

// Realistic bytes: machine code (the start of node's binary) and text (strata's compiled code).
const dist = join(REPO_ROOT, 'dist', 'image');
const input = Buffer.concat([
  readFileSync(process.execPath).subarray(0, 3 << 20),
  ...readdirSync(dist).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dist, f))),
  readFileSync(process.execPath).subarray(40 << 20, (40 << 20) + (2 << 20) + 12345),
]);

async function compress(options: BlockCompression, threads: CompressionThreads, data: Buffer, chunk: number): Promise<Buffer> {
  const pieces = Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => data.subarray(i * chunk, (i + 1) * chunk));
  const out: Buffer[] = [];
  for await (const b of Readable.from(pieces).pipe(blockCompressor(options, threads))) out.push(b);
  return Buffer.concat(out);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `tool -dc` of `bytes`, through a file (as a pushed blob is read back). */
function systemDecompress(tool: string, bytes: Buffer): Buffer {
  const file = join(work, `blob-${sha(bytes)}`);
  writeFileSync(file, bytes);
  runTool('sh', ['-c', '"$0" -dc "$1" > "$1.out"', tool, file]);
  return readFileSync(`${file}.out`);
}

for (const options of [{ kind: 'gzip', level: 6, blockSize: 64 << 10 }, { kind: 'zstd', level: 3, blockSize: 1 << 20 }] as const) {
  test(`${options.kind}: the same bytes on 1, 2 or 5 threads and for any input chunking, read back by the ${options.kind} tool`, async () => {
    const outputs = [];
    for (const threads of pools) {
      for (const chunk of [1 << 20, 7919]) outputs.push(await compress(options, threads, input, chunk));
    }
    for (const o of outputs) assert.equal(sha(o), sha(outputs[0]!));
    assert.ok(outputs[0]!.length < input.length * 0.8, `${outputs[0]!.length} of ${input.length}`);
    assert.ok(systemDecompress(options.kind, outputs[0]!).equals(input));
    // Another block size is another output (the block size is part of what the bytes depend on).
    const other = await compress({ ...options, blockSize: options.blockSize * 2 }, pools[1]!, input, 1 << 20);
    assert.notEqual(sha(other), sha(outputs[0]!));
    assert.ok(systemDecompress(options.kind, other).equals(input));
  });

  test(`${options.kind}: empty input and an input of exactly one block`, async () => {
    assert.equal(systemDecompress(options.kind, await compress(options, pools[1]!, Buffer.alloc(0), 1)).length, 0);
    const one = input.subarray(0, options.blockSize);
    assert.ok(systemDecompress(options.kind, await compress(options, pools[1]!, one, 4096)).equals(one));
  });
}

test('zstd: a frame shorter than a job is the frame a context with the full job size makes, whatever the threads', async () => {
  // zstd itself, multi-threaded with 4 MiB jobs, fed in pieces: what every frame was made by before small frames got contexts of their own.
  const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  const reference = (data: Buffer): Buffer => {
    const cctx = new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.compressionLevel, 3);
    cctx.setParameter(zstd.CParameter.checksumFlag, 0);
    cctx.setParameter(zstd.CParameter.nbWorkers, 2);
    cctx.setParameter(zstd.CParameter.jobSize, 4 << 20);
    const room = Buffer.alloc(1 << 20);
    const out: Buffer[] = [];
    const feed = (piece: Buffer, end: boolean): void => {
      for (;;) {
        const [left, produced, consumed] = cctx.compressStream2(room, piece, end ? zstd.EndDirective.end : zstd.EndDirective.continue);
        out.push(Buffer.from(room.subarray(0, produced)));
        piece = piece.subarray(consumed);
        if (end ? left === 0 : piece.length === 0) return;
      }
    };
    for (let at = 0; at < data.length; at += 65536) feed(data.subarray(at, at + 65536), false);
    feed(Buffer.alloc(0), true);
    return Buffer.concat(out);
  };
  // Single-threaded zstd cuts its blocks elsewhere: these sizes give other bytes there.
  for (const size of [0, 1000, 300_000, 3 << 20, (4 << 20) - 1, 4 << 20, (4 << 20) + 1]) {
    const data = input.subarray(input.length - size);
    const expected = sha(reference(data));
    for (const threads of [pools[0]!, pools[2]!]) assert.equal(sha(await compress({ kind: 'zstd', level: 3, blockSize: 4 << 20 }, threads, data, 7919)), expected, `${size} bytes on ${threads.size} threads`);
  }
});

test('zstd: long frames made at once take turns, each its bytes made alone, and one cut short gives its turn up', { timeout: 120_000 }, async () => {
  const options = { kind: 'zstd', level: 3, blockSize: 1 << 20 } as const;
  const inputs = [0, 1, 2].map((k) => Buffer.concat([input.subarray(k * 999_999), input.subarray(0, k * 999_999)]));
  const alone = [];
  for (const data of inputs) alone.push(sha(await compress(options, pools[1]!, data, 1 << 20)));
  const together = await Promise.all(inputs.map((data) => compress(options, pools[1]!, data, 7919)));
  assert.deepEqual(together.map(sha), alone);
  // A long frame is destroyed while making its frame, another while waiting for its turn: the next still gets one.
  const started = (): Transform => {
    const t = blockCompressor(options, pools[1]!);
    t.on('error', () => {});
    t.resume();
    t.write(input.subarray(0, 3 << 20));
    return t;
  };
  // Asked in this order (the thread takes messages in order), the first gets the turn and the second waits.
  const [making, waiting] = [started(), started()];
  waiting.destroy();
  // Written at once, the next frame asks for its turn before the one making its frame is destroyed.
  const next = blockCompressor(options, pools[1]!);
  const out: Buffer[] = [];
  next.on('data', (b: Buffer) => out.push(b));
  next.end(inputs[2]);
  making.destroy();
  await once(next, 'end');
  assert.equal(sha(Buffer.concat(out)), alone[2]);
});

test('gzip blocks lose little against gzip -6 and are gzip members, one a block, that gzip and Python read whole', async () => {
  const ours = await compress({ kind: 'gzip', level: 6, blockSize: 1 << 20 }, pools[1]!, input, 1 << 20);
  const file = join(work, 'input');
  writeFileSync(file, input);
  const gzip = Number(runTool('sh', ['-c', 'gzip -6 -n -c "$0" | wc -c', file]).stdout);
  assert.ok(ours.length <= gzip * 1.01, `${ours.length} against gzip -6's ${gzip}`);
  writeFileSync(`${file}.gz`, ours);
  runTool('gzip', ['-t', `${file}.gz`]);
  // Each member ends with its block's length (the last, the rest): the trailers of a member per MiB.
  const members = runTool('python3', ['-c', `
import sys, zlib
data = open(sys.argv[1], 'rb').read()
sizes = []
while data:
    d = zlib.decompressobj(31)
    sizes.append(len(d.decompress(data)))
    data = d.unused_data
print(' '.join(map(str, sizes)))`, `${file}.gz`]).stdout.trim().split(' ').map(Number);
  const whole = Math.floor(input.length / (1 << 20));
  assert.deepEqual(members, [...Array(whole).fill(1 << 20), ...(input.length % (1 << 20) ? [input.length % (1 << 20)] : [])]);
});

test('a process that compressed with the shared threads (started ahead of the first block) exits by itself', async () => {
  const script = `
    import { blockCompressor, startGzipThreads } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'image', 'block-compression.js'))};
    import { Readable } from 'node:stream';
    startGzipThreads();
    const input = Buffer.alloc(5 << 20, 'strata ');
    for (const kind of ['gzip', 'zstd']) {
      let n = 0;
      for await (const b of Readable.from([input]).pipe(blockCompressor({ kind, level: 3, blockSize: 1 << 20 }))) n += b.length;
      console.log(kind, n);
    }`;
  const file = join(work, 'exits.mjs');
  writeFileSync(file, script);
  // A process held by idle threads would never exit: the limit turns that hang into a failure.
  const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.signal, null, 'the process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  const input = Buffer.alloc(5 << 20, 'strata ');
  const gzip = await compress({ kind: 'gzip', level: 3, blockSize: 1 << 20 }, pools[1]!, input, 1 << 20);
  assert.match(child.stdout, new RegExp(`^gzip ${gzip.length}\nzstd \\d+\n$`));
  // Threads started for blocks that never came hold nothing either.
  const idle = join(work, 'idle.mjs');
  writeFileSync(idle, `import { startGzipThreads } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'image', 'block-compression.js'))};\nstartGzipThreads();\nconsole.log('started');\n`);
  const idled = spawnSync(process.execPath, [idle], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(idled.signal, null, 'the process did not exit by itself');
  assert.equal(idled.stdout, 'started\n');
});

test('levels and block sizes out of range are refused, naming the value', () => {
  assert.throws(() => blockCompressor({ kind: 'gzip', level: 10, blockSize: 1 << 20 }, pools[0]), (e: unknown) => e instanceof StrataError && /--compression-level 10: gzip takes 0 to 9/.test(e.message));
  assert.throws(() => blockCompressor({ kind: 'zstd', level: 0, blockSize: 1 << 20 }, pools[0]), (e: unknown) => e instanceof StrataError && /zstd takes 1 to 19/.test(e.message));
  assert.throws(() => blockCompressor({ kind: 'gzip', level: 6, blockSize: 1000 }, pools[0]), (e: unknown) => e instanceof StrataError && /block size 1000: gzip takes at least 65536/.test(e.message));
  assert.throws(() => blockCompressor({ kind: 'zstd', level: 3, blockSize: 65536 }, pools[0]), (e: unknown) => e instanceof StrataError && /block size 65536: zstd takes at least 524288/.test(e.message));
});

test('gzip of file ranges read into recycled chunks, several at once: the bytes of the same input arriving as copies', async () => {
  // The chunks' memory goes to the threads and comes back to be read into again: a chunk filled while another still held it would show here.
  const file = join(work, 'ranges');
  const data = Buffer.concat([input, input.subarray(0, 3 << 20), input]);
  writeFileSync(file, data);
  const ranges = [[0, data.length], [12345, (3 << 20) + 77], [1 << 20, 5 << 20], [data.length - 1000, 1000]] as const;
  const options = { kind: 'gzip', level: 1, blockSize: CHUNK } as const;
  const fromFile = await Promise.all(
    ranges.map(async ([start, length]) => {
      const out: Buffer[] = [];
      for await (const b of Readable.from(fileRange(file, start, length, newChunk, CHUNK)).pipe(blockCompressor(options, pools[1]!))) out.push(b);
      return Buffer.concat(out);
    }),
  );
  for (const [i, [start, length]] of ranges.entries()) {
    const expected = data.subarray(start, start + length);
    assert.equal(sha(fromFile[i]!), sha(await compress(options, pools[2]!, Buffer.from(expected), 7919)));
    assert.ok(systemDecompress('gzip', fromFile[i]!).equals(expected));
  }
  // A range past the end of the file is refused, naming the file and where it ended.
  await assert.rejects(
    (async () => {
      for await (const _ of fileRange(file, data.length - 10, 20, newChunk, CHUNK));
    })(),
    (e: unknown) => e instanceof StrataError && e.message === `${file}: truncated at byte ${data.length}`,
  );
});
