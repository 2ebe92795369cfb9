import { z } from "zod";

/** `/v1/grids/:id/…`: the grid's name. */
export const gridParamsSchema = z.object({ id: z.string() });

/** `/v1/secrets/:grid/:name`, `/v1/external_registries/:grid/:name`: a record of a grid, by its grid-scoped id. */
export const gridItemParamsSchema = z.object({ grid: z.string(), name: z.string() });
