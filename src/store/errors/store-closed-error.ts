import { StoreError } from "./store-error.ts";

/** The store was closed; no more reads or writes. */
export class StoreClosedError extends StoreError {
  constructor() {
    super("store_closed", "the state store is closed");
  }
}
