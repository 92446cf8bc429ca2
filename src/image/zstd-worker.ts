import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

// Makes the zstd frames of image/block-compression.ts, all of them on this
// one thread, so that zstd's blocking calls (it waits for its own workers
// when its input is full, and at a frame's end) never hold the main thread,
// and frames in flight at once cost a context each, not a thread each.
// Contexts (their worker threads and buffers) are kept from frame to frame.

export type FrameMessage =
  | { id: number; start: { workers: number; level: number; jobSize: number } }
  | { id: number; data: Uint8Array }
  | { id: number; end: true }
  | { id: number; abort: true };
/** `taken` gives the input's memory back: a thread lets go of what it was sent only at its rare garbage collections. */
export type FrameResult = { id: number; out: Uint8Array } | { id: number; taken: ArrayBuffer; length: number } | { id: number; ended: true } | { id: number; error: string };

type Binding = typeof import('zstd-napi/binding.js');
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as Binding;

/** Output room filled before it is sent on. */
const ROOM = 1 << 20;

interface Frame {
  cctx: InstanceType<Binding['CCtx']>;
  settings: string;
  out: Buffer;
  filled: number;
}

const frames = new Map<number, Frame>();
/** Contexts and rooms of ended frames, for the next ones. */
const idle: Omit<Frame, 'filled'>[] = [];

function send(id: number, f: Frame): void {
  if (f.filled === 0) return;
  // A copy of its own: the room is filled again.
  const piece = Uint8Array.prototype.slice.call(f.out, 0, f.filled);
  f.filled = 0;
  parentPort!.postMessage({ id, out: piece } satisfies FrameResult, [piece.buffer as ArrayBuffer]);
}

function compress(id: number, f: Frame, input: Uint8Array, end: boolean): void {
  const op = end ? zstd.EndDirective.end : zstd.EndDirective.continue;
  for (;;) {
    const [left, produced, consumed] = f.cctx.compressStream2(f.out.subarray(f.filled), input, op);
    f.filled += produced;
    input = input.subarray(consumed);
    if (ROOM - f.filled < 64 * 1024) send(id, f);
    if (end ? left === 0 : input.length === 0) break;
  }
  if (end) send(id, f);
}

function start(id: number, { workers, level, jobSize }: { workers: number; level: number; jobSize: number }): void {
  const settings = `${workers}/${level}/${jobSize}`;
  const at = idle.findIndex((c) => c.settings === settings);
  const kept = at >= 0 ? idle.splice(at, 1)[0] : undefined;
  if (kept) {
    kept.cctx.reset(zstd.ResetDirective.sessionOnly);
    frames.set(id, { ...kept, filled: 0 });
    return;
  }
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  cctx.setParameter(zstd.CParameter.checksumFlag, 0);
  cctx.setParameter(zstd.CParameter.nbWorkers, workers);
  cctx.setParameter(zstd.CParameter.jobSize, jobSize);
  frames.set(id, { cctx, settings, out: Buffer.allocUnsafe(ROOM), filled: 0 });
}

parentPort!.on('message', (m: FrameMessage) => {
  const { id } = m;
  try {
    if ('start' in m) return start(id, m.start);
    const f = frames.get(id);
    // A frame aborted, or failed: what was still on its way is dropped.
    if (!f) return;
    if ('abort' in m) {
      frames.delete(id);
      f.cctx.reset(zstd.ResetDirective.sessionOnly);
      idle.push(f);
    } else if ('data' in m) {
      compress(id, f, m.data, false);
      parentPort!.postMessage({ id, taken: m.data.buffer as ArrayBuffer, length: m.data.length } satisfies FrameResult, [m.data.buffer as ArrayBuffer]);
    } else {
      compress(id, f, new Uint8Array(0), true);
      frames.delete(id);
      idle.push(f);
      parentPort!.postMessage({ id, ended: true } satisfies FrameResult);
    }
  } catch (e) {
    // The frame is lost, and its context with it.
    frames.delete(id);
    parentPort!.postMessage({ id, error: (e as Error).message } satisfies FrameResult);
  }
});
