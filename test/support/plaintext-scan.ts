import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** Reads every file in the data directory (the SQLite file, its -wal and -shm, the key file…), as bytes. */
async function dataFiles(dataDir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dataDir)) files.set(name, await readFile(join(dataDir, name)));
  return files;
}

/**
 * Asserts that none of the secrets is anywhere on disk, while the control (a name stored in clear
 * next to them) is, so the scan is known to look where the records are.
 */
export async function assertNotAtRest(dataDir: string, secrets: readonly string[], control: string): Promise<void> {
  const files = await dataFiles(dataDir);
  assert.ok(files.has("berth.db"), `no database in ${[...files.keys()].join(", ")}`);
  const found = [...files.values()].some((bytes) => bytes.includes(control));
  assert.ok(found, `the control ${control} is in none of ${[...files.keys()].join(", ")}`);
  for (const [name, bytes] of files) {
    for (const secret of secrets) assert.equal(bytes.includes(secret), false, `${name} holds a plaintext secret`);
  }
}
