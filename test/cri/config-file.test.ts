import test from 'ava';
import { parseContainerConfig, parsePodConfig } from '../../cri/config-file.ts';
import type { CriError } from '../../cri/errors.ts';

test('crictl-style JSON with snake_case fields; map keys are kept as written', (t) => {
  const pod = parsePodConfig(
    JSON.stringify({
      metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 1 },
      log_directory: '/var/log/pods/web',
      labels: { 'app.kubernetes.io/name': 'web', some_label: 'x' },
      port_mappings: [{ protocol: 'UDP', container_port: 53, host_port: 5353 }],
      linux: { cgroup_parent: '/bosun', security_context: { namespace_options: { network: 2 } } },
    }),
    'pod.json',
  );
  t.is(pod.logDirectory, '/var/log/pods/web');
  t.deepEqual(pod.labels, { 'app.kubernetes.io/name': 'web', some_label: 'x' });
  t.deepEqual(pod.portMappings, [{ protocol: 'UDP', containerPort: 53, hostPort: 5353 }]);
  t.is(pod.linux?.cgroupParent, '/bosun');
  t.is(pod.linux?.securityContext?.namespaceOptions?.network, 'NODE');
});

test('YAML container config with camelCase fields', (t) => {
  const config = parseContainerConfig(
    'metadata:\n  name: main\nimage:\n  image: localhost/bosun/busybox:1.35\ncommand: [sh, -c, "echo hi"]\nenvs:\n  - key: A\n    value: "1"\nlogPath: main.log\n',
    'container.yaml',
  );
  t.deepEqual(config.command, ['sh', '-c', 'echo hi']);
  t.deepEqual(config.envs, [{ key: 'A', value: '1' }]);
  t.is(config.logPath, 'main.log');
});

test('unknown fields, wrong shapes and missing essentials are refused with where they are', (t) => {
  const code = (f: () => unknown) => t.throws(f) as CriError;
  t.regex(
    code(() =>
      parsePodConfig('{"metadata":{"name":"a","namespace":"b","uid":"c"},"linux":{"cgroup_parnet":"/x"}}', 'p.json'),
    ).message,
    /unknown field "linux.cgroup_parnet"/,
  );
  t.regex(
    code(() => parsePodConfig('{"metadata":{"name":"a"}}', 'p.json')).message,
    /metadata needs name, namespace and uid/,
  );
  t.regex(code(() => parseContainerConfig('{"metadata":{"name":"a"}}', 'c.json')).message, /image.image is required/);
  t.regex(
    code(() => parseContainerConfig('{"metadata":{"name":"a"},"image":{"image":"x"},"envs":{"k":"v"}}', 'c.json'))
      .message,
    /envs must be a list/,
  );
  t.is(code(() => parseContainerConfig('{ not json: [', 'c.json')).code, 'BOSUN_CRI_INVALID_ARGUMENT');
});

test('enum values must be names or numbers the schema knows', (t) => {
  const err = t.throws(() =>
    parsePodConfig(
      '{"metadata":{"name":"a","namespace":"b","uid":"c"},"port_mappings":[{"protocol":"ICMP"}]}',
      'p.json',
    ),
  );
  t.regex(err!.message, /"ICMP" is not one of TCP, UDP, SCTP/);
});
