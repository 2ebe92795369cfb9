import type { CheckDefinition } from "./catalog-record.ts";
import type { CatalogService, CheckResult } from "./catalog-service.ts";
import { probe, truncateOutput } from "./check-probes.ts";

/** The output of a TTL check nobody updated in time. */
export const TTL_EXPIRED_OUTPUT = "TTL expired";

/** Where the runner's checks live: the master's own node. */
export interface CheckRunnerTarget {
  readonly dc: string;
  readonly node: string;
}

interface Job {
  readonly definition: CheckDefinition;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/**
 * Runs the checks the master's agent owns: HTTP and TCP checks (and script checks, where enabled)
 * on their interval, and TTL checks' clocks, which turn them critical when no update came in time.
 * Results go to the catalog only when they change. Timers never keep the process alive.
 */
export class CheckRunner {
  readonly #catalog: CatalogService;
  readonly #onError: (error: unknown) => void;
  readonly #jobs = new Map<string, Job>();
  #target: CheckRunnerTarget | undefined;

  /** `onError`: a result could not be recorded (the store is closing…); the check keeps running. */
  constructor(catalog: CatalogService, onError: (error: unknown) => void = () => {}) {
    this.#catalog = catalog;
    this.#onError = onError;
  }

  /** Starts every check with a definition already registered on the target node. */
  async start(target: CheckRunnerTarget): Promise<void> {
    this.#target = target;
    const { value: checks } = await this.#catalog.nodeChecks(target.dc, target.node);
    for (const check of checks) if (check.definition) this.run(check.id, check.definition);
  }

  /** Stops every check. The runner can be started again. */
  stop(): void {
    for (const id of [...this.#jobs.keys()]) this.cancel(id);
    this.#target = undefined;
  }

  /** Runs (or runs anew, with a fresh TTL clock) the check with this definition. */
  run(checkId: string, definition: CheckDefinition): void {
    this.cancel(checkId);
    if (!this.#target) return;
    const job: Job = { definition, timer: undefined, stopped: false };
    this.#jobs.set(checkId, job);
    if (definition.kind === "ttl") this.#armTtl(checkId, job);
    else this.#schedule(checkId, job, 0);
  }

  cancel(checkId: string): void {
    const job = this.#jobs.get(checkId);
    if (!job) return;
    job.stopped = true;
    clearTimeout(job.timer);
    this.#jobs.delete(checkId);
  }

  /** A TTL check was updated: its clock starts over. */
  resetTtl(checkId: string): void {
    const job = this.#jobs.get(checkId);
    if (job?.definition.kind === "ttl") this.#armTtl(checkId, job);
  }

  /** The checks now running, by id (for diagnostics and tests). */
  get runningChecks(): string[] {
    return [...this.#jobs.keys()];
  }

  #armTtl(checkId: string, job: Job): void {
    if (job.definition.kind !== "ttl") return;
    clearTimeout(job.timer);
    job.timer = setTimeout(
      () => void this.#record(checkId, job, { status: "critical", output: TTL_EXPIRED_OUTPUT }),
      job.definition.ttlMs,
    ).unref();
  }

  #schedule(checkId: string, job: Job, delayMs: number): void {
    const { definition } = job;
    if (definition.kind === "ttl") return;
    job.timer = setTimeout(async () => {
      const result = await probe(definition);
      await this.#record(checkId, job, { status: result.status, output: truncateOutput(result.output) });
      if (!job.stopped) this.#schedule(checkId, job, definition.intervalMs);
    }, delayMs).unref();
  }

  /** Writes a result unless the job was stopped; drops the job when its check is gone or redefined. */
  async #record(checkId: string, job: Job, result: CheckResult): Promise<void> {
    const target = this.#target;
    if (job.stopped || !target) return;
    try {
      const outcome = await this.#catalog.updateCheck(target.dc, target.node, checkId, result, job.definition);
      if ((outcome === "missing" || outcome === "redefined") && this.#jobs.get(checkId) === job) this.cancel(checkId);
    } catch (error) {
      this.#onError(error);
    }
  }
}
