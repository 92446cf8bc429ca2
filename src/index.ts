// strata as a library: closure -> plan -> conf -> image -> sink.
export * from './closure/types.js';
export { loadClosure, type ClosureSource } from './closure/load.js';
export { readGraphFile } from './closure/graph-file.js';
export { queryNixClosure } from './closure/nix.js';
export { narSize } from './closure/nar-size.js';
export { parseRegistration } from './closure/registration.js';
export { popularityOrder } from './plan/popularity.js';
export * from './plan/plan.js';
export * from './conf/conf.js';
export { confFromPlan, type ConfOptions } from './conf/from-plan.js';
export type { Image, ImageSink, Layer } from './image/model.js';
export { imageFromConf } from './image/from-conf.js';
export { DockerArchiveSink } from './image/docker-archive.js';
export { streamConf } from './image/stream.js';
export { StrataError, ExitCode } from './errors.js';
