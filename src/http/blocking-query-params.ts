import { BadRequestError } from "../core/errors/bad-request-error.ts";
import { parseGoDuration } from "./go-duration.ts";

/** The blocking-query parameters of a request: `?index=` and `?wait=`, as Consul defines them. */
export interface BlockingQueryParams {
  /** 0 when absent: answer at once. */
  readonly minIndex: number;
  /** Milliseconds; undefined when absent (the default wait applies). */
  readonly waitMs: number | undefined;
}

/** Largest index a client can send (Go's uint64). */
const MAX_INDEX = 2n ** 64n - 1n;

/** Reads `index` and `wait` from a parsed query string; a bad value is a BadRequestError naming it. */
export function parseBlockingQueryParams(query: unknown): BlockingQueryParams {
  const params = (query ?? {}) as Record<string, unknown>;
  const index = firstValue(params.index);
  const wait = firstValue(params.wait);
  return { minIndex: index === "" ? 0 : parseIndex(index), waitMs: wait === "" ? undefined : parseWait(wait) };
}

function parseIndex(text: string): number {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > MAX_INDEX) {
    throw new BadRequestError(`invalid index ${JSON.stringify(text)}: must be a non-negative integer`);
  }
  // Past 2^53 precision is lost, but such an index is far ahead of the store and answers at once anyway.
  return Math.min(Number(text), Number.MAX_SAFE_INTEGER);
}

function parseWait(text: string): number {
  const ms = parseGoDuration(text);
  if (ms === undefined || ms < 0) {
    throw new BadRequestError(`invalid wait ${JSON.stringify(text.slice(0, 64))}: must be a duration like 10s or 5m`);
  }
  return ms;
}

/** Repeated parameters keep the first value, as Go's url.Values.Get does; absent is "". */
function firstValue(value: unknown): string {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? first : "";
}
