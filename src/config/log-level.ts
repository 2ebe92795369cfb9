import { z } from "zod";

/** pino's levels; "silent" turns logging off. */
export const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export type LogLevel = z.infer<typeof logLevelSchema>;
