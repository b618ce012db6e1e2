/** The pure parts of the long-lived nft: what may go in as one line, and how its answer is read. */
import test from 'ava';
import { refusalMessage, sessionInput, splitReply } from '../../netproxy/nft-session.ts';

const transaction =
  'delete element ip bosun-proxy endpoints-tcp-10.96.0.0/20 { 10.96.0.10 . 80 . 1 }\n' +
  'add element ip bosun-proxy endpoints-tcp-10.96.0.0/20 { 10.96.0.10 . 80 . 1 : 10.244.2.9 . 8080 }\n';

test('a transaction becomes one line, its commands separated by semicolons', (t) => {
  const input = sessionInput(transaction, 16_384);
  t.deepEqual(input?.commands, transaction.trim().split('\n'));
  t.is(input?.line, transaction.trim().split('\n').join('; '));
  t.false(input?.line.includes('\n'));
});

test('what would change its meaning on one line, or is too large, stays with nft -f', (t) => {
  t.is(sessionInput(`${transaction}# a comment would swallow what follows it\n`, 16_384), undefined);
  t.is(sessionInput(`add table ip x \\\n`, 16_384), undefined, 'a trailing backslash joins the next line');
  t.is(sessionInput('add table ip x\tcomment\n', 16_384), undefined, 'control characters');
  t.is(sessionInput('add table ip ‘x’\n', 16_384), undefined, 'not ASCII');
  t.is(sessionInput(transaction, transaction.length - 1), undefined, 'larger than the limit');
  t.is(sessionInput('\n\n', 16_384), undefined, 'nothing to do');
  t.not(sessionInput(transaction, transaction.length), undefined, 'exactly the limit');
});

const markerError = 'Error: syntax error, unexpected @\n';

test('the answer ends at the echo of its marker; the marker’s own error is not the transaction’s', (t) => {
  t.is(splitReply(`${markerError}@bosun-end-1`, '@bosun-end-1'), undefined, 'the echo is not complete yet');
  t.deepEqual(splitReply(`${markerError}@bosun-end-1\n^\n`, '@bosun-end-1'), { output: '', rest: '^\n' });
  t.deepEqual(
    splitReply(`^\n${markerError}@bosun-end-2\n`, '@bosun-end-2'),
    { output: '', rest: '' },
    'the previous marker’s carets are left out',
  );
  const refused = 'Error: Could not process rule: No such file or directory\nadd element x\n            ^^^\n';
  t.deepEqual(splitReply(`^\n${refused}${markerError}@bosun-end-3\n^\n`, '@bosun-end-3'), {
    output: refused.trimEnd(),
    rest: '^\n',
  });
  t.is(splitReply(`${markerError}@bosun-end-11\n`, '@bosun-end-1'), undefined, 'another marker');
});

test('a refusal is nft’s error line with the command its carets point at', (t) => {
  const input = sessionInput(transaction, 16_384)!;
  const column = input.line.indexOf('add element') + 'add element ip bosun-proxy '.length;
  const output = [
    'Error: Could not process rule: No such file or directory',
    input.line,
    `${' '.repeat(column)}^^^^^^^^^^^^^^^^^^^^^^^^^^^`,
  ].join('\n');
  t.is(
    refusalMessage(output, input),
    `Error: Could not process rule: No such file or directory (in: ${input.commands[1]})`,
  );
  t.is(refusalMessage('Error: out of memory', input), 'Error: out of memory', 'no echo: the error alone');
  t.is(refusalMessage('something unexpected', input), 'something unexpected');
  const long = sessionInput(`add element ip t s { ${'10.0.0.1, '.repeat(100)}10.0.0.2 }\n`, 16_384)!;
  const message = refusalMessage(`Error: x\n${long.line}\n^`, long);
  t.true(message.endsWith('…)'), 'a long command is cut');
  t.true(message.length < 400);
});
