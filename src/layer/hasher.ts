import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { measure } from './measure.js';
import { type Layer, knownTar } from '../model/image.js';
import type { DigestCache } from './digest-cache.js';
import { workerOptions } from '../util/worker-options.js';

/** A digest, and whether this run measured it (rather than being told it), or the cache key it was found under. */
type Digest = { digest: string; size: number; measured?: boolean; cachedAs?: string };

/** Hashing threads: every core but the one the main thread streams on. */
const POOL = Math.max(1, availableParallelism() - 1);

type Job = { id: number; layer: Layer; resolve: (d: Digest) => void; reject: (e: Error) => void };

/**
 * Layer digests, computed ahead: known ones as given, cached ones from the
 * cache, the rest on a pool of worker threads (each takes the earliest layer
 * not yet started) while the caller streams the earlier layers on the main
 * thread.
 */
export class LayerHasher {
  private readonly idle: Worker[] = [];
  private readonly workers: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private next = 0;

  constructor(private readonly cache?: DigestCache) {}

  /** Start computing every digest; the promises settle in any order. */
  digests(layers: Layer[]): Promise<Digest>[] {
    const all = layers.map((layer) => this.digest(layer));
    // Unobserved until awaited in order; a failure is reported where awaited.
    for (const p of all) p.catch(() => {});
    return all;
  }

  async digest(layer: Layer): Promise<Digest> {
    const known = knownTar(layer);
    if (known) return known;
    const key = this.cache && layer.cacheKey ? layer.cacheKey() : undefined;
    const hit = key === undefined ? undefined : await this.cache!.get(key);
    if (hit) return { ...hit, cachedAs: key };
    const measured = layer.recipe ? await this.inWorker(layer) : await measure(layer);
    if (key !== undefined) await this.cache!.put(key, measured);
    return { ...measured, measured: true };
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.idle.length = 0;
  }

  private inWorker(layer: Layer): Promise<Digest> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.next++, layer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers.length < POOL ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage({ id: job.id, recipe: job.layer.recipe });
    }
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), workerOptions());
    worker.unref();
    this.workers.push(worker);
    type Reply = { id: number; result?: Digest; first?: [string, string][]; error?: { message: string; exitCode?: number } };
    worker.on('message', ({ result, first, error }: Reply) => {
      const job = this.running.get(worker)!;
      this.running.delete(worker);
      this.idle.push(worker);
      if (error) job.reject(error.exitCode === undefined ? new Error(error.message) : new StrataError(error.message, error.exitCode));
      else {
        // The worker's read counts as the first: the streaming read is checked against it.
        if (first) job.layer.fingerprints?.adopt(first);
        job.resolve(result!);
      }
      this.dispatch();
    });
    worker.on('error', (e) => {
      this.running.get(worker)?.reject(e);
      this.running.delete(worker);
      for (const job of this.queue.splice(0)) job.reject(e);
    });
    return worker;
  }
}
