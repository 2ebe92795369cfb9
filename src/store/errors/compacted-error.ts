import { StoreError } from "./store-error.ts";

/** The requested revision is older than the compaction point: its history is gone. */
export class CompactedError extends StoreError {
  readonly requested: number;
  readonly compactRevision: number;

  constructor(requested: number, compactRevision: number) {
    super("compacted", `revision ${requested} has been compacted; the oldest available is ${compactRevision}`);
    this.requested = requested;
    this.compactRevision = compactRevision;
  }
}
