import { ExitCode, StrataError } from '../errors.js';

/**
 * Run a store's command-line tool (nix-store, guix) and return its output;
 * a missing tool or a failure becomes one line naming the tool and, for a
 * missing one, `missing` (how to get it or do without).
 */
export async function runStoreTool(tool: string, args: string[], what: string, missing: string): Promise<string> {
  try {
    // Loaded on use: execa costs a tenth of a second at start-up.
    const { execa } = await import('execa');
    const { stdout } = await execa(tool, args, { maxBuffer: 1 << 30, stripFinalNewline: false });
    return stdout;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; shortMessage?: string };
    if (err.code === 'ENOENT') throw new StrataError(`${tool} not found: ${missing}`, ExitCode.Store);
    const reason = (err.stderr ?? err.shortMessage ?? String(e)).trim().split('\n').pop();
    throw new StrataError(`${tool} ${what} failed: ${reason}`, ExitCode.Store);
  }
}
