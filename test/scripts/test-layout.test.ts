import test from 'ava';
import { testLayoutFinding } from '../../scripts/test-layout.ts';

const sources = new Set(['agent', 'cri', 'controlplane', 'kube']);

test('a test under the folder of its source, or of a cross-cutting kind, is in place', (t) => {
  for (const path of [
    'test/cri/client.test.ts',
    'test/controlplane/api/semantics.test.ts',
    'test/e2e/join.test.ts',
    'test/security/limits.test.ts',
    'test/bed/index.ts',
    'test/helpers/wait.ts',
    'test/agent',
    'README.md',
    'cri/client.ts',
  ])
    t.is(testLayoutFinding(path, sources), undefined, path);
});

test('a test right under test/, or under a folder that mirrors nothing, is a finding', (t) => {
  t.regex(testLayoutFinding('test/cri-client.test.ts', sources) ?? '', /^test\/cri-client\.test\.ts: move it under/);
  t.regex(testLayoutFinding('test/fixtures.ts', sources) ?? '', /move it under/);
  t.regex(
    testLayoutFinding('test/unit/oci-archive.test.ts', sources) ?? '',
    /^test\/unit\/oci-archive\.test\.ts: test\/unit\/ mirrors no source folder; .*agent, bed, controlplane, cri, e2e/,
  );
});
