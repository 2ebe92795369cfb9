import type { JsonValue } from "../../store/state-store.ts";
import type { OperationEvent, OperationRecord } from "./operation-record.ts";

/** What a step may do besides its own work: write to the operation's logs and result. */
export interface StepContext {
  readonly operation: OperationRecord;
  debug(line: string): Promise<void>;
  /** Replaces the result output (`type=result`). */
  setResultOutput(text: string): Promise<void>;
  /** Appends an event of the step's own (per instance, say), with its own stage and tags. */
  event(event: Omit<OperationEvent, "time">): Promise<void>;
}

/** One named step of an operation; `compensate` undoes what `run` did when a later step fails or the operation is cancelled. */
export interface OperationStep {
  readonly name: string;
  run(context: StepContext, signal: AbortSignal): Promise<void>;
  compensate?(context: StepContext): Promise<void>;
}

/** How operations of one kind are carried out. */
export interface OperationKind {
  /** The stage the kind's events show. */
  readonly stage: string;
  /** Built from the record's params, so that a restarted master can compensate what a dead one started. */
  steps(params: JsonValue, operation: OperationRecord): readonly OperationStep[];
  /** A one-line summary for a successful run; "done" when absent. */
  summary?(operation: OperationRecord): string;
}

/** The kinds this master knows; deploy, scale, restart and the stack operations register here. */
export class OperationKindRegistry {
  readonly #kinds = new Map<string, OperationKind>();

  register(name: string, kind: OperationKind): void {
    if (this.#kinds.has(name)) throw new Error(`operation kind ${name} is already registered`);
    this.#kinds.set(name, kind);
  }

  get(name: string): OperationKind | undefined {
    return this.#kinds.get(name);
  }
}
