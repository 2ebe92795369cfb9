/** The value as a map when it is one (YAML maps and JSON objects), else undefined. */
export function asPlainObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
