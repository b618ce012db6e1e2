/** Turns a CRI failure into the short reason preflight prints. */
import { CriError } from '../../cri/errors.ts';

export function describeCriError(err: unknown): string {
  if (err instanceof CriError) return err.message;
  return (err as Error).message ?? String(err);
}
