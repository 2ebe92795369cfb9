import type { StateStore, Watcher } from "../../store/state-store.ts";
import { SECRETS_PREFIX } from "../secrets/secret-service.ts";
import { type StoredService, servicesPrefix } from "../services/service-record.ts";
import type { RedeploySubmitter } from "./redeploy-submitter.ts";

/**
 * A changed secret value redeploys the deployed services of its grid that use it (their
 * revision includes the secret's store revision, so their containers are recreated with it).
 * A new secret changes nothing: no deployed service can use one that did not exist.
 */
export class SecretRedeployer {
  readonly #store: StateStore;
  readonly #submitter: RedeploySubmitter;
  #watcher: Watcher | undefined;
  #work: Promise<void> = Promise.resolve();

  constructor(store: StateStore, submitter: RedeploySubmitter) {
    this.#store = store;
    this.#submitter = submitter;
  }

  start(): void {
    this.#watcher = this.#store.watch({ key: SECRETS_PREFIX, prefix: true }, (batch) => {
      for (const event of batch.events) {
        if (event.type !== "put" || event.kv.version < 2) continue;
        const [grid, name] = event.kv.key.slice(SECRETS_PREFIX.length).split("/") as [string, string];
        this.#work = this.#work.then(() => this.#redeployUsers(grid, name)).catch(() => {});
      }
    });
  }

  async stop(): Promise<void> {
    this.#watcher?.cancel();
    await this.#work;
  }

  async #redeployUsers(grid: string, secret: string): Promise<void> {
    const { kvs } = await this.#store.range(servicesPrefix(grid), { prefix: true });
    for (const kv of kvs) {
      const service = kv.value as unknown as StoredService;
      if (service.deployed_at === null || service.state === "initialized") continue;
      if (!service.spec.secrets.some((ref) => ref.secret === secret)) continue;
      await this.#submitter.submit(service, `secret ${secret} changed`);
    }
  }
}
