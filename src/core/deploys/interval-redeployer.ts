import type { StateStore } from "../../store/state-store.ts";
import { SERVICES_PREFIX, type StoredService } from "../services/service-record.ts";
import type { RedeploySubmitter } from "./redeploy-submitter.ts";

/**
 * Redeploys services with deploy_opts.interval: on each check, a running service whose last
 * deploy (or last interval submission, so a failing one is not resubmitted at every check) is
 * older than its interval gets a `service.deploy` with reason "interval".
 */
export class IntervalRedeployer {
  readonly #store: StateStore;
  readonly #submitter: RedeploySubmitter;
  readonly #checkMs: number;
  readonly #submittedAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> = Promise.resolve();

  constructor(store: StateStore, submitter: RedeploySubmitter, options: { readonly checkMs?: number } = {}) {
    this.#store = store;
    this.#submitter = submitter;
    this.#checkMs = options.checkMs ?? 10_000;
  }

  start(): void {
    this.#timer = setInterval(() => {
      // One check at a time; a failed one (the store closing) is retried by the next tick.
      this.#checking = this.#checking.then(() => this.check()).catch(() => {});
    }, this.#checkMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checking;
  }

  /** Submits the deploys that are due now. */
  async check(now = Date.now()): Promise<void> {
    const { kvs } = await this.#store.range(SERVICES_PREFIX, { prefix: true });
    for (const kv of kvs) {
      const service = kv.value as unknown as StoredService;
      const interval = service.spec.deploy_opts.interval;
      if (interval === null || service.state !== "running" || service.deployed_at === null) continue;
      const last = Math.max(Date.parse(service.deployed_at), this.#submittedAt.get(service.id) ?? 0);
      if (now - last < interval * 1000) continue;
      if (await this.#submitter.submit(service, "interval")) this.#submittedAt.set(service.id, now);
    }
  }
}
