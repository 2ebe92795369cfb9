/** Nanoseconds per unit, as Go's time.ParseDuration knows them (both micro signs included). */
const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3,
  "\u03bcs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's durations are int64 nanoseconds. */
const MAX_NANOS = 2 ** 63 - 1;

const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/**
 * Parses a Go duration ("10s", "1h30m", "9.87s", "500µs", "-2m") to milliseconds, as
 * Consul clients write them. Returns undefined when the text is not a Go duration.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let nanos = 0;
  while (rest !== "") {
    const match = COMPONENT.exec(rest);
    if (!match) return undefined;
    const [component, whole = "", fraction = "", unit = ""] = match;
    const perUnit = NANOS_PER_UNIT[unit];
    if ((whole === "" && fraction === "") || perUnit === undefined) return undefined;
    nanos += Number(whole || "0") * perUnit + (fraction === "" ? 0 : Number(`0.${fraction}`) * perUnit);
    if (nanos > MAX_NANOS) return undefined;
    rest = rest.slice(component.length);
  }
  return (sign * nanos) / 1e6;
}
