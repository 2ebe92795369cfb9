import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = "master.key";

/**
 * The master's encryption key (AES-256): from BERTH_MASTER_KEY (base64 of 32 bytes) when set,
 * otherwise from `<dataDir>/master.key`, created on first start with mode 0600.
 * Losing it makes stored secrets unreadable, so it is never rotated silently.
 */
export function loadMasterKey(dataDir: string, fromEnv: string | undefined = process.env.BERTH_MASTER_KEY): Buffer {
  if (fromEnv !== undefined && fromEnv !== "") return decodeKey(fromEnv, "BERTH_MASTER_KEY");
  const path = join(dataDir, MASTER_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    // "wx": never overwrite a key that another process created in the meantime.
    writeFileSync(path, `${randomBytes(MASTER_KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) chmodSync(path, 0o600);
  return decodeKey(readFileSync(path, "utf8").trim(), path);
}

function decodeKey(encoded: string, source: string): Buffer {
  const key = Buffer.from(encoded, "base64");
  if (key.length !== MASTER_KEY_BYTES || key.toString("base64") !== encoded.replace(/\s/g, "")) {
    throw new Error(
      `${source} must hold ${MASTER_KEY_BYTES} bytes encoded as base64 (e.g. from \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}
