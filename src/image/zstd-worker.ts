import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

// Makes zstd frames for image/block-compression.ts, one at a time, so that
// zstd's blocking calls (it waits for its own workers when its input is
// full, and at a frame's end) never hold the main thread. The context, its
// worker threads and buffers are kept from frame to frame.

export type FrameMessage = { start: { workers: number; level: number; jobSize: number } } | { data: Uint8Array } | { end: true };
export type FrameResult = { out: Uint8Array } | { taken: number } | { ended: true } | { error: string };

type Binding = typeof import('zstd-napi/binding.js');
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as Binding;

/** Output room filled before it is sent on. */
const ROOM = 1 << 20;

let cctx: InstanceType<Binding['CCtx']> | undefined;
let settings = '';
let out = Buffer.allocUnsafe(ROOM);
let filled = 0;

function send(): void {
  if (filled === 0) return;
  // A copy of its own: the room is filled again.
  const piece = Uint8Array.prototype.slice.call(out, 0, filled);
  filled = 0;
  parentPort!.postMessage({ out: piece } satisfies FrameResult, [piece.buffer as ArrayBuffer]);
}

function compress(input: Uint8Array, end: boolean): void {
  const op = end ? zstd.EndDirective.end : zstd.EndDirective.continue;
  for (;;) {
    const [left, produced, consumed] = cctx!.compressStream2(out.subarray(filled), input, op);
    filled += produced;
    input = input.subarray(consumed);
    if (ROOM - filled < 64 * 1024) send();
    if (end ? left === 0 : input.length === 0) break;
  }
  if (end) send();
}

parentPort!.on('message', (m: FrameMessage) => {
  try {
    if ('start' in m) {
      const { workers, level, jobSize } = m.start;
      const wanted = `${workers}/${level}/${jobSize}`;
      if (cctx && settings === wanted) cctx.reset(zstd.ResetDirective.sessionOnly);
      else {
        cctx = new zstd.CCtx();
        settings = wanted;
        cctx.setParameter(zstd.CParameter.compressionLevel, level);
        cctx.setParameter(zstd.CParameter.checksumFlag, 0);
        cctx.setParameter(zstd.CParameter.nbWorkers, workers);
        cctx.setParameter(zstd.CParameter.jobSize, jobSize);
      }
      filled = 0;
    } else if ('data' in m) {
      compress(m.data, false);
      parentPort!.postMessage({ taken: m.data.length } satisfies FrameResult);
    } else {
      compress(new Uint8Array(0), true);
      parentPort!.postMessage({ ended: true } satisfies FrameResult);
    }
  } catch (e) {
    // The frame is lost; the next one starts with a new context.
    cctx = undefined;
    parentPort!.postMessage({ error: (e as Error).message } satisfies FrameResult);
  }
});
