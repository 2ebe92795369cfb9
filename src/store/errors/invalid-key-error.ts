import { StoreError } from "./store-error.ts";

/** The key is empty, too long, or holds characters the store cannot keep. */
export class InvalidKeyError extends StoreError {
  readonly key: string;

  constructor(key: string, reason: string) {
    super("invalid_key", `invalid key ${JSON.stringify(key.slice(0, 80))}: ${reason}`);
    this.key = key;
  }
}
