import { InvalidKeyError } from "./errors/invalid-key-error.ts";

/** Longest key the store accepts, in UTF-16 code units. etcd's default request cap is far larger; keys are names, not data. */
export const MAX_KEY_LENGTH = 4096;

/** Throws InvalidKeyError unless the key can be stored (and compared the same way by every backend). */
export function assertValidKey(key: unknown): asserts key is string {
  if (typeof key !== "string") throw new InvalidKeyError(String(key), "a key must be a string");
  if (key.length === 0) throw new InvalidKeyError(key, "a key must not be empty");
  assertKeyCharacters(key);
}

/** A prefix may be empty (meaning every key) but otherwise follows the key rules. */
export function assertValidPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== "string") throw new InvalidKeyError(String(prefix), "a prefix must be a string");
  assertKeyCharacters(prefix);
}

function assertKeyCharacters(key: string): void {
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key, `longer than ${MAX_KEY_LENGTH} characters`);
  if (key.includes("\0")) throw new InvalidKeyError(key, "contains a NUL character");
  // A lone surrogate cannot be encoded as UTF-8, so SQLite and etcd would each mangle it differently.
  if (!key.isWellFormed()) throw new InvalidKeyError(key, "is not well-formed Unicode (lone surrogate)");
}
