import { ExitCode, StrataError } from '../../errors.js';
import type { CommonSinkOptions, Format } from '../../image/format.js';
import { sha256Hex } from '../../model/digest.js';
import type { Image, ImageSink } from '../../model/image.js';
import type { ByteSink } from '../../output.js';
import type { Engine } from './engine.js';

/** Whether the reader holds the layer that ends the chain `diffIds`; `size` is that layer's. */
type HeldLayer = (diffIds: readonly string[], size: number) => boolean;

/** Writes a docker-archive to a byte sink, held layers as empty members (the docker-archive format's writer, given by the table). */
type ArchiveWriter = (out: ByteSink, options: CommonSinkOptions, held?: HeldLayer) => Promise<ImageSink>;

/** What a load sent, as the report gives it. */
interface DaemonLoad {
  engine: string;
  host: string;
  /** What the engine said it loaded ("Loaded image: app:1.0"). */
  loaded: string[];
  layers: { sent: number; skipped: number };
  /** Bytes of the archive sent, and of the layer tars left out. */
  bytes: { sent: number; skipped: number };
  /** A load without held layers that the engine refused, and so sent again whole. */
  resent: boolean;
}

/** What docker-daemon destinations take beyond the common options. */
export interface DaemonOptions {
  /** Told what each load sent. */
  onLoaded?(load: DaemonLoad): void;
}

/**
 * The chain ID of the layer that ends `diffIds`, as engines key the layers
 * they hold (a layer is reused only on the same layers below it).
 */
function chainId(diffIds: readonly string[]): string {
  let chain = diffIds[0]!;
  for (const d of diffIds.slice(1)) chain = `sha256:${sha256Hex(`${chain} ${d}`)}`;
  return chain;
}

/**
 * A running engine (`docker-daemon:[NAME[:TAG]]`, as skopeo names it): the
 * image goes as a docker-archive to the Docker Engine API's image load,
 * which dockerd and podman's compatible service both answer. Layers the
 * engine already holds on the same layers below go as empty members: both
 * engines take the layer they hold and check its diff_id. Should the engine
 * refuse such a load (an image removed meanwhile), the archive is sent again whole.
 */
export function dockerDaemon(writeArchive: ArchiveWriter): Format<CommonSinkOptions & { daemon?: DaemonOptions }> {
  return {
    name: 'docker-daemon',
    async openSink(reference, options) {
      const { Engine } = await import('./engine.js');
      const engine = Engine.fromEnvironment();
      const tag = reference === '' ? undefined : reference.includes(':', reference.lastIndexOf('/') + 1) ? reference : `${reference}:latest`;
      if (tag !== undefined && !/^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?(\/[a-z0-9._/-]+)*:[\w][\w.-]{0,127}$/.test(tag)) {
        throw new StrataError(`--to docker-daemon:${reference}: expected docker-daemon:NAME[:TAG] with a lower-case name (e.g. docker-daemon:app:1.0)`);
      }
      if (options.compression && options.compression !== 'none') {
        throw new StrataError(`--compression ${options.compression}: docker-daemon sends uncompressed layers (as docker load takes them); drop --compression`);
      }
      const sink: ImageSink = {
        async write(image) {
          const tagged: Image = tag === undefined ? image : { ...image, repoTags: [tag] };
          const held = await engine.heldChains(chainId);
          let load = await send(engine, tagged, writeArchive, options, held);
          const refused = load.error instanceof StrataError && load.error.exitCode === ExitCode.Registry;
          if (refused && load.report.layers.skipped > 0) {
            load = await send(engine, tagged, writeArchive, options, new Set());
            load.report.resent = true;
          }
          if (load.error !== undefined) throw load.error;
          load.report.engine = await engine.name();
          options.daemon?.onLoaded?.(load.report);
        },
      };
      // The engine tags the image once the whole archive is in: nothing to commit or undo.
      return { sink, commit: async () => {}, abort: async () => {} };
    },
  };
}

/** One load: the archive with the layers of `held` chains left empty. */
async function send(
  engine: Engine,
  image: Image,
  writeArchive: ArchiveWriter,
  options: CommonSinkOptions,
  held: Set<string>,
): Promise<{ report: DaemonLoad; error?: unknown }> {
  const report: DaemonLoad = { engine: '', host: engine.host, loaded: [], layers: { sent: 0, skipped: 0 }, bytes: { sent: 0, skipped: 0 }, resent: false };
  const isHeld: HeldLayer = (diffIds, size) => {
    const skip = held.has(chainId(diffIds));
    report.layers[skip ? 'skipped' : 'sent']++;
    if (skip) report.bytes.skipped += size;
    return skip;
  };
  const request = engine.load();
  try {
    const archive = await writeArchive(request.sink, options, isHeld);
    await archive.write(image);
    await request.sink.end();
  } catch (e) {
    // An engine that broke off the load says why in its answer; a failure of ours drops the load.
    if (request.brokenOff()) return { report, error: await request.done.then(() => e, (refusal: unknown) => refusal) };
    request.abort();
    return { report, error: e };
  }
  report.bytes.sent = request.sink.bytes;
  try {
    report.loaded = await request.done;
  } catch (e) {
    return { report, error: e };
  }
  return { report };
}
