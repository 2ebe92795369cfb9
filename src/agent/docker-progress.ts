import type Docker from "dockerode";
import { z } from "zod";

const progressSchema = z.object({ error: z.string().optional() });

/**
 * Reads a pull, push or import progress stream to its end; returns the failure it reported,
 * or null. The engine answers 200 as soon as such a job starts, so a failure (unauthorized,
 * manifest unknown…) only ever arrives as an `error` line of the stream.
 */
export async function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<string | null> {
  const output = await new Promise<unknown[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, lines: unknown[]) =>
      error ? reject(error) : resolve(lines),
    ),
  );
  for (const line of output) {
    const parsed = progressSchema.safeParse(line);
    if (parsed.success && parsed.data.error !== undefined) return parsed.data.error;
  }
  return null;
}
