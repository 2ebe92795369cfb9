const UNITS: readonly (readonly [string, number])[] = [
  ["h", 3600e9],
  ["m", 60e9],
];

/** A whole number of nanoseconds as Go's time.Duration prints it: "10s", "1m30s", "24h0m0s", "500ms". */
export function goDurationText(nanos: number): string {
  if (nanos === 0) return "0s";
  if (nanos < 0) return `-${goDurationText(-nanos)}`;
  if (nanos < 1e3) return `${nanos}ns`;
  if (nanos < 1e6) return `${nanos / 1e3}µs`;
  if (nanos < 1e9) return `${nanos / 1e6}ms`;
  let text = "";
  let rest = nanos;
  for (const [unit, size] of UNITS) {
    const whole = Math.floor(rest / size);
    if (whole > 0 || text !== "") text += `${whole}${unit}`;
    rest -= whole * size;
  }
  return `${text}${rest / 1e9}s`;
}
