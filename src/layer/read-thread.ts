import { MessageChannel, Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import type { Layer } from '../image/model.js';
import { CHUNK } from '../tar/walk.js';

/** Chunks (of 1 MiB) the reading thread may have handed over and not yet seen taken. */
const WINDOW = 8;

type Reply = { memory?: ArrayBuffer; length?: number; done?: true; error?: { message: string; exitCode?: number } };

/**
 * A layer's bytes made on another thread: its files are listed, read and
 * framed there while the main thread writes the chunks out, so reading
 * overlaps writing and no file system call stalls the main thread. Layers
 * that cannot be rebuilt from a recipe are read here, as before.
 */
export class LayerReadThread {
  private worker: Worker | undefined;
  private returns = new MessageChannel();
  private readonly credits = new Int32Array(new SharedArrayBuffer(4));

  /** The layer's bytes; the fingerprints of an earlier read of it (if any) check this one. */
  read(layer: Layer): AsyncIterable<Buffer> | Iterable<Buffer> {
    if (!layer.recipe) return layer.open() as AsyncIterable<Buffer> | Iterable<Buffer>;
    return this.remote(layer);
  }

  /** Give back a chunk's memory nothing reads any more, to be filled again. */
  recycle(memory: ArrayBuffer): void {
    if (this.worker && memory.byteLength === CHUNK) this.returns.port1.postMessage(memory, [memory]);
  }

  close(): void {
    if (!this.worker) return;
    void this.worker.terminate();
    this.worker = undefined;
    this.returns.port1.close();
    this.returns = new MessageChannel();
  }

  private async *remote(layer: Layer): AsyncGenerator<Buffer> {
    const worker = (this.worker ??= this.start());
    const replies: Reply[] = [];
    let wake: (() => void) | undefined;
    const onMessage = (m: Reply): void => {
      replies.push(m);
      wake?.();
    };
    const onError = (e: Error): void => onMessage({ error: { message: e.message } });
    worker.on('message', onMessage);
    worker.on('error', onError);
    let finished = false;
    try {
      Atomics.store(this.credits, 0, WINDOW);
      worker.postMessage({ recipe: layer.recipe, first: layer.fingerprints?.export() });
      for (;;) {
        if (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const m = replies.shift()!;
        if (m.error) throw m.error.exitCode === undefined ? new Error(m.error.message) : new StrataError(m.error.message, m.error.exitCode);
        if (m.done) return void (finished = true);
        yield Buffer.from(m.memory!, 0, m.length!);
        // Taken (written out): the thread may make one more.
        Atomics.add(this.credits, 0, 1);
        Atomics.notify(this.credits, 0);
      }
    } finally {
      worker.off('message', onMessage);
      worker.off('error', onError);
      // Left mid-layer (the writer failed): that thread waits for credits that will never come.
      if (!finished) this.close();
    }
  }

  private start(): Worker {
    const worker = new Worker(new URL('./read-worker.js', import.meta.url));
    worker.unref();
    worker.postMessage({ credits: this.credits, returns: this.returns.port2 }, [this.returns.port2]);
    return worker;
  }
}
