import type { GridView } from "../../core/grids/grid-record.ts";

/** A grid as the spec shows it (statsd's port a string, as in its example); the token only when the caller may see it. */
export function gridJson(grid: GridView) {
  const { statsd } = grid.stats;
  return {
    id: grid.id,
    name: grid.name,
    initial_size: grid.initial_size,
    ...(grid.token === undefined ? {} : { token: grid.token }),
    stats: { statsd: statsd === null ? null : { server: statsd.server, port: String(statsd.port) } },
    trusted_subnets: grid.trusted_subnets,
    created_at: grid.created_at,
    updated_at: grid.updated_at,
  };
}
