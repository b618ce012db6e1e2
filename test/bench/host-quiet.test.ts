/**
 * The full bench run's wait for a quiet host: reading /proc/stat's CPU line, the busy share between
 * two readings, and how the report's run table shows what the wait found.
 */
import test from 'ava';
import { busyShare, parseCpuTimes, waitForQuietHost } from '../../bench/host-quiet.ts';
import { renderReport } from '../../bench/report/report.ts';

const procStat = (user: number, idle: number, iowait: number) =>
  `cpu  ${user} 0 10 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n`;

test('the all-CPU line of /proc/stat: idle and iowait are not busy, the rest is', (t) => {
  t.deepEqual(parseCpuTimes(procStat(100, 500, 40)), { busy: 110, total: 650 });
  t.throws(() => parseCpuTimes('intr 1 2\n'), { message: 'no cpu line in /proc/stat' });
});

test('the busy share between two readings is of the time that passed, not since boot', (t) => {
  // 1,000 jiffies busy before boot's idle does not count: between the readings 30 of 200 were busy
  const before = parseCpuTimes(procStat(1000, 100, 0));
  const after = parseCpuTimes(procStat(1030, 270, 0));
  t.is(busyShare(before, after), 30 / 200);
  t.is(busyShare(before, before), 0, 'no time passed: nothing was busy');
});

test('the wait ends at once on a host at most as busy as allowed, and gives up at its limit otherwise', async (t) => {
  const quiet = await waitForQuietHost({ maxBusy: 1, windowMs: 20, limitMs: 1000 });
  t.true(quiet.quiet);
  t.true(quiet.waited_s < 1);
  const busy = await waitForQuietHost({ maxBusy: -1, windowMs: 20, limitMs: 60 });
  t.false(busy.quiet, 'no host is less than 0 % busy');
  t.true(busy.waited_s >= 0.06 - 0.01);
});

test("the report's run table says how the host was found before each suite", (t) => {
  const machine = { cores: 2, memoryGiB: 8, cpuModel: 'x', kernel: '6', os: 'Debian', loadAverage: [1, 1, 1] };
  const { markdown } = renderReport(
    [
      {
        suite: 'scale',
        status: 'ran',
        result: {},
        seconds: 800,
        load: 1.2,
        hostQuiet: { waited_s: 2, busy_pct: 3.5, quiet: true },
      },
      {
        suite: 'cri-cli',
        status: 'ran',
        result: {},
        seconds: 60,
        load: 5.1,
        hostQuiet: { waited_s: 90.1, busy_pct: 40, quiet: false },
      },
    ],
    machine,
    new Date('2026-12-07T12:00:00Z'),
    false,
  );
  t.true(markdown.includes('| scale | ran | 800 s | 1.20 | quiet after 2 s (3.5 % busy) |'));
  t.true(markdown.includes('| cri-cli | ran | 60 s | 5.10 | still busy after 90.1 s (40 % busy) |'));
  t.regex(markdown, /\| dns \| not run: suite missing \| — \| — \| — \|/);
  const runs = markdown.slice(markdown.indexOf('## Runs'));
  const rowAt = (suite: string) => runs.indexOf(`| ${suite} |`);
  t.true(rowAt('scale') < rowAt('cri-cli'), 'scale ran first, so its row comes first');
  t.true(rowAt('cri-cli') < rowAt('dns'), 'a suite that did not run comes after those that did');
});
