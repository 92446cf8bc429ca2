/**
 * --to docker-daemon: straight into a running engine through the Docker
 * Engine API: a real dockerd and podman's Docker-compatible service, each
 * started for this file. The second image shares the first one's store
 * layers, which the engine then holds: they are not sent again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strata } from '../helpers/cli.js';
import { TestDockerd, TestPodmanService } from '../helpers/engines.js';
import { buildFixture, nixEnv, queryRequisites, tmpDir } from '../helpers/store.js';

const HELLO = 'hello from strata\nthe data says hi\n';
const GREETING = 'greetings from the top layer\n';

interface Load {
  engine: string;
  loaded: string[];
  layers: { sent: number; skipped: number };
  bytes: { sent: number; skipped: number };
  resent: boolean;
}

describe('--to docker-daemon: sends only the layers the engine lacks', () => {
  let app: string;
  let busybox: string;
  let top: string;
  let dockerd: TestDockerd;
  let podman: TestPodmanService;

  before(async () => {
    app = buildFixture('app');
    busybox = queryRequisites(app).find((p) => p.endsWith('-busybox'))!;
    assert.ok(busybox, 'the app fixture holds busybox');
    top = join(tmpDir('strata-daemon-'), 'top');
    mkdirSync(join(top, 'etc'), { recursive: true });
    writeFileSync(join(top, 'etc', 'greeting'), GREETING);
    [dockerd, podman] = await Promise.all([TestDockerd.start(), TestPodmanService.start()]);
  });

  after(async () => {
    await Promise.all([dockerd?.stop(), podman?.stop()]);
  });

  /** strata image into the engine at `socket`; the load report strata prints on stderr (a JSON line off a terminal). */
  const load = (socket: string, to: string, extra: string[]): Load => {
    const r = strata(['image', app, '--max-layers', '4', '--to', to, ...extra], { env: { ...nixEnv(), DOCKER_HOST: `unix://${socket}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    return JSON.parse(lines[0]!) as Load;
  };

  for (const kind of ['dockerd', 'podman'] as const) {
    test(`${kind}: the first load sends every layer, the second only its own top layer; both run`, () => {
      const engine = kind === 'dockerd' ? dockerd : podman;
      const first = load(engine.socket, 'docker-daemon:daemon/app:one', ['--entrypoint', `${app}/bin/hello`]);
      assert.deepEqual(first.layers, { sent: 3, skipped: 0 });
      assert.equal(first.bytes.skipped, 0);
      assert.equal(first.resent, false);
      assert.match(first.engine, kind === 'dockerd' ? /^Docker Engine / : /^Podman Engine /);
      assert.match(first.loaded.join('\n'), /daemon\/app:one/);

      // The same store layers, a customisation layer on top.
      const second = load(engine.socket, 'docker-daemon:daemon/app:two', ['--customisation', top, '--entrypoint', `${busybox}/bin/cat`, '--entrypoint', '/etc/greeting']);
      assert.deepEqual(second.layers, { sent: 1, skipped: 3 });
      assert.equal(second.resent, false);
      assert.ok(second.bytes.skipped > 0);
      // The archive without the held layers: less than the first, which held them all.
      assert.ok(second.bytes.sent < first.bytes.sent, `${second.bytes.sent} < ${first.bytes.sent}`);
      assert.ok(first.bytes.sent > second.bytes.skipped, `${first.bytes.sent} > ${second.bytes.skipped}`);

      const one = engine.run('daemon/app:one');
      assert.equal(one.stdout, HELLO, one.stderr);
      assert.equal(one.status, 0);
      const two = engine.run('daemon/app:two');
      assert.equal(two.stdout, GREETING, two.stderr);
      assert.equal(two.status, 0);

      // Loaded again: nothing but the archive's frame goes.
      const again = load(engine.socket, 'docker-daemon:daemon/app:one', ['--entrypoint', `${app}/bin/hello`]);
      assert.deepEqual(again.layers, { sent: 0, skipped: 3 });
    });
  }

  test('an engine that is not there, and a DOCKER_HOST strata cannot reach: one line, exit 5 and 2', () => {
    const gone = strata(['image', app, '--to', 'docker-daemon:x:y'], { env: { ...nixEnv(), DOCKER_HOST: `unix://${join(dockerd.dir, 'no-such.sock')}` } });
    assert.equal(gone.status, 5);
    assert.match(gone.stderr, /^strata: docker-daemon unix:\/\/\S+no-such\.sock: cannot reach the engine \(ENOENT\); is the engine running/);
    assert.equal(gone.stderr.trim().split('\n').length, 1);
    const tcp = strata(['image', app, '--to', 'docker-daemon:x:y'], { env: { ...nixEnv(), DOCKER_HOST: 'tcp://127.0.0.1:2375' } });
    assert.equal(tcp.status, 2);
    assert.match(tcp.stderr, /DOCKER_HOST=tcp:\/\/127\.0\.0\.1:2375: strata reaches engines on a unix socket only/);
    const upper = strata(['image', app, '--to', 'docker-daemon:App:1'], { env: { ...nixEnv(), DOCKER_HOST: `unix://${dockerd.socket}` } });
    assert.equal(upper.status, 2);
    assert.match(upper.stderr, /docker-daemon:App:1: expected docker-daemon:NAME\[:TAG\]/);
  });
});
