/** Progress of a long benchmark: one rewritten line on a terminal, plain lines (at most every few seconds) elsewhere. */
export class Progress {
  readonly #tty = process.stdout.isTTY === true;
  #lastPlainAt = 0;
  #lastText = '';

  update(text: string, force = false): void {
    if (this.#tty) {
      process.stdout.write(`\r\x1b[2K${text}`);
      return;
    }
    const now = Date.now();
    if (!force && (text === this.#lastText || now - this.#lastPlainAt < 10_000)) return;
    this.#lastPlainAt = now;
    this.#lastText = text;
    process.stdout.write(`${text}\n`);
  }

  /** A line that stays (the live line is cleared first). */
  note(text: string): void {
    process.stdout.write(this.#tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}
