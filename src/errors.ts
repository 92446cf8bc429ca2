/**
 * Errors a user can act on. The message is one line that names the input at
 * fault and, where there is one, the fix; the CLI prints it as is and exits
 * with `exitCode`.
 */
export class StrataError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.BadInput,
  ) {
    super(message);
    this.name = 'StrataError';
  }
}

/** Exit codes, documented in README.md. */
export const ExitCode = {
  Ok: 0,
  /** Unexpected failure: a bug in strata. */
  Internal: 1,
  /** Bad command line, conf, graph file or image input. */
  BadInput: 2,
  /** The store or a tool strata runs failed (nix-store, guix). */
  Store: 3,
  /** Files changed while strata read them, or a digest did not match. */
  Integrity: 4,
  /** A registry refused the push, or could not be reached (after retries). */
  Registry: 5,
  /** The reader of our output went away (SIGPIPE convention). */
  BrokenPipe: 141,
} as const;
