/**
 * A store name split as Nix's `builtins.parseDrvName` splits it: the name is
 * everything before the first dash not followed by a letter, the version
 * everything after that dash (empty when there is none).
 */
export function parseDrvName(text: string): { name: string; version: string } {
  for (let i = 0; i + 1 < text.length; i++) {
    if (text[i] === '-' && !/[A-Za-z]/.test(text[i + 1]!)) return { name: text.slice(0, i), version: text.slice(i + 1) };
  }
  return { name: text, version: '' };
}
