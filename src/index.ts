// strata as a library: closure -> plan -> conf -> image -> sink.
export * from './closure/types.js';
export { loadClosure, type ClosureSource } from './closure/load.js';
export { readGraphFile } from './closure/graph-file.js';
export { queryNixClosure } from './closure/nix.js';
export { narSize } from './closure/nar-size.js';
export { parseRegistration } from './closure/registration.js';
export { popularityOrder, tieKey } from './plan/popularity.js';
export * from './plan/plan.js';
export { type Pipeline, pipelineLayers, readPipeline } from './plan/pipeline.js';
export * from './conf/conf.js';
export { confFromPlan, type ConfOptions } from './conf/from-plan.js';
export { validateImageConfig, type ImageConfigOptions } from './conf/image-config.js';
export { parsePerms, type PermRule } from './layer/perms.js';
export type { Image, ImageSink, Layer } from './image/model.js';
export { imageFromConf } from './image/from-conf.js';
export { DockerArchiveSink } from './image/docker-archive.js';
export { streamConf } from './image/stream.js';
export { openImageSource, locateImage } from './source/open.js';
export { selectImage, parsePlatform } from './source/platform.js';
export type { ImageSource, SourceImage, SourceLayer } from './source/model.js';
export { inspectImage, type Inspection } from './image/inspect.js';
export { verifyImage } from './image/verify.js';
export { buildReport, type Report, type ReportInput } from './report/model.js';
export { reportToText } from './report/text.js';
export { reportToMarkdown } from './report/markdown.js';
export { reportToHtml } from './report/html.js';
export { diffImages, diffToText, type Diff } from './report/diff.js';
export { StrataError, ExitCode } from './errors.js';

// The pure functions behind the commands, for callers that need one step
// (and for the unit tests, which import strata only through this entry).
export { autoLayers } from './plan/auto.js';
export { sizeLayers } from './plan/size.js';
export { sharedLayers } from './plan/shared.js';
export { dependents, rehash, renamed, simulate, simulationToText, topLevel } from './plan/simulate.js';
export { humanSize } from './plan/plan-file.js';
export { squarify } from './report/treemap.js';
export { type ProgressState, estimatedTotal, formatDuration, formatProgress, initialState, shortLabel } from './progress.js';
export { isoformat, nowIsoTime, parseIsoTime, unixSeconds } from './util/isotime.js';
export { dumpPyJson, fromPy, parsePyJson, PyFloat, PyInt, type PyObject, type PyValue, toPy } from './util/pyjson.js';
export { pyRepr } from './util/pyrepr.js';
export { TarType, encodeHeader, tarHeader } from './tar/header.js';
export { indexTar } from './tar/reader.js';
export { nixString } from './render/nix.js';
export { schemeString } from './render/guix.js';
