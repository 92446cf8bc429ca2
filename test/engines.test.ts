/**
 * strata's outputs loaded and run by the real engines: dockerd, containerd
 * and podman (with runc), each started for this file and stopped after it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { strataOk } from './helpers/cli.js';
import { PODMAN_RUN_FLAGS, podmanRun, TestContainerd, TestDockerd } from './helpers/engines.js';
import { buildFixture, podman, tmpDir } from './helpers/store.js';

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
    const image = (name: string, ...args: string[]): void => {
      strataOk(['image', app, '--name', 'engines', '--tag', name, '--entrypoint', `${app}/bin/hello`, '--max-layers', '4', ...args]);
    };
    archives.docker = join(work, 'app.tar');
    image('docker', '-o', archives.docker);
    archives.ociGzip = join(work, 'app-gzip.oci.tar');
    image('oci-gzip', '--to', `oci-archive:${archives.ociGzip}:oci-gzip`, '--compression', 'gzip');
    archives.ociZstd = join(work, 'app-zstd.oci.tar');
    image('oci-zstd', '--to', `oci-archive:${archives.ociZstd}:oci-zstd`, '--compression', 'zstd');
    [dockerd, containerd] = await Promise.all([TestDockerd.start(), TestContainerd.start()]);
  });

  after(async () => {
    await Promise.all([dockerd?.stop(), containerd?.stop()]);
  });

  test('docker loads the docker-archive and runs its entrypoint', () => {
    const name = dockerd.load(archives.docker!);
    assert.equal(name, 'engines:docker');
    const run = dockerd.run(name);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, HELLO);
    assert.equal(run.status, 0);
  });

  test('containerd imports the docker-archive and the OCI archives (gzip, zstd) and runs them', () => {
    for (const [archive, tag] of [[archives.docker!, 'engines:docker'], [archives.ociGzip!, 'oci-gzip'], [archives.ociZstd!, 'oci-zstd']] as const) {
      const extra = archive === archives.docker ? [] : ['--base-name', 'engines'];
      const names = containerd.import(archive, extra);
      assert.equal(names.length, 1, `${archive}: ${names.join(', ')}`);
      assert.ok(names[0]!.endsWith(tag), `${names[0]} ends with ${tag}`);
      const run = containerd.run(names[0]!);
      assert.equal(run.stdout, HELLO, `${archive}: ${run.stderr}`);
      assert.equal(run.status, 0);
    }
  });

  test('podman (runc) loads the docker-archive and the OCI archives and runs them', () => {
    for (const [archive, transport] of [[archives.docker!, 'docker-archive'], [archives.ociGzip!, 'oci-archive'], [archives.ociZstd!, 'oci-archive']] as const) {
      const ref = `localhost/engines:${transport}-${archive.endsWith('zstd.oci.tar') ? 'zstd' : 'plain'}`;
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
