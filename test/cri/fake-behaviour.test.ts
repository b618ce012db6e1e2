/** The CRI behaviour suite against the stateful fake runtime (cri/fake.ts). */
import test from 'ava';
import { FakeRuntime } from '../../cri/fake.ts';
import { criBehaviourSuite } from './cri-behaviour-suite.ts';

const busybox = 'localhost/bosun/busybox:1.35';
const runtime = new FakeRuntime({ images: ['localhost/bosun/pause:3.10', busybox] });

criBehaviourSuite(test, 'fake', () => ({
  runtime,
  busybox,
  logDirectory: (name) => `/var/log/pods/default_${name}`,
  letExit: async (containerId, exitCode) => runtime.exitContainer(containerId, exitCode),
}));
