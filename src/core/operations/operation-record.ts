import type { JsonValue } from "../../store/state-store.ts";

export type OperationState = "queued" | "processing" | "cancelling" | "done" | "errored" | "cancelled";

export const FINISHED_STATES: readonly OperationState[] = ["done", "errored", "cancelled"];

/** One long-running action, as the store keeps it (and the Director shows it as a task). */
export type OperationRecord = {
  readonly id: number;
  readonly kind: string;
  readonly description: string;
  readonly user: string;
  readonly grid: string;
  /** What the operation acts on (a service id, a stack name); one operation at a time per grid and target. */
  readonly target: string;
  /** The stack the Director calls a deployment, when there is one. */
  readonly deployment: string | null;
  /** Internal operations are hidden from `GET /tasks?verbose=0`. */
  readonly internal: boolean;
  /** The kind's input, kept so that its steps can be rebuilt after a restart. */
  readonly params: JsonValue;
  readonly state: OperationState;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** A one-line summary once finished. */
  readonly result: string | null;
  readonly error: string | null;
  /** How many steps have started, so that restart recovery knows what to compensate. */
  readonly stepsStarted: number;
  readonly eventCount: number;
  readonly debugCount: number;
};

/** One line of the event log, as BOSH's event output has them. */
export type OperationEvent = {
  /** Unix seconds. */
  readonly time: number;
  readonly stage: string;
  readonly tags: string[];
  readonly total: number;
  readonly task: string;
  readonly index: number;
  readonly state: "started" | "finished" | "failed";
  readonly progress: number;
  readonly data?: { readonly error: string };
};

export const OPERATIONS_PREFIX = "operations/";
export const OPERATION_COUNTER_KEY = `${OPERATIONS_PREFIX}counter`;
export const OPERATION_RECORDS_PREFIX = `${OPERATIONS_PREFIX}records/`;
export const OPERATION_QUEUE_PREFIX = `${OPERATIONS_PREFIX}queue/`;
export const OPERATION_LOGS_PREFIX = `${OPERATIONS_PREFIX}logs/`;
/** `running/<id>` on the owning master's lease: gone when that master is, so another may recover it. */
export const OPERATION_RUNNING_PREFIX = `${OPERATIONS_PREFIX}running/`;

/** Zero-padded so that keys sort as their numbers do. */
function padded(n: number): string {
  return String(n).padStart(12, "0");
}

export function operationKey(id: number): string {
  return `${OPERATION_RECORDS_PREFIX}${padded(id)}`;
}

/** The queue of one grid's target: its lowest id runs, the others wait. */
export function targetQueuePrefix(grid: string, target: string): string {
  return `${OPERATION_QUEUE_PREFIX}${encodeURIComponent(grid)}/${encodeURIComponent(target)}/`;
}

export function runningKey(id: number): string {
  return `${OPERATION_RUNNING_PREFIX}${padded(id)}`;
}

export function queueKey(operation: Pick<OperationRecord, "id" | "grid" | "target">): string {
  return `${targetQueuePrefix(operation.grid, operation.target)}${padded(operation.id)}`;
}

export type OperationLog = "event" | "debug";

export function logPrefix(id: number, log: OperationLog): string {
  return `${operationLogsPrefix(id)}${log}/`;
}

/** Everything an operation logs (events, debug lines, result output), removed with it. */
export function operationLogsPrefix(id: number): string {
  return `${OPERATION_LOGS_PREFIX}${padded(id)}/`;
}

/**
 * The result output (`type=result`), beside the record rather than in it: steps rewrite it as
 * they go, and every event would otherwise copy it again with the record.
 */
export function resultKey(id: number): string {
  return `${operationLogsPrefix(id)}result`;
}

export function logKey(id: number, log: OperationLog, index: number): string {
  return `${logPrefix(id, log)}${padded(index)}`;
}
