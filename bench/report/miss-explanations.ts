/**
 * Why each missed target was missed, by suite and by the check's label (targets.ts), written from
 * the profiles and timing breakdowns of the full run that bench/REPORT.md shows. An explanation
 * says where the time or memory went, with the numbers, and what would move it; a miss without
 * one is printed as unexplained.
 */
export const missExplanations: Record<string, Record<string, string>> = {};
