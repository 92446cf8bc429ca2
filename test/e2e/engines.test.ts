/**
 * strata's outputs loaded and run by the real engines: dockerd, containerd
 * and podman (with runc), each started for this file and stopped after it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strataOk } from '../helpers/cli.js';
import { PODMAN_RUN_FLAGS, podmanRun, TestContainerd, TestDockerd } from '../helpers/engines.js';
import { buildFixture, podman, tmpDir } from '../helpers/store.js';

const HELLO = 'hello from strata\nthe data says hi\n';

describe('real engines load and run strata images', () => {
  let app: string;
  let work: string;
  let dockerd: TestDockerd;
  let containerd: TestContainerd;
  const archives: Record<string, string> = {};

  before(async () => {
    app = buildFixture('app');
    work = tmpDir('strata-engines-');
    const image = (name: string, ...args: string[]): Buffer =>
      strataOk(['image', app, '--name', 'engines', '--tag', name, '--entrypoint', `${app}/bin/hello`, '--max-layers', '4', ...args]).stdoutBytes;
    archives.docker = join(work, 'app.tar');
    image('docker', '-o', archives.docker);
    // To a pipe: layers named by their inputs, the header ahead of the content.
    archives.pipe = join(work, 'app-pipe.tar');
    writeFileSync(archives.pipe, image('pipe'));
    archives.ociGzip = join(work, 'app-gzip.oci.tar');
    image('oci-gzip', '--to', `oci-archive:${archives.ociGzip}:oci-gzip`, '--compression', 'gzip');
    archives.ociZstd = join(work, 'app-zstd.oci.tar');
    image('oci-zstd', '--to', `oci-archive:${archives.ociZstd}:oci-zstd`, '--compression', 'zstd');
    [dockerd, containerd] = await Promise.all([TestDockerd.start(), TestContainerd.start()]);
  });

  after(async () => {
    await Promise.all([dockerd?.stop(), containerd?.stop()]);
  });

  test('docker loads the docker-archive (written to a file, and to a pipe) and runs its entrypoint', () => {
    for (const [archive, tag] of [[archives.docker!, 'docker'], [archives.pipe!, 'pipe']] as const) {
      const name = dockerd.load(archive);
      assert.equal(name, `engines:${tag}`);
      const run = dockerd.run(name);
      assert.equal(run.stderr, '');
      assert.equal(run.stdout, HELLO);
      assert.equal(run.status, 0);
    }
    // The same image either way: only the layer members' names differ.
    const id = (tag: string): string => dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', `engines:${tag}`]).stdout.trim();
    assert.match(id('pipe'), /^sha256:[0-9a-f]{64}$/);
    assert.equal(id('pipe'), id('docker'));
  });

  test('containerd imports the docker-archive and the OCI archives (gzip, zstd) and runs them', () => {
    for (const [archive, tag] of [[archives.docker!, 'engines:docker'], [archives.pipe!, 'engines:pipe'], [archives.ociGzip!, 'oci-gzip'], [archives.ociZstd!, 'oci-zstd']] as const) {
      const extra = archive === archives.docker || archive === archives.pipe ? [] : ['--base-name', 'engines'];
      const names = containerd.import(archive, extra);
      assert.equal(names.length, 1, `${archive}: ${names.join(', ')}`);
      assert.ok(names[0]!.endsWith(tag), `${names[0]} ends with ${tag}`);
      const run = containerd.run(names[0]!);
      assert.equal(run.stdout, HELLO, `${archive}: ${run.stderr}`);
      assert.equal(run.status, 0);
    }
  });

  test('podman (runc) loads the docker-archive and the OCI archives and runs them', () => {
    for (const [archive, transport] of [[archives.docker!, 'docker-archive'], [archives.pipe!, 'docker-archive'], [archives.ociGzip!, 'oci-archive'], [archives.ociZstd!, 'oci-archive']] as const) {
      const ref = `localhost/engines:${transport}-${archive.endsWith('zstd.oci.tar') ? 'zstd' : archive === archives.pipe ? 'pipe' : 'plain'}`;
      // `pull -q` prints the image's ID alone.
      const id = podman(['pull', '-q', `${transport}:${archive}`]).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      podman(['tag', id, ref]);
      const run = podmanRun(ref);
      assert.equal(run.stdout, HELLO, `${archive} (${PODMAN_RUN_FLAGS.join(' ')}): ${run.stderr}`);
      assert.equal(run.status, 0);
    }
  });
});
