import { execFileSync } from 'node:child_process';

/** Whether a python3 is on PATH (the oracle for Python-compatible output). */
export const hasPython = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Run a python3 program with `input` as JSON on stdin; it prints its answer as JSON. */
export function python(program: string, input: unknown): unknown {
  // ASCII only, so that Python's stdin encoding does not matter.
  const json = JSON.stringify(input).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  return JSON.parse(execFileSync('python3', ['-c', program], { input: json, encoding: 'utf8', maxBuffer: 1 << 28 }));
}
