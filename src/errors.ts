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
  /** A registry refused the push or pull, or could not be reached (after retries). */
  Registry: 5,
  /** The reader of our output went away (SIGPIPE convention). */
  BrokenPipe: 141,
} as const;

/**
 * A failed file operation on `path` (as the user named it) as one line
 * (exit 2); anything that is not a system error is returned as it is.
 */
export function fileError(path: string, e: unknown, doing = 'cannot write'): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (e instanceof StrataError || typeof code !== 'string') return e;
  const hint =
    code === 'ENOENT' ? '; its directory does not exist'
    : code === 'ENOTDIR' ? '; a part of the path is not a directory'
    : code === 'EISDIR' ? '; it is a directory: name a file'
    : code === 'EACCES' || code === 'EPERM' ? '; check the permissions there'
    : code === 'ENOSPC' || code === 'EDQUOT' ? '; the disk is full'
    : code === 'EROFS' ? '; the file system is read-only'
    : '';
  return new StrataError(`${path}: ${doing} (${code})${hint}`);
}
