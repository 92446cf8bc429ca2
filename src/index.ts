// strata as a library: closure -> plan -> conf -> image -> destination.
// Each command of the CLI calls one of the functions below with the options
// object exported beside it.
export * from './closure/types.js';
export { loadClosure, type ClosureSource } from './closure/stores/table.js';
export { readGraphFile } from './closure/stores/graph-file/graph-file.js';
export { queryNixClosure } from './closure/stores/nix/nix-store.js';
export { narSize } from './closure/nar-size.js';
export { parseRegistration } from './closure/registration.js';
export { popularityOrder, tieKey } from './plan/popularity.js';
export * from './plan/plan.js';
export { type Pipeline, pipelineLayers, readPipeline } from './plan/pipeline.js';
export { planToJson, planToText, readPlanFile } from './plan/plan-file.js';
export { simulate, simulationToText, type SimImage, type Simulation } from './plan/simulate.js';
export { simulateFleet, simulateFleetReleases, type SimulateFleetOptions, type SimulateReleasesOptions } from './plan/simulate-fleet.js';
export * from './conf/conf.js';
export { confFromPlan, type ConfOptions } from './conf/from-plan.js';
export { validateImageConfig, type ImageConfigOptions } from './conf/runtime-config.js';
export { parsePerms, type PermRule } from './layer/perms.js';
export type { Blob, Bytes, Descriptor, Image, ImageSink, Layer, Platform } from './model/image.js';
export * from './model/media-types.js';
export { digestOf, sha256Digest } from './model/digest.js';
export { planImage, type PlanImageOptions, type PlanningOptions } from './build/plan-image.js';
export { makeConf, type MakeConfOptions } from './build/make-conf.js';
export { imageFromConf, type ConfImageOptions } from './build/from-conf.js';
export { buildImage, streamConf, streamConfFiles, writeConfs, writeImage, writeIndex, type BuildImageOptions, type StreamOptions, type WriteOptions, type WrittenImages } from './build/write.js';
export { pushImage, type PushOptions } from './build/push.js';
export { pullImage, type PullOptions, type Pulled } from './build/pull.js';
export { exportImage, type ExportOptions } from './build/flatten.js';
export { mergeImages, type MergeOptions } from './build/merge.js';
export { closureSbom, sourceImageSbom, type ImageSbomOptions, type SbomOptions } from './build/sbom.js';
export { openDestination, openImageSource, locateImage, type SinkOptions, type SourceOptions } from './formats/table.js';
export { DockerArchiveSink, type DockerArchiveOptions } from './formats/docker-archive/writer.js';
export { selectImage, parsePlatform } from './image/platform.js';
export type { ImageSource, SourceImage, SourceLayer } from './image/source.js';
export { inspectImage, inspectImages, inspectSource, inspectionText, type InspectOptions, type Inspection } from './inspect/inspect.js';
export { verifyImage, verifySource, type VerifyOptions } from './inspect/verify.js';
export { diffImages, diffToText, type Diff, type DiffOptions } from './inspect/diff.js';
export { buildReport, type Report, type ReportInput } from './report/model.js';
export { reportImages, type ReportOptions } from './report/report-images.js';
export { reportToText } from './report/text.js';
export { reportToMarkdown } from './report/markdown.js';
export { reportToHtml } from './report/html.js';
export { renderNixImage, nixString, contentsEntry, type NixImageSpec } from './render/nix.js';
export { renderGuixImage, schemeString, schemeStringList, type GuixImageSpec } from './render/guix.js';
export { StrataError, ExitCode } from './errors.js';

// The pure functions behind the commands, for callers that need one step
// (and for the unit tests, which import strata only through this entry).
export { autoLayers } from './plan/auto.js';
export { sizeLayers } from './plan/size.js';
export { sharedLayers } from './plan/shared.js';
export { dependents, rehash, renamed, topLevel } from './plan/simulate.js';
export { humanSize } from './util/text.js';
export { squarify } from './report/treemap.js';
export { type ProgressState, estimatedTotal, formatDuration, formatProgress, initialState, shortLabel } from './progress.js';
export { isoformat, nowIsoTime, parseIsoTime, unixSeconds } from './util/isotime.js';
export { dumpPyJson, fromPy, parsePyJson, PyFloat, PyInt, type PyObject, type PyValue, toPy } from './util/pyjson.js';
export { pyRepr } from './util/pyrepr.js';
export { TarType, encodeHeader, tarHeader } from './tar/header.js';
export { indexTar } from './tar/reader.js';
