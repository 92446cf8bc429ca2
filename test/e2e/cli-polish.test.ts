import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, strata, strataOk } from '../helpers/cli.js';
import { TestRegistry, freePort } from '../helpers/registry.js';
import { REPO_ROOT, buildFixture, nixEnv, tmpDir } from '../helpers/store.js';

const APP = (): string => buildFixture('app');

/** The number of layers `image APP --max-layers 4` writes (no customisation layer: the store layers). */
function layerCount(): number {
  return (JSON.parse(strataOk(['plan', APP(), '--max-layers', '4', '--format', 'json']).stdout) as { layers: unknown[] }).layers.length;
}

/** Run strata with stdin, stdout and stderr on a pseudo-terminal (util-linux script); what the terminal got. */
function onTerminal(args: string[]): { output: string; status: number | null } {
  const command = ['node', CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // A terminal wide enough for the whole line (script's own has no size).
  const r = spawnSync('script', ['-qfec', `stty cols 200; exec ${command}`, '/dev/null'], { env: nixEnv(), encoding: 'utf8' });
  return { output: r.stdout, status: r.status };
}

test('on a terminal, image draws a progress line redrawn in place, ending at the last layer and 100%', () => {
  const n = layerCount();
  assert.ok(n >= 2, `${n} layers`);
  for (const to of [`oci:${tmpDir('polish-oci')}/layout:1`, `docker-archive:${tmpDir('polish-archive')}/app.tar`]) {
    const { output, status } = onTerminal(['image', APP(), '--max-layers', '4', '--no-cache', '--to', to]);
    assert.equal(status, 0, output);
    // Each redraw starts at the line's beginning and clears what an older, longer line left.
    const draws = output.split('\r').filter((d) => d.startsWith('layer '));
    assert.ok(draws.length >= 1, JSON.stringify(output));
    const last = draws[draws.length - 1]!;
    assert.match(last, new RegExp(`^layer ${n}/${n} \\[#{20}\\] 100% (\\d+\\.\\d) (KiB|MiB)/\\1 \\2 [\\d.]+ (B|KiB|MiB|GiB)/s in \\d+:\\d\\d [a-z]`), JSON.stringify(last));
    assert.doesNotMatch(last, /\/nix\/store/, 'store paths shortened to their names');
    assert.ok(output.endsWith('\x1b[K\r\n'), 'the last line is kept, with a newline');
    strataOk(['verify', to]);
  }
});

test('on a terminal, push keeps its per-blob lines whole above the progress line', async () => {
  const n = layerCount();
  const layout = `oci:${tmpDir('polish-push')}/layout:1`;
  strataOk(['image', APP(), '--max-layers', '4', '--to', layout]);
  const registry = await TestRegistry.start();
  try {
    const { output, status } = onTerminal(['push', layout, `docker://${registry.host}/app:1`]);
    assert.equal(status, 0, output);
    const lines = output.split('\r\n');
    for (let i = 1; i <= n; i++) {
      // The progress line is cleared (\r, erase to the end) before each blob's line, which stands alone.
      assert.ok(lines.some((l) => new RegExp(`(^|\r\x1b\\[K)layer ${i}/${n} sha256:[0-9a-f]{12}: pushed, \\d+ bytes$`).test(l)), `layer ${i}: ${JSON.stringify(output)}`);
    }
    assert.match(output, new RegExp(`\rlayer ${n}/${n} \\[#{20}\\] 100% `));
    assert.match(output, /(\r\n|\r\x1b\[K)docker:\/\/127\.0\.0\.1:\d+\/app:1: \d+ bytes sent/);
    // The digest (stdout, the same terminal) on a line of its own too.
    assert.match(output, /(^|\r\n|\r\x1b\[K)sha256:[0-9a-f]{64}\r\n/);
  } finally {
    await registry.stop();
  }
});

test('off a terminal, stream and image print nothing at all on stderr', () => {
  const dir = tmpDir('polish-quiet');
  const r = strata(['image', APP(), '--max-layers', '4', '--no-cache', '--to', `oci:${dir}/layout:1`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '');
  const conf = join(dir, 'conf.json');
  writeFileSync(conf, strataOk(['conf', APP(), '--max-layers', '4']).stdout);
  const streamed = strata(['stream', conf, '--no-cache']);
  assert.equal(streamed.status, 0, streamed.stderr);
  assert.equal(streamed.stderr, '');
  assert.ok(streamed.stdoutBytes.length > 10240);
});

test('--json on image, stream and verify: one JSON document on stdout naming what was written', () => {
  const dir = tmpDir('polish-json');
  const layout = `oci:${dir}/layout:1`;
  const r = strata(['image', APP(), '--max-layers', '4', '--to', layout, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const written = JSON.parse(r.stdout);
  const inspected = JSON.parse(strataOk(['inspect', layout, '--json']).stdout);
  assert.equal(written.destination, layout);
  assert.equal(written.images.length, 1);
  assert.deepEqual(written.images[0], inspected);
  assert.equal(written.images[0].layers.length, layerCount());
  assert.match(written.images[0].manifest.digest, /^sha256:[0-9a-f]{64}$/);

  const conf = join(dir, 'conf.json');
  writeFileSync(conf, strataOk(['conf', APP(), '--max-layers', '4']).stdout);
  const archive = join(dir, 'app.tar');
  const streamed = JSON.parse(strataOk(['stream', conf, '-o', archive, '--json']).stdout);
  assert.equal(streamed.images[0].format, 'docker-archive');
  assert.equal(streamed.images[0].config.digest, inspected.config.digest);
  assert.equal(streamed.images[0].total.size + streamed.images[0].config.size < statSync(archive).size, true);

  assert.deepEqual(JSON.parse(strataOk(['verify', layout, '--json']).stdout), { image: layout, layers: layerCount() });
  // Standard output holds the image: no room for JSON.
  const refused = strata(['stream', conf, '--json']);
  assert.equal(refused.status, 2);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /^strata: --json: standard output holds the image; write it with -o FILE or --to DEST, or drop --json\n$/);
});

test('bash completion: the script strata completion prints completes commands and options', () => {
  const script = strataOk(['completion']).stdout;
  assert.match(script, /^complete -o bashdefault -o default -F _strata_yargs_completions strata$/m);
  // The script runs `strata`: put one on PATH, then complete as bash would.
  const bin = tmpDir('polish-bin');
  writeFileSync(join(bin, 'strata'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
  chmodSync(join(bin, 'strata'), 0o755);
  const complete = (...words: string[]): string[] => {
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _strata_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  assert.deepEqual(complete('strata', 'im'), ['image']);
  const commands = complete('strata', '');
  for (const c of ['closure', 'plan', 'conf', 'stream', 'image', 'render', 'simulate', 'inspect', 'verify', 'push', 'completion']) assert.ok(commands.includes(c), `${c} in ${commands}`);
  assert.deepEqual(complete('strata', 'image', '--max-l'), ['--max-layers']);
});

test('--version prints the version in package.json, from any directory', () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = spawnSync(process.execPath, [CLI, '--version'], { cwd: tmpDir('polish-cwd'), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${version}\n`);
});

test('exit codes by class: bad input 2, store 3, integrity 4, registry 5, each with one line on stderr', async () => {
  const dir = tmpDir('polish-exit');
  const layout = join(dir, 'layout');
  strataOk(['image', APP(), '--max-layers', '4', '--to', `oci:${layout}:1`]);
  // Damage the largest blob (a layer): one byte changed, size kept.
  const blobs = join(layout, 'blobs', 'sha256');
  const largest = readdirSync(blobs).map((b) => join(blobs, b)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const bytes = readFileSync(largest);
  bytes[600] = bytes[600]! ^ 0xff;
  const damaged = join(dir, 'damaged');
  spawnSync('cp', ['-r', layout, damaged]);
  writeFileSync(join(damaged, 'blobs', 'sha256', largest.split('/').pop()!), bytes);

  const cases: [number, string[], NodeJS.ProcessEnv?][] = [
    [2, ['stream', join(dir, 'missing.json')]],
    [2, ['closure', dir]],
    [3, ['closure', APP()], { ...nixEnv(), PATH: '/nonexistent' }],
    [4, ['verify', `oci:${damaged}:1`]],
    [5, ['push', `oci:${layout}:1`, `docker://127.0.0.1:${await freePort()}/app:1`, '--retry-times', '0']],
  ];
  for (const [code, args, env] of cases) {
    const r = strata(args, { env });
    assert.equal(r.status, code, `strata ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^strata: [^\n]+\n$/, `strata ${args.join(' ')}`);
  }
});
