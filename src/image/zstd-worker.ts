import { createRequire } from 'node:module';
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

// Makes the zstd frames of image/block-compression.ts, all of them on this
// one thread, so that zstd's blocking calls (it waits for its own workers
// when its input is full, and at a frame's end) never hold the main thread,
// and frames in flight at once cost a context each, not a thread each.
// Contexts (their worker threads and buffers) are kept from frame to frame.
// The frames take turns, one call each: a call waits at most for a piece of
// one job, so a frame whose workers are behind, or that is ending, does not
// hold the others' input (and their workers idle) until it is done.
// Frames of more than one job are made one at a time, each on a worker per
// core: the next waits for the context (~30 MB), so only one such exists.

/** `rooms`, with any message: memory of outputs sent (see doneWith), to be filled again. */
export type FrameMessage = (
  | { id: number; start: FrameSettings }
  | { id: number; data: Uint8Array }
  | { id: number; end: true }
  | { id: number; abort: true }
) & { rooms?: ArrayBuffer[] };
/**
 * `taken` gives the input's memory back: a thread lets go of what it was sent only at its rare garbage collections.
 * `room`: the output is in memory wanted back once sent (see doneWith).
 * `digests`: the sha256 (hex) of the frame's input and output, when its settings asked for them.
 */
export type FrameResult = { id: number; out: Uint8Array; room: boolean } | { id: number; taken: ArrayBuffer; length: number } | { id: number; ended: true; digests?: { input: string; output: string } } | { id: number; error: string };
/** `oneJob`: the whole input is shorter than a job. `hash`: take the sha256 of the input and of the output, here rather than on the main thread. */
interface FrameSettings {
  workers: number;
  level: number;
  jobSize: number;
  oneJob: boolean;
  hash?: boolean;
}

type Binding = typeof import('zstd-napi/binding.js');
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as Binding;

/** Output room filled before it is sent on. */
const ROOM = 1 << 20;

interface Context {
  cctx: InstanceType<Binding['CCtx']>;
  settings: string;
  long: boolean;
  out: Buffer;
}

interface Frame {
  /** Unset while the frame waits for the context of long frames. */
  context?: Context;
  settings: FrameSettings;
  filled: number;
  /** Input not yet taken by zstd, oldest first; the first piece's bytes from `at` on. */
  input: Uint8Array[];
  at: number;
  ending: boolean;
  hash?: { input: Hash; output: Hash };
}

const frames = new Map<number, Frame>();
/** Contexts of ended frames, for the next ones. */
const idle: Context[] = [];
/** Frames of more than one job waiting for the one making such a frame, in order. */
const waiting: number[] = [];
let longBusy = false;
let turnsQueued = false;

/** Memory of outputs the main thread has sent, given back: filled again rather than allocated anew (and faulted in). */
const rooms: ArrayBuffer[] = [];

function send(id: number, f: Frame, c: Context): void {
  if (f.filled === 0) return;
  // A copy, in memory of its own: the context's room is filled again. A full room's goes into one given back (the
  // pieces of a long frame, streamed); a frame's last piece (a small frame's whole output, often sent whole and not
  // given back) into memory of its size.
  const given = f.filled >= ROOM / 2 ? rooms.pop() : undefined;
  const room = f.filled >= ROOM / 2 ? (given !== undefined && given.byteLength >= f.filled ? given : new ArrayBuffer(ROOM)) : undefined;
  const piece = room ? new Uint8Array(room, 0, c.out.copy(new Uint8Array(room), 0, 0, f.filled)) : Uint8Array.prototype.slice.call(c.out, 0, f.filled);
  f.filled = 0;
  // Pieces go in the frame's order: the output's digest is the blob's.
  f.hash?.output.update(piece);
  parentPort!.postMessage({ id, out: piece, room: room !== undefined } satisfies FrameResult, [piece.buffer as ArrayBuffer]);
}

/** One call of zstd for the frame; whether it has more to do. */
function step(id: number, f: Frame, c: Context): boolean {
  const piece = f.input[0];
  const end = piece === undefined;
  const [left, produced, consumed] = c.cctx.compressStream2(c.out.subarray(f.filled), piece?.subarray(f.at) ?? new Uint8Array(0), end ? zstd.EndDirective.end : zstd.EndDirective.continue);
  f.filled += produced;
  if (ROOM - f.filled < 64 * 1024) send(id, f, c);
  if (piece) {
    f.at += consumed;
    if (f.at === piece.length) {
      f.input.shift();
      f.at = 0;
      parentPort!.postMessage({ id, taken: piece.buffer as ArrayBuffer, length: piece.length } satisfies FrameResult, [piece.buffer as ArrayBuffer]);
    }
    return true;
  }
  if (left !== 0) return true;
  send(id, f, c);
  over(id, c);
  parentPort!.postMessage({ id, ended: true, ...(f.hash ? { digests: { input: f.hash.input.digest('hex'), output: f.hash.output.digest('hex') } } : {}) } satisfies FrameResult);
  return false;
}

/** A call for each frame with work, then the messages that came meanwhile, and again while any has work. */
function turns(): void {
  turnsQueued = false;
  let more = false;
  for (const [id, f] of frames) {
    if (!f.context || (f.input.length === 0 && !f.ending)) continue;
    try {
      more = step(id, f, f.context) || more;
    } catch (e) {
      fail(id, e as Error);
    }
  }
  if (more) queueTurns();
}

function queueTurns(): void {
  if (turnsQueued) return;
  turnsQueued = true;
  setImmediate(turns);
}

/** The frame is over: its context kept for the next (unless lost), and the next long frame started. */
function over(id: number, c: Context | undefined, lost = false): void {
  frames.delete(id);
  const at = waiting.indexOf(id);
  if (at >= 0) waiting.splice(at, 1);
  if (!c) return;
  if (!lost) idle.push(c);
  if (!c.long) return;
  longBusy = false;
  const next = waiting.shift();
  if (next === undefined) return;
  try {
    begin(frames.get(next)!);
  } catch (e) {
    fail(next, e as Error);
  }
}

/** The frame is lost, and its context with it. */
function fail(id: number, e: Error): void {
  over(id, frames.get(id)?.context, true);
  parentPort!.postMessage({ id, error: e.message } satisfies FrameResult);
}

/** Give the frame a context: one kept with the same settings, or a new one. */
function begin(f: Frame): void {
  const { workers, level, jobSize, oneJob } = f.settings;
  const settings = `${workers}/${level}/${jobSize}/${oneJob}`;
  const at = idle.findIndex((c) => c.settings === settings);
  const kept = at >= 0 ? idle.splice(at, 1)[0] : undefined;
  if (kept) kept.cctx.reset(zstd.ResetDirective.sessionOnly);
  let context = kept;
  if (!context) {
    const cctx = new zstd.CCtx();
    cctx.setParameter(zstd.CParameter.compressionLevel, level);
    cctx.setParameter(zstd.CParameter.checksumFlag, 0);
    cctx.setParameter(zstd.CParameter.nbWorkers, workers);
    cctx.setParameter(zstd.CParameter.jobSize, jobSize);
    context = { cctx, settings, long: !oneJob, out: Buffer.allocUnsafe(ROOM) };
  }
  if (context.long) longBusy = true;
  f.context = context;
  queueTurns();
}

parentPort!.on('message', (m: FrameMessage) => {
  const { id } = m;
  // A few are enough; the sender counts what it lent, this caps what drifts past its count.
  if (m.rooms) rooms.push(...m.rooms.slice(0, Math.max(0, 8 - rooms.length)));
  try {
    if ('start' in m) {
      const f: Frame = { settings: m.start, filled: 0, input: [], at: 0, ending: false, ...(m.start.hash ? { hash: { input: createHash('sha256'), output: createHash('sha256') } } : {}) };
      frames.set(id, f);
      if (!m.start.oneJob && longBusy) waiting.push(id);
      else begin(f);
      return;
    }
    const f = frames.get(id);
    // A frame aborted, or failed: what was still on its way is dropped.
    if (!f) return;
    // Its context is dropped, freed when collected (zstd then waits for its jobs): one
    // reset mid-frame and used again let a job still queued run on freed job state (SIGSEGV).
    if ('abort' in m) {
      over(id, f.context, true);
      return;
    }
    // An empty piece is given back at once: a call with no input waits for output.
    if ('data' in m && m.data.length === 0) return void parentPort!.postMessage({ id, taken: m.data.buffer as ArrayBuffer, length: 0 } satisfies FrameResult, [m.data.buffer as ArrayBuffer]);
    if ('data' in m) {
      // Hashed as it arrives: pieces come in the stream's order.
      f.hash?.input.update(m.data);
      f.input.push(m.data);
    }
    else f.ending = true;
    queueTurns();
  } catch (e) {
    fail(id, e as Error);
  }
});
