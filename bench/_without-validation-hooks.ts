/**
 * Module load hook for bench/_without-validation.ts: the validation module's two entry points
 * become no-ops; everything else loads unchanged.
 */
interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | NodeJS.TypedArray;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const target = '/controlplane/validation/index.ts';

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!url.endsWith(target) || result.source === undefined || result.source === null) return result;
  const source =
    typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  const renamed = source
    .replace('export function validateObject(', 'function validateObjectUnused(')
    .replace('export function validateStatus(', 'function validateStatusUnused(');
  if (renamed === source) throw new Error(`bench: ${target} no longer has validateObject/validateStatus to take out`);
  return {
    ...result,
    source: `${renamed}\nexport function validateObject(): void {}\nexport function validateStatus(): void {}\n`,
  };
}
