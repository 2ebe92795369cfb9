/** Command-line values for benches. */

/** A positive number given on the command line, or the fallback when absent; throws on anything else. */
export function positiveArg(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`expected a positive number, got ${text}`);
  return value;
}
