/**
 * `npm run bench -- all [--quick]`: every suite, one after another (they would disturb each
 * other's numbers if run together), each with its own same-run baseline; then bench/REPORT.md
 * (REPORT-quick.md with --quick) with targets, pass/miss marks and SVG charts in bench/results/.
 * A suite whose file does not exist is reported as "not run: suite missing"; one that fails is
 * reported with its last error line, and the others still run.
 * `--only=scale,api` runs just those and takes the others from their saved results (marked so in
 * the report); `--report-only` redraws the report of the last run as it was (its date, machine and
 * results, kept in bench/results/all-run.json), e.g. after its misses were explained in
 * bench/report/miss-explanations.md, or from each suite's saved result when there is no such run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { waitForQuietHost, type QuietWait } from './host-quiet.ts';
import { parseExplanations } from './report/misses.ts';
import { renderReport, type Machine, type SuiteOutcome } from './report/report.ts';
import { suiteOrder } from './report/targets.ts';

const quick = process.argv.includes('--quick');
const here = import.meta.dirname;
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
/**
 * Suites whose server runs under V8's sampling profiler, so that the report can say where a missed
 * target's time went from the same run (the sampler costs a few percent of that server's CPU).
 */
const profiledSuites = new Set(['scale', 'api', 'http2']);
/**
 * Arguments a suite gets in a full run: the agent from the single executable, as install.sh
 * installs it (the targets are the executable's); the soak's faults for 5 minutes instead of its
 * own 10, which still deals every kind of fault several times and keeps the whole run near an hour.
 */
const fullRunArgs: Record<string, string[]> = {
  'agent-footprint': ['--executable'],
  soak: ['--minutes=5'],
};
/** Per suite; scale has its own 15-minute budget inside. */
const suiteTimeoutMs = quick ? 5 * 60_000 : 25 * 60_000;

function lastJsonLine(text: string): Record<string, unknown> | undefined {
  for (const line of text.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // a progress line that happens to start with a brace
    }
  }
  return undefined;
}

function runSuite(suite: string, hostQuiet?: QuietWait): Promise<SuiteOutcome> {
  const file = join(here, `${suite}.ts`);
  if (!existsSync(file)) return Promise.resolve({ suite, status: 'missing' });
  const load = loadavg()[0]!;
  const started = performance.now();
  const resultFile = join(resultsDir, `${suite}${quick ? '-quick' : ''}.json`);
  const quietNote = hostQuiet
    ? `, host ${hostQuiet.quiet ? 'quiet' : 'still busy'} after ${hostQuiet.waited_s} s: ${hostQuiet.busy_pct} % busy`
    : '';
  process.stdout.write(`[all] ${suite}${quick ? ' --quick' : ''} (load ${load.toFixed(2)}${quietNote})\n`);
  return new Promise((resolve) => {
    const profileDir = profiledSuites.has(suite) ? mkdtempSync(join(tmpdir(), `bench-${suite}-profile-`)) : undefined;
    const args = [
      file,
      ...(quick ? ['--quick'] : (fullRunArgs[suite] ?? [])),
      ...(profileDir ? ['--server-cpu-prof', profileDir] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      process.stderr.write(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGINT'), suiteTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // the suite read its profile into its result; the raw file (hundreds of MiB at scale) goes
      if (profileDir) rmSync(profileDir, { recursive: true, force: true });
      const seconds = (performance.now() - started) / 1000;
      const summary = lastJsonLine(stdout);
      if (code !== 0 || summary === undefined) {
        const why = signal
          ? `stopped by ${signal}${seconds * 1000 >= suiteTimeoutMs ? ' after its time limit' : ''}`
          : `exit ${code}`;
        const lastLine = stderrTail.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
        resolve({
          suite,
          status: 'failed',
          seconds,
          load,
          error: `${why}${lastLine ? `: ${lastLine}` : ''}`.replace(/\|/g, '/'),
          ...(hostQuiet ? { hostQuiet } : {}),
        });
        return;
      }
      // a suite that writes a richer file of its own during this run keeps it; others get their summary saved
      let result = summary;
      const wroteOwn = existsSync(resultFile) && statSync(resultFile).mtimeMs >= Date.now() - seconds * 1000;
      if (wroteOwn)
        result = { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>), ...summary };
      else
        writeFileSync(
          resultFile,
          `${JSON.stringify({ ...summary, measured_at: new Date().toISOString() }, null, 2)}\n`,
        );
      resolve({ suite, status: 'ran', result, seconds, load, ...(hostQuiet ? { hostQuiet } : {}) });
    });
  });
}

/** The run a report is drawn from, kept so that `--report-only` redraws it as it was (same date, machine, results). */
interface SavedRun {
  date: string;
  machine: Machine;
  outcomes: SuiteOutcome[];
}
const savedRunFile = join(resultsDir, `all-run${quick ? '-quick' : ''}.json`);
const explanationsFile = join(here, 'report', 'miss-explanations.md');

/** Draws the report (read afresh each time: it may be edited while a run goes on) and its charts. */
function drawReport(run: SavedRun): void {
  const explanations = existsSync(explanationsFile) ? parseExplanations(readFileSync(explanationsFile, 'utf8')) : {};
  const report = renderReport(run.outcomes, run.machine, new Date(run.date), quick, explanations);
  for (const [name, svg] of Object.entries(report.charts))
    writeFileSync(join(resultsDir, quick ? name.replace('.svg', '-quick.svg') : name), svg);
  const markdown = quick
    ? report.markdown.replace(/\(results\/(report-[a-z0-9-]+)\.svg\)/g, '(results/$1-quick.svg)')
    : report.markdown;
  writeFileSync(join(here, quick ? 'REPORT-quick.md' : 'REPORT.md'), markdown);
}

/** Written after every suite, so a run that is stopped part way still leaves a report of what ran. */
function writeReport(outcomes: readonly SuiteOutcome[]): void {
  const machine: Machine = {
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    kernel: release(),
    os: (() => {
      try {
        return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
      } catch {
        return 'Linux';
      }
    })(),
    loadAverage: loadavg(),
  };
  const reached = new Set(outcomes.map((o) => o.suite));
  const pending: SuiteOutcome[] = suiteOrder
    .filter((s) => !reached.has(s))
    .map((suite) => ({
      suite,
      status: existsSync(join(here, `${suite}.ts`)) ? 'failed' : 'missing',
      error: 'not reached yet in this run',
    }));
  const run: SavedRun = { date: new Date().toISOString(), machine, outcomes: [...outcomes, ...pending] };
  writeFileSync(savedRunFile, `${JSON.stringify(run, null, 2)}\n`);
  drawReport(run);
}

// --report-only after a full run: the same run drawn again (after its explanations were written)
if (
  process.argv.includes('--report-only') &&
  !process.argv.some((a) => a.startsWith('--only=')) &&
  existsSync(savedRunFile)
) {
  drawReport(JSON.parse(readFileSync(savedRunFile, 'utf8')) as SavedRun);
  process.stdout.write(`${JSON.stringify({ suite: 'all', redrawn_from: savedRunFile })}\n`);
  process.exit(0);
}

// --only=a,b runs those suites and reuses the others' saved results; --report-only runs none
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = process.argv.includes('--report-only')
  ? new Set<string>()
  : onlyArg
    ? new Set(onlyArg.slice('--only='.length).split(','))
    : undefined;
const outcomes: SuiteOutcome[] = [];
// cri-cli first: it times process starts, which the scale suite's aftermath was suspected of
// slowing (`node -e ''` at 117–131 ms of wall time for 21–24 ms of CPU, against 27 ms, in the two
// runs that ran it right after scale). Run first, it measured the same slowness (158 ms), so the
// order is not the cause; it stays first, where it starts on the host as the run found it and costs
// half a minute. Then scale: it has a budget of its own and is the one a stopped run should not lose.
const firstSuites = ['cri-cli', 'scale'];
const runOrder = [...firstSuites, ...suiteOrder.filter((s) => !firstSuites.includes(s))];
for (const suite of runOrder) {
  if (only && !only.has(suite)) {
    // reuse this suite's last saved result, if any, so a partial rerun still gives a whole report
    const saved = join(resultsDir, `${suite}${quick ? '-quick' : ''}.json`);
    if (existsSync(saved))
      outcomes.push({
        suite,
        status: 'ran',
        note: 'result of an earlier run',
        result: JSON.parse(readFileSync(saved, 'utf8')) as Record<string, unknown>,
      });
    else
      outcomes.push({
        suite,
        status: existsSync(join(here, `${suite}.ts`)) ? 'failed' : 'missing',
        error: 'not run in this invocation',
      });
    continue;
  }
  // a full run's numbers are the quiet host's: what the suite before left behind settles first
  outcomes.push(await runSuite(suite, quick ? undefined : await waitForQuietHost()));
  writeReport(outcomes);
}
writeReport(outcomes);

const ran = outcomes.filter((o) => o.status === 'ran').length;
process.stdout.write(
  `${JSON.stringify({ suite: 'all', quick, ran, failed: outcomes.filter((o) => o.status === 'failed').map((o) => o.suite), missing: outcomes.filter((o) => o.status === 'missing').map((o) => o.suite), report: quick ? 'bench/REPORT-quick.md' : 'bench/REPORT.md' })}\n`,
);
