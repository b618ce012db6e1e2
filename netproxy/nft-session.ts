/**
 * A long-lived `nft -i` that applies small transactions without starting a process for each.
 * At 10,000 Services a partial sync sends a few hundred bytes of map elements, and starting nft
 * for them (from a large process, through the dynamic loader and nft's own set-up) cost several
 * times what nft then does with them; nft -i runs the same libnftables, started once.
 *
 * What nft -i does with its input (nftables 1.0.6, src/cli.c, and tried on this host): each
 * input line goes to libnftables on its own, so each LINE is one kernel transaction. Two lines
 * would be two transactions, and a refused second one would leave the first applied (that one
 * line is all or nothing is tested in test/netproxy/real/nftables-session.test.ts). A transaction therefore goes in as one line, its
 * commands separated by `;` (nft's grammar takes `;` and a newline alike between commands).
 * nft -i has no exit status per line and prints nothing on success, so each transaction is
 * followed by a marker line that nft refuses as a syntax error, echoing it: whatever nft wrote
 * to stderr before that echo belongs to the transaction, and anything at all means refused.
 */
import type { LongLivedProcess } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';

/** The transaction as one line of nft -i input, with its commands (to name the one refused). */
interface SessionInput {
  line: string;
  commands: readonly string[];
}

type SessionReply = { refused: false } | { refused: true; message: string };

/**
 * The transaction as the one input line that nft -i applies as one transaction; undefined when
 * it must go through `nft -f` instead: too large (nft -i reads its input a byte at a time: a
 * 6 MB full sync took three times as long as with nft -f), or holding what would change its
 * meaning on one line: `#` (a comment runs to the end of the line, swallowing the commands after
 * it), a backslash (at a line's end it joins the next input line, the marker) or a control
 * character (the line editor's).
 */
export function sessionInput(transaction: string, maxBytes: number): SessionInput | undefined {
  if (transaction.length > maxBytes || !/^[\x20-\x7e\n]*$/.test(transaction)) return undefined;
  if (transaction.includes('#') || transaction.includes('\\')) return undefined;
  const commands = transaction.split('\n').filter((command) => command.trim() !== '');
  if (commands.length === 0) return undefined;
  return { line: commands.join('; '), commands };
}

/** A line that is only the caret marks (or nothing) under an echoed input line. */
const caretsOnly = /^[\s^~]*$/;

/**
 * Splits nft's stderr at the echo of `marker`: the transaction's own output (without the
 * marker's error line just before the echo, and without the caret line of the previous marker,
 * which may arrive after that one was read) and what follows the echo.
 */
export function splitReply(buffer: string, marker: string): { output: string; rest: string } | undefined {
  const echo = `\n${marker}\n`;
  const at = buffer.indexOf(echo);
  if (at < 0) return undefined;
  const lines = buffer.slice(0, at).split('\n').slice(0, -1);
  while (lines.length > 0 && caretsOnly.test(lines[0]!)) lines.shift();
  return { output: lines.join('\n'), rest: buffer.slice(at + echo.length) };
}

/**
 * nft's error in one line, with the command it points at: nft prints the error, the input line
 * and carets under the part it refused; the caret's column finds the command in the line.
 */
export function refusalMessage(output: string, input: SessionInput): string {
  const lines = output.split('\n');
  const errorAt = Math.max(
    0,
    lines.findIndex((line) => line.includes('Error:')),
  );
  const error = lines[errorAt]!.trim() || '(no message)';
  const carets = lines[errorAt + 2] ?? '';
  const column = carets.search(/[\^~]/);
  if (lines[errorAt + 1] !== input.line || column < 0) return error;
  let start = 0;
  for (const command of input.commands) {
    if (column < start + command.length) {
      const shown = command.length > 300 ? `${command.slice(0, 300)}…` : command;
      return `${error} (in: ${shown})`;
    }
    start += command.length + 2;
  }
  return error;
}

interface Pending {
  marker: string;
  input: SessionInput;
  resolve: (reply: SessionReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  timedOut: boolean;
}

/** How much unasked output is kept (only to say why a session ended). */
const keptOutput = 4096;

/**
 * One nft -i process. States: open (idle or one transaction in flight), closing (close() asked
 * it to end), ended (it exited; a transaction in flight is rejected with `nftSessionLost` only
 * then, so nothing of it can still be applying when the caller decides what to do next).
 */
export class NftSession {
  readonly #process: LongLivedProcess;
  #state: 'open' | 'closing' | 'ended' = 'open';
  #buffer = '';
  #markers = 0;
  #answered = 0;
  #pending: Pending | undefined;

  constructor(process: LongLivedProcess) {
    this.#process = process;
    process.onStderr((chunk) => this.#onOutput(chunk));
    process.onExit((code) => this.#onExit(code));
  }

  get open(): boolean {
    return this.#state === 'open';
  }

  /** Transactions it answered (applied or refused). */
  get answered(): number {
    return this.#answered;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** The first line of what it wrote unasked (why it could not start, usually). */
  get note(): string {
    return this.#buffer.trim().split('\n')[0] ?? '';
  }

  /** Applies one transaction; rejects with `nftSessionLost` when the process ends or hangs first. */
  apply(input: SessionInput, timeoutMs: number): Promise<SessionReply> {
    if (this.#state !== 'open' || this.#pending !== undefined)
      return Promise.reject(new ProxyError(ProxyErrorCode.nftSessionLost, 'the nft session is not ready'));
    const marker = `@bosun-end-${++this.#markers}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending === undefined) return;
        this.#pending.timedOut = true;
        this.#process.kill('SIGKILL');
      }, timeoutMs);
      this.#pending = { marker, input, resolve, reject, timer, timedOut: false };
      this.#process.hold(true);
      this.#process.write(`${input.line}\n${marker}\n`);
    });
  }

  /** Ends the process (idempotent); nft -i holds nothing that needs a graceful end. */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#process.kill('SIGTERM');
  }

  #onOutput(chunk: string): void {
    this.#buffer += chunk;
    const pending = this.#pending;
    if (pending === undefined) {
      this.#buffer = this.#buffer.slice(0, keptOutput);
      return;
    }
    const reply = splitReply(this.#buffer, pending.marker);
    if (reply === undefined) return;
    this.#buffer = reply.rest;
    this.#settle();
    this.#answered++;
    pending.resolve(
      reply.output.trim() === ''
        ? { refused: false }
        : { refused: true, message: refusalMessage(reply.output, pending.input) },
    );
  }

  #onExit(code: number | null): void {
    this.#state = 'ended';
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#settle();
    const why = pending.timedOut ? 'did not answer in time' : `exited (${code ?? 'could not start'})`;
    const said = this.note;
    pending.reject(new ProxyError(ProxyErrorCode.nftSessionLost, `nft -i ${why}${said === '' ? '' : `: ${said}`}`));
  }

  #settle(): void {
    clearTimeout(this.#pending!.timer);
    this.#pending = undefined;
    this.#process.hold(false);
  }
}
