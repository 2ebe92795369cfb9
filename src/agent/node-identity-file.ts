import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** Who this agent is to the master, once it joined: kept in the data dir, readable by its owner only. */
export const nodeIdentitySchema = z.object({
  /** The master it joined. */
  master_url: z.string(),
  grid: z.string().min(1),
  name: z.string().min(1),
  node_token: z.string().min(1),
});
export type NodeIdentity = z.infer<typeof nodeIdentitySchema>;

export const NODE_IDENTITY_FILE = "node-identity.json";

/** The identity file in a data dir. */
export function nodeIdentityPath(dataDir: string): string {
  return join(dataDir, NODE_IDENTITY_FILE);
}

/** The stored identity, or null before the agent first joined. Throws when the file is unreadable or corrupt. */
export async function readNodeIdentity(dataDir: string): Promise<NodeIdentity | null> {
  const path = nodeIdentityPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = nodeIdentitySchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a node identity: remove it to join the grid again`);
  return parsed.data;
}

/** Stores the identity atomically (a whole file or the old one), mode 0600 in a 0700 directory. */
export async function writeNodeIdentity(dataDir: string, identity: NodeIdentity): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = nodeIdentityPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600, flush: true });
  // The mode given to writeFile only applies to a new file; a leftover temp file keeps its own.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
