// The planners' names and defaults, apart from the planners: the CLI's
// options name them for every command, and loading this costs nothing.

export const STRATEGIES = ['popularity', 'auto', 'size', 'shared'] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** strata's own, the one the fleet simulator measures against the others. `popularity` is for byte-compatible drop-in use. */
export const DEFAULT_STRATEGY: Strategy = 'shared';

/** Every layer of the image, the customisation layer included (nixpkgs' maxLayers). */
export const DEFAULT_MAX_LAYERS = 100;
