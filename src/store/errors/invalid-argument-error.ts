import { StoreError } from "./store-error.ts";

/** An option or request is malformed (a negative limit, a duplicate key in one transaction…). */
export class InvalidArgumentError extends StoreError {
  constructor(message: string) {
    super("invalid_argument", message);
  }
}
