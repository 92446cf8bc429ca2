import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type ThreadError, fromThreadError } from '../errors.js';
import type { Layer } from '../model/image.js';
import type { Member } from '../tar/members.js';
import { type MemberColumns, fromColumns } from '../tar/member-columns.js';
import { workerOptions } from '../util/worker-options.js';
import type { ForeignBinary, TargetPlatform } from './binary.js';

/**
 * Layers for the walk thread: each as its recipe (none for a layer only the
 * main thread can make, as one with perms rules), walked from the last while
 * the main thread walks from the first, each claiming the next through
 * `claims` (one counter of layers claimed) until they meet.
 */
export interface WalkJob {
  job: number;
  claims: SharedArrayBuffer;
  recipes: Layer['recipe'][];
  target: TargetPlatform;
  /** Members kept at most for one layer (what walkAhead takes). */
  keep: number;
}

/** What the thread sends back for one layer: what walkAhead returned (as columns) and the foreign binaries seen, or its error. */
export type WalkedLayer = { job: number; index: number } & ({ columns: MemberColumns | undefined; foreign: ForeignBinary[] } | { error: ThreadError });

/** One layer as the main thread takes it from the walk thread. */
type TakenLayer = { members: Member[] | undefined; foreign: ForeignBinary[] } | { error: Error };

/** The main thread's side of a job: claim the next layer from the first, or take one the thread walked. */
export interface LayerClaims {
  /** Whether the main thread may walk the next layer from the first (each call claims one). */
  claim(): boolean;
  /**
   * What the thread made of the layer at `index` (one not claimed by the
   * main thread; the same each time asked): undefined when the main thread
   * must walk it (no recipe, or the thread is gone).
   */
  walked(index: number): Promise<TakenLayer | undefined>;
}

const newThread = (): Worker => new Worker(new URL('./walk-worker.js', import.meta.url), workerOptions());

let started: Worker | undefined;

// With one core, a second thread would take the main thread's time (and its start besides).
const helps = (): boolean => availableParallelism() > 1;

/**
 * Start the next walkThread's thread now, ahead of the walk (a thread takes
 * about 0.1 s to start): it never holds the process, and costs that start
 * alone if no walk takes it.
 */
export function startWalkThread(): void {
  if (!helps()) return;
  started ??= newThread();
  started.unref();
}

/** A walk thread (the one started ahead, if any), or none where it would not help. */
export function walkThread(): WalkThread | undefined {
  return started || helps() ? new WalkThread() : undefined;
}

/**
 * A thread walking store layers for the platform guard on the core the main
 * thread leaves idle, before the first byte is written. It never holds the
 * process, but while the main thread waits for a layer it walks.
 */
export class WalkThread {
  private readonly worker = started ?? newThread();
  private jobs = 0;
  private readonly arrived = new Map<string, WalkedLayer>();
  private readonly waiting = new Map<string, (walked: WalkedLayer | undefined) => void>();
  private gone = false;

  constructor() {
    started = undefined;
    this.worker.unref();
    this.worker.on('message', (m: WalkedLayer) => {
      const key = `${m.job}:${m.index}`;
      const waiter = this.waiting.get(key);
      if (waiter) {
        this.waiting.delete(key);
        waiter(m);
      } else this.arrived.set(key, m);
      this.hold();
    });
    // A thread that fails or ends leaves its layers to the main thread.
    const lost = () => {
      this.gone = true;
      for (const waiter of this.waiting.values()) waiter(undefined);
      this.waiting.clear();
      this.hold();
    };
    this.worker.on('error', lost);
    this.worker.on('exit', lost);
  }

  /** Start walking `layers` from the last. */
  walk(layers: readonly Layer[], target: TargetPlatform, keep: number): LayerClaims {
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const job = this.jobs++;
    const recipes = layers.map((l) => l.recipe);
    this.worker.postMessage({ job, claims: claims.buffer as SharedArrayBuffer, recipes, target: { architecture: target.architecture, os: target.os }, keep } satisfies WalkJob);
    const taken = new Map<number, Promise<TakenLayer | undefined>>();
    const take = async (index: number): Promise<TakenLayer | undefined> => {
      if (!recipes[index]) return undefined;
      const m = await this.take(`${job}:${index}`);
      return m === undefined ? undefined : 'error' in m ? { error: fromThreadError(m.error) } : { members: m.columns && fromColumns(m.columns), foreign: m.foreign };
    };
    return {
      claim: () => Atomics.add(claims, 0, 1) < layers.length,
      walked: (index) => taken.get(index) ?? taken.set(index, take(index)).get(index)!,
    };
  }

  /** Stop the thread (its walks are no longer needed). */
  close(): void {
    void this.worker.terminate();
  }

  private take(key: string): Promise<WalkedLayer | undefined> {
    const m = this.arrived.get(key);
    if (m || this.gone) {
      this.arrived.delete(key);
      return Promise.resolve(m);
    }
    const taken = new Promise<WalkedLayer | undefined>((resolve) => this.waiting.set(key, resolve));
    this.hold();
    return taken;
  }

  // The thread holds the process only while a layer is awaited from it.
  private hold(): void {
    if (this.waiting.size > 0 && !this.gone) this.worker.ref();
    else this.worker.unref();
  }
}
