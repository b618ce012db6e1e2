/**
 * The unit files pass systemd's own verifier, and keep the settings the design depends on.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';

const unitDir = join(import.meta.dirname, '..', '..', 'systemd');
const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const units = readdirSync(unitDir).filter((name) => name.endsWith('.service'));

function settings(name: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(join(unitDir, name), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) map.set(match[1]!, match[2]!);
  }
  return map;
}

test('there are unit files for the server and the agent', (t) => {
  t.true(units.includes('bosun-server.service'));
  t.true(units.includes('bosun-agent.service'));
});

for (const name of units) {
  test(`systemd-analyze verify accepts ${name}`, async (t) => {
    // the installed path does not exist on a build machine: verify a copy pointing at this checkout
    const dir = mkdtempSync(join(tmpdir(), 'bosun-units-'));
    try {
      const text = readFileSync(join(unitDir, name), 'utf8').replaceAll('/usr/local/bin/bosun', bosunBin);
      writeFileSync(join(dir, name), text);
      const result = await run(['systemd-analyze', 'verify', '--man=no', join(dir, name)], {
        env: { SYSTEMD_LOG_LEVEL: 'warning' },
      });
      const complaints = `${result.stdout}${result.stderr}`
        .split('\n')
        .filter((line) => line.includes(name) || /bosun/.test(line))
        .filter((line) => line.trim() !== '');
      t.is(result.code, 0, `${result.stdout}${result.stderr}`);
      t.deepEqual(complaints, [], 'no warnings about the unit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the agent unit never kills containers on stop and starts after containerd', (t) => {
  const agent = settings('bosun-agent.service');
  t.is(agent.get('KillMode'), 'mixed');
  t.is(agent.get('Type'), 'notify');
  t.is(agent.get('Restart'), 'always');
  t.true(agent.get('After')?.includes('containerd.service'));
  t.is(agent.get('Delegate'), 'yes');
});
