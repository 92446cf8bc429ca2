import { open, stat } from 'node:fs/promises';

/** True for a regular file whose first non-blank character is `{` (a JSON object, not an image archive). */
export async function startsWithBrace(name: string): Promise<boolean> {
  const st = await stat(name).catch(() => undefined);
  if (!st?.isFile()) return false;
  const handle = await open(name, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    return buffer.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('{');
  } finally {
    await handle.close();
  }
}
