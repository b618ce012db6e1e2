/** Rows as aligned columns, three spaces apart, as kubectl and crictl print tables; trailing blanks trimmed. */
export function columnsText(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('   ')
          .trimEnd()}\n`,
    )
    .join('');
}
