const MAX_UINT64 = 2n ** 64n - 1n;

/** Why the text is not a Go uint64, in strconv's words ("invalid syntax", "value out of range"); undefined when it is one. */
export function uint64Problem(text: string): string | undefined {
  if (!/^\d+$/.test(text)) return "invalid syntax";
  return BigInt(text) > MAX_UINT64 ? "value out of range" : undefined;
}

/** A uint64 as canonical decimal text ("007" → "7"); call after uint64Problem found none. */
export const canonicalUint64 = (text: string): string => BigInt(text).toString();

/** A uint64 used as a ModifyIndex: past 2^53 it matches no revision, so clamping loses nothing. */
export const uint64Index = (text: string): number => Math.min(Number(text), Number.MAX_SAFE_INTEGER);
