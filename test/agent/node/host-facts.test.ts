import test from 'ava';
import { countCpuList, memTotalBytes, prettyName, readHostFacts } from '../../../agent/node/host-facts.ts';

test('a kernel CPU list counts every CPU it names', (t) => {
  t.is(countCpuList('0-1'), 2);
  t.is(countCpuList('0-3,8,10-11\n'), 7);
  t.is(countCpuList('5'), 1);
  t.is(countCpuList(''), 0);
  t.is(countCpuList('garbage,3-1'), 0);
});

test('memory capacity is MemTotal in bytes', (t) => {
  t.is(memTotalBytes('MemTotal:       24683772 kB\nMemFree:        20000000 kB\n'), 24_683_772 * 1024);
  t.is(memTotalBytes('MemFree: 1 kB\n'), 0);
});

test('the OS image is os-release PRETTY_NAME, unquoted, as the kubelet reports it', (t) => {
  t.is(
    prettyName('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'),
    'Debian GNU/Linux 12 (bookworm)',
  );
  t.is(prettyName("PRETTY_NAME='Alpine Linux v3.20'"), 'Alpine Linux v3.20');
  t.is(prettyName('PRETTY_NAME=Fedora'), 'Fedora');
  t.is(prettyName('PRETTY_NAME="say \\"hi\\""'), 'say "hi"');
  t.is(prettyName('ID=unknown\n'), 'Linux');
  t.is(prettyName('PRETTY_NAME=""'), 'Linux');
});

test('this host’s facts are read from its files', async (t) => {
  const facts = await readHostFacts();
  t.true(facts.cpuCores >= 1);
  t.true(facts.memoryBytes > 0);
  t.regex(facts.bootID, /^[0-9a-f-]{36}$/);
  t.not(facts.machineID, '');
  t.not(facts.osImage, '');
  t.not(facts.kernelVersion, '');
});
