const UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * Reads a compose memory size ("512m", "1g", "1024k", "100b" or a bare number of bytes),
 * as docker-compose's mem_limit takes it; undefined when the text is not one.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? "b").toLowerCase()] as number;
  return Math.round(Number(match[1]) * unit);
}
