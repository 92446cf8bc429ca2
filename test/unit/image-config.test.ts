import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, fromPy, parseRuntimeConfig, StrataError, validateImageConfig } from '../../src/index.js';

// The image runtime config checked against the OCI image-spec config schema
// (plus Docker's keys), as `--config JSON` gives it: test/e2e/config-validation.test.ts
// has the command line around it.

const check = (json: string, warn?: (message: string) => void) => validateImageConfig(parseRuntimeConfig(json, '--config'), { warn });

test('every wrong type is a one-line error naming the key path', () => {
  const cases: [string, string][] = [
    ['{"User": 0}', 'config.User must be a string'],
    ['{"ExposedPorts": {"80/tcp": 1}}', 'config.ExposedPorts["80/tcp"] must be an object ({})'],
    ['{"ExposedPorts": {"http": {}}}', 'config.ExposedPorts: "http" is not a port; write PORT[/PROTO] such as "80/tcp" (PROTO tcp, udp or sctp)'],
    ['{"ExposedPorts": ["80", "80/icmp"]}', 'config.ExposedPorts[1]: "80/icmp" is not a port; write PORT[/PROTO] such as "80/tcp" (PROTO tcp, udp or sctp)'],
    ['{"ExposedPorts": [80]}', 'config.ExposedPorts[0] must be a string'],
    ['{"ExposedPorts": "80/tcp"}', 'config.ExposedPorts must be an object of ports to {} (or a list of ports)'],
    ['{"Env": "A=1"}', 'config.Env must be a list of "KEY=VALUE" strings'],
    ['{"Env": ["A=1", 2]}', 'config.Env[1] must be a string'],
    ['{"Env": ["A=1", "B"]}', 'config.Env[1] "B" must be KEY=VALUE'],
    ['{"Entrypoint": {"a": 1}}', 'config.Entrypoint must be a list of strings (or a single string, or null)'],
    ['{"Cmd": ["/bin/sh", 1]}', 'config.Cmd[1] must be a string'],
    ['{"Volumes": {"/data": true}}', 'config.Volumes["/data"] must be an object ({})'],
    ['{"Volumes": [""]}', 'config.Volumes[0]: an empty path; write a path in the image such as "/data"'],
    ['{"Volumes": 1}', 'config.Volumes must be an object of paths to {} (or a list of paths)'],
    ['{"WorkingDir": ["/"]}', 'config.WorkingDir must be a string'],
    ['{"Labels": ["a=b"]}', 'config.Labels must be an object of strings (or null)'],
    ['{"Labels": {"version": 2}}', 'config.Labels["version"] must be a string'],
    ['{"StopSignal": 15}', 'config.StopSignal must be a string'],
    ['{"ArgsEscaped": "true"}', 'config.ArgsEscaped must be true or false'],
    ['{"Healthcheck": []}', 'config.Healthcheck must be an object'],
    ['{"Healthcheck": {"Test": "curl -f localhost"}}', 'config.Healthcheck.Test must be a list of strings such as ["CMD", "/bin/check"]'],
    ['{"Healthcheck": {"Test": ["curl", "-f"]}}', 'config.Healthcheck.Test[0] must be "CMD", "CMD-SHELL" or "NONE"'],
    ['{"Healthcheck": {"Interval": "30s"}}', 'config.Healthcheck.Interval must be a non-negative integer'],
    ['{"Healthcheck": {"Timeout": -1}}', 'config.Healthcheck.Timeout must be a non-negative integer'],
    ['{"Healthcheck": {"StartPeriod": 1.5}}', 'config.Healthcheck.StartPeriod must be a non-negative integer'],
    ['{"Healthcheck": {"StartInterval": null}}', 'config.Healthcheck.StartInterval must be a non-negative integer'],
    ['{"Healthcheck": {"Retries": "3"}}', 'config.Healthcheck.Retries must be a non-negative integer'],
    ['{"OnBuild": "RUN x"}', 'config.OnBuild must be a list of strings (or null)'],
    ['{"Memory": "1g"}', 'config.Memory must be an integer'],
    ['{"MemorySwap": 1.0}', 'config.MemorySwap must be an integer'],
    ['{"CpuShares": 9223372036854775808}', 'config.CpuShares must be an integer'],
    ['{"Shell": "/bin/sh"}', 'config.Shell must be a list of strings'],
    ['{"StopTimeout": "10"}', 'config.StopTimeout must be an integer'],
    ['{"Tty": 1}', 'config.Tty must be true or false'],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => check(config), (e: unknown) => e instanceof StrataError && e.message === message && e.exitCode === ExitCode.BadInput && !message.includes('\n'), config);
  }
});

test('the input named in front of the message, when given', () => {
  assert.throws(() => validateImageConfig(parseRuntimeConfig('{"Labels": {"a": 1}}', 'conf.json'), { source: 'conf.json' }), { message: 'conf.json: config.Labels["a"] must be a string' });
});

test('unknown keys: one warning, kept as they are', () => {
  const warnings: string[] = [];
  const checked = check('{"entrypoint": ["/x"], "Healthcheck": {"Test": ["NONE"], "Foo": 1}, "X-Custom": [1.5]}', (m) => warnings.push(m));
  assert.deepEqual(warnings, ['keys not in the OCI image config, kept as they are: config.entrypoint (did you mean Entrypoint?), config.Healthcheck.Foo, config.X-Custom']);
  assert.deepEqual([...checked.keys()], ['entrypoint', 'Healthcheck', 'X-Custom']);
});

test('list forms become the object forms, a single-string Cmd a one-element list; key order kept', () => {
  const checked = check('{"User": "app", "Cmd": "/bin/hello", "ExposedPorts": ["80", "53/udp", "8000-8010/tcp"], "Volumes": ["/data", "/cache"]}');
  assert.deepEqual(fromPy(checked), { User: 'app', Cmd: ['/bin/hello'], ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000-8010/tcp': {} }, Volumes: { '/data': {}, '/cache': {} } });
  assert.deepEqual([...checked.keys()], ['User', 'Cmd', 'ExposedPorts', 'Volumes']);
});
