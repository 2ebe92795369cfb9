/** The docker CLI for the deploy bench's baseline: argv only (execFile, never a shell). */

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `docker <args…>`, its stdout trimmed; rejects with docker's stderr. */
export async function docker(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("docker", [...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`docker ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

/** Ids of every container (any state) with this label. */
export async function containersLabelled(label: string): Promise<string[]> {
  const out = await docker(["ps", "-aq", "--no-trunc", "--filter", `label=${label}`]);
  return out === "" ? [] : out.split("\n");
}

/** `docker rm -f` of every container with this label. */
export async function removeLabelled(label: string): Promise<number> {
  const ids = await containersLabelled(label);
  if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids]);
  return ids.length;
}

/** How many of the labelled containers Docker reports running. */
export async function runningLabelled(label: string): Promise<number> {
  const out = await docker(["ps", "-q", "--filter", `label=${label}`, "--filter", "status=running"]);
  return out === "" ? 0 : out.split("\n").length;
}
