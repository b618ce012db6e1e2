/** Several listings in one shell, each with its own output and exit status (real sh, no network tool). */
import test from 'ava';
import { runListings } from '../../netproxy/command-listings.ts';
import { ProcessRunner } from '../../netproxy/command-runner.ts';

test('each command gets its own output and status, whatever its arguments hold', async (t) => {
  const results = await runListings(new ProcessRunner(), [
    ['echo', 'a b'],
    ['sh', '-c', 'echo to-stderr >&2; exit 3'],
    ['printf', "it's; $HOME `x`"],
    ['printf', '%s', 'a\n$(touch /nonexistent/x)\necho injected'],
    ['true'],
  ]);
  t.deepEqual(
    results.map(({ code, stdout }) => ({ code, stdout })),
    [
      { code: 0, stdout: 'a b\n' },
      { code: 3, stdout: '' },
      { code: 0, stdout: "it's; $HOME `x`" },
      { code: 0, stdout: 'a\n$(touch /nonexistent/x)\necho injected' },
      { code: 0, stdout: '' },
    ],
  );
  t.regex(results[1]!.stderr, /to-stderr/);
});

test('a command the shell never reached counts as failed', async (t) => {
  const results = await runListings(
    { run: async () => ({ code: 137, stdout: 'partial\n@@bosun-listing-end 0\n', stderr: 'killed' }) },
    [['first'], ['second']],
  );
  t.deepEqual(
    results.map(({ code, stdout }) => ({ code, stdout })),
    [
      { code: 0, stdout: 'partial\n' },
      { code: 137, stdout: '' },
    ],
  );
});
