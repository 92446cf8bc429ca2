import { chmodSync, closeSync, ftruncateSync, linkSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from './store.js';

/**
 * Trees that trip tar writers, made in `store`, a plain directory used as
 * the store (it can hold what a Nix store cannot: FIFOs, devices, setuid
 * bits): long, deep, non-UTF-8 names, hard and symbolic links, odd modes,
 * special files, 3000 small files (`root`); a small path and a symlink to
 * it as a store path of its own.
 */
export function hardTree(store: string): { root: string; small: string; linkPath: string } {
  const root = join(store, 'hhhh-hard');
  const deep = join(root, 'deep', ...Array.from({ length: 12 }, (_, i) => `level-${i}-${'d'.repeat(20)}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-at-the-bottom'), 'deep\n');
  const names = ['n'.repeat(100), 'm'.repeat(101), 'x'.repeat(255), 'with space', 'new\nline', 'back\\slash', 'café', '日本語', 'emoji-😀', 'quote\'s "both"'];
  mkdirSync(join(root, 'names'));
  for (const n of names) writeFileSync(join(root, 'names', n), `${n}\n`);
  // A name that is not UTF-8 at all: the bytes f, 0xff, 0xfe.
  writeFileSync(Buffer.concat([Buffer.from(join(root, 'names') + '/f'), Buffer.from([0xff, 0xfe])]), 'latin junk\n');
  writeFileSync(join(root, 'hard-a'), 'linked\n');
  linkSync(join(root, 'hard-a'), join(root, 'hard-b'));
  symlinkSync('t'.repeat(300), join(root, 'long-target'));
  symlinkSync('../deep', join(root, 'relative-link'));
  mkdirSync(join(root, 'empty-dir'));
  writeFileSync(join(root, 'empty-file'), '');
  writeFileSync(join(root, 'setuid'), '#!/bin/sh\n');
  chmodSync(join(root, 'setuid'), 0o4755);
  writeFileSync(join(root, 'setgid'), '');
  chmodSync(join(root, 'setgid'), 0o2711);
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  mkdirSync(join(root, 'read-only'));
  writeFileSync(join(root, 'read-only', 'inside'), 'ro\n');
  chmodSync(join(root, 'read-only'), 0o555);
  runTool('mkfifo', [join(root, 'fifo')]);
  runTool('mknod', [join(root, 'null-device'), 'c', '1', '3']);
  mkdirSync(join(root, 'many'));
  for (let i = 0; i < 3000; i++) writeFileSync(join(root, 'many', `f${i}`), `${i}`);
  const small = join(store, 'aaaa-small');
  mkdirSync(small);
  writeFileSync(join(small, 'x'), 'x');
  const linkPath = join(store, 'llll-store-path-symlink');
  symlinkSync(small, linkPath);
  return { root, small, linkPath };
}

/** A store path holding one sparse file of 8 GiB + 1 byte: too big for ustar's size field. */
export function bigSparseTree(store: string): string {
  const root = join(store, 'bbbb-big');
  mkdirSync(root);
  const fd = openSync(join(root, 'sparse'), 'w');
  ftruncateSync(fd, 8 * 1024 ** 3 + 1);
  closeSync(fd);
  return root;
}
