import { StoreError } from "./store-error.ts";

/** The requested revision has not happened yet. */
export class FutureRevisionError extends StoreError {
  readonly requested: number;
  readonly current: number;

  constructor(requested: number, current: number) {
    super("future_revision", `revision ${requested} is in the future; the current revision is ${current}`);
    this.requested = requested;
    this.current = current;
  }
}
