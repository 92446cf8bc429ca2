import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { measure } from '../image/docker-archive.js';
import { type Layer, knownTar } from '../image/model.js';
import type { DigestCache } from './digest-cache.js';

/** A digest, and whether this run measured it (rather than being told it). */
type Digest = { digest: string; size: number; measured?: boolean };

/**
 * Layer digests, computed ahead: known ones as given, cached ones from the
 * cache, the rest in a worker thread (in order) while the caller streams the
 * earlier layers on the main thread.
 */
export class LayerHasher {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { layer: Layer; resolve: (d: Digest) => void; reject: (e: Error) => void }>();
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
    if (hit) return hit;
    const measured = layer.recipe ? await this.inWorker(layer) : await measure(layer);
    if (key !== undefined) await this.cache!.put(key, measured);
    return { ...measured, measured: true };
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private inWorker(layer: Layer): Promise<Digest> {
    if (!this.worker) {
      this.worker = new Worker(new URL('./hash-worker.js', import.meta.url));
      this.worker.unref();
      type Reply = { id: number; result?: Digest; first?: [string, string][]; error?: { message: string; exitCode?: number } };
      this.worker.on('message', ({ id, result, first, error }: Reply) => {
        const waiter = this.pending.get(id);
        this.pending.delete(id);
        if (error) waiter?.reject(error.exitCode === undefined ? new Error(error.message) : new StrataError(error.message, error.exitCode));
        else {
          // The worker's read counts as the first: the streaming read is checked against it.
          if (first) waiter?.layer.fingerprints?.adopt(first);
          waiter?.resolve(result!);
        }
      });
      this.worker.on('error', (e) => {
        for (const w of this.pending.values()) w.reject(e);
        this.pending.clear();
      });
    }
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { layer, resolve, reject });
      this.worker!.postMessage({ id, recipe: layer.recipe });
    });
  }
}
