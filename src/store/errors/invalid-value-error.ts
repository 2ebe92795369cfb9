import { StoreError } from "./store-error.ts";

/** The value is not plain JSON (undefined, a function, NaN, a BigInt, a cycle, a class instance…). */
export class InvalidValueError extends StoreError {
  /** Where in the value the problem is, as a path like `$.spec.ports[2]`. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super("invalid_value", `invalid value at ${path}: ${reason}`);
    this.path = path;
  }
}
