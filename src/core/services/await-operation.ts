import { FINISHED_STATES, type OperationRecord } from "../operations/operation-record.ts";
import type { OperationService } from "../operations/operation-service.ts";

const POLL_MS = 100;

/**
 * The operation once it has finished, or as it stands when `timeoutMs` ran out: for callers
 * that answer with the outcome of short operations (a removal) and fall back to its status.
 */
export async function awaitOperation(
  operations: OperationService,
  id: number,
  timeoutMs: number,
): Promise<OperationRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const operation = await operations.get(id);
    if (FINISHED_STATES.includes(operation.state) || Date.now() >= deadline) return operation;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
