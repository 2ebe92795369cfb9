/** Plain-text tables and number formatting for bench output. */

export interface Column {
  readonly header: string;
  readonly align?: "left" | "right";
}

/** A row of cells, or "-" for a separator line. */
export type Row = readonly string[] | "-";

/** Render a table with a header, box-drawing-free so it pastes anywhere. */
export function renderTable(columns: readonly Column[], rows: readonly Row[]): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row === "-" ? 0 : (row[i] ?? "").length))),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? "";
        const width = widths[i] ?? 0;
        return column.align === "right" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(columns.map((column) => column.header)), rule, ...rows.map((row) => (row === "-" ? rule : line(row)))]
    .join("\n")
    .concat("\n");
}

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 12,345 / 123.4 / 1.23 / 0.0123: about three significant digits, grouped when large. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return grouped.format(value);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1 || magnitude === 0) return value.toFixed(2);
  return value.toPrecision(2);
}

/** Bytes as B / KiB / MiB with about three significant digits. */
export function formatBytes(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${formatNumber(scaled)} ${units[unit]}`;
}

/** a/b as "0.42×"; "—" when either side is missing or b is 0. */
export function formatRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return "—";
  return `${formatNumber(a / b)}×`;
}
