import type { Bytes } from './model/image.js';
import { shortenStorePaths } from './closure/store-path.js';
import { isTerminal } from './util/terminal.js';
import { humanSize } from './util/text.js';

/**
 * How far writing an image is: sinks report each layer as it starts and the
 * bytes as they reach the destination; the CLI draws them on a terminal.
 */
export interface Progress {
  /** Layer `index` (from 0) of `count` starts; `size` is its bytes when known. */
  layer(index: number, count: number, label: string, size?: number): void;
  /** `n` more bytes written. Called per chunk, so it must only count. */
  bytes(n: number): void;
  /** The write ended, `complete` or not. */
  done(complete: boolean): void;
}

export const silent: Progress = { layer: () => {}, bytes: () => {}, done: () => {} };

/** Bytes that count themselves into `progress` as they are read (for sinks that hand a stream on). */
export async function* counted(source: Bytes, progress: Progress): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    progress.bytes(chunk.length);
    yield chunk;
  }
}

/** What a progress line shows. */
export interface ProgressState {
  /** The layer being written, from 1 (0 before the first). */
  layer: number;
  layers: number;
  label: string;
  /** Its size, when known. */
  layerSize?: number;
  /** Bytes written before it started. */
  layerStart: number;
  /** Bytes written in all. */
  bytes: number;
  /** Total size of the layers started whose size was known, and how many they are. */
  knownBytes: number;
  knownLayers: number;
  /** Seconds since the first layer started. */
  elapsed: number;
  finished: boolean;
}

export const initialState = (): ProgressState => ({ layer: 0, layers: 0, label: '', layerStart: 0, bytes: 0, knownBytes: 0, knownLayers: 0, elapsed: 0, finished: false });

/**
 * The bytes the whole write will take: exact when finished; else the layers
 * not started yet are guessed at the average size of those known. Undefined
 * while no size is known.
 */
export function estimatedTotal(s: ProgressState): number | undefined {
  if (s.finished) return s.bytes;
  if (s.knownLayers === 0) return undefined;
  const average = s.knownBytes / s.knownLayers;
  const current = Math.max(s.layerSize ?? average, s.bytes - s.layerStart);
  return s.layerStart + current + (s.layers - s.layer) * average;
}

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatDuration(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  const [h, m, s] = [Math.floor(t / 3600), Math.floor((t % 3600) / 60), t % 60];
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** A layer's label with store paths shortened to their names and base layers' diff_ids to 12 digits (the hashes say little to a person). */
export function shortLabel(label: string): string {
  return shortenStorePaths(label).replace(/\b([0-9a-f]{12})[0-9a-f]{52}\/layer\.tar\b/g, '$1');
}

const BAR = 20;

/**
 * One progress line, at most `width` characters:
 * `layer 2/3 [########------------]  40% 1.2 MiB/3.0 MiB 5.0 MiB/s ETA 0:01 lib-a`.
 * Without any known size there is no bar, percentage or ETA, only bytes and speed.
 */
export function formatProgress(s: ProgressState, width: number): string {
  const total = estimatedTotal(s);
  const rate = s.elapsed > 0 ? s.bytes / s.elapsed : 0;
  const parts = [`layer ${s.layer}/${s.layers}`];
  if (total === undefined) {
    parts.push(humanSize(s.bytes));
  } else {
    const fraction = total === 0 ? 1 : Math.min(1, s.bytes / total);
    const filled = Math.round(fraction * BAR);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}]`, `${Math.floor(fraction * 100)}%`.padStart(4), `${humanSize(s.bytes)}/${humanSize(total)}`);
  }
  parts.push(`${humanSize(Math.round(rate))}/s`);
  if (s.finished) parts.push(`in ${formatDuration(s.elapsed)}`);
  else if (total !== undefined && rate > 0) parts.push(`ETA ${formatDuration((total - Math.min(s.bytes, total)) / rate)}`);
  const line = `${parts.join(' ')} ${shortLabel(s.label)}`;
  // Wider than the terminal would wrap, and \r would then redraw only the last row.
  return line.length < width ? line : line.slice(0, Math.max(0, width - 1));
}

/** Progress for people: a line redrawn in place; text for the terminal goes through `log` so it does not tear the line. */
interface TerminalProgress extends Progress {
  /** Print a line of text above the progress line: on its stream, or `to` (stdout, which may be the same terminal). */
  log(line: string, to?: NodeJS.WritableStream): void;
}

const REDRAW_MS = 100;

/**
 * Draws progress on `stream` when it is a terminal, redrawn at most ten
 * times a second from a timer (so counting bytes costs an addition), the
 * last line kept; draws nothing otherwise. Standard error (the default) is
 * asked first whether it is a terminal: process.stderr, a stream to create,
 * is made only to be written to.
 */
export function terminalProgress(given?: NodeJS.WriteStream): TerminalProgress {
  if (given === undefined ? !isTerminal(2) : !given.isTTY) {
    return { ...silent, log: (line, to = given ?? process.stderr) => void to.write(`${line}\n`) };
  }
  const stream = given ?? process.stderr;
  let state = initialState();
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;
  let shown = '';
  const draw = (): void => {
    state.elapsed = (performance.now() - started) / 1000;
    const line = formatProgress(state, stream.columns || 80);
    if (line === shown) return;
    stream.write(`\r${line}\x1b[K`);
    shown = line;
    drawn = true;
  };
  return {
    layer(index, count, label, size) {
      if (timer === undefined) {
        state = initialState();
        started = performance.now();
        timer = setInterval(draw, REDRAW_MS).unref();
      }
      state.layer = index + 1;
      state.layers = count;
      state.label = label;
      state.layerSize = size;
      state.layerStart = state.bytes;
      if (size !== undefined) {
        state.knownBytes += size;
        state.knownLayers++;
      }
    },
    bytes(n) {
      state.bytes += n;
    },
    done(complete) {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      state.finished = complete;
      draw();
      stream.write('\n');
      drawn = false;
      shown = '';
    },
    log(line, to = stream) {
      if (drawn) stream.write('\r\x1b[K');
      to.write(`${line}\n`);
      if (drawn) {
        shown = '';
        draw();
      }
    },
  };
}
