import { actualInstanceSchema } from "../../protocol/instance-spec.ts";
import type { JsonValue, StateStore, Watcher } from "../../store/state-store.ts";
import { INSTANCE_STATES_PREFIX } from "../nodes/node-record.ts";
import { updateRecord } from "../records/update-record.ts";
import { parseInstanceId, type StoredService, serviceKey } from "../services/service-record.ts";

/**
 * Remembers oneshot post_start hooks: when an agent reports one in an instance's hooks_ran,
 * the instance number goes into service.oneshot_done[hook], and later deploys leave that hook
 * out for that instance, even in a new container.
 */
export class OneshotRecorder {
  readonly #store: StateStore;
  #watcher: Watcher | undefined;
  #work: Promise<void> = Promise.resolve();

  constructor(store: StateStore) {
    this.#store = store;
  }

  start(): void {
    this.#watcher = this.#store.watch({ key: INSTANCE_STATES_PREFIX, prefix: true }, (batch) => {
      for (const event of batch.events) {
        if (event.type !== "put") continue;
        const actual = actualInstanceSchema.safeParse(event.kv.value);
        if (!actual.success || actual.data.hooks_ran.length === 0) continue;
        const { id, hooks_ran } = actual.data;
        this.#work = this.#work.then(() => this.record(id, hooks_ran)).catch(() => {});
      }
    });
  }

  async stop(): Promise<void> {
    this.#watcher?.cancel();
    await this.#work;
  }

  /** Records the oneshot hooks among `ran` for the instance; nothing when all are known already. */
  async record(instanceId: string, ran: readonly string[]): Promise<void> {
    const parsed = parseInstanceId(instanceId);
    if (parsed === undefined) return;
    const key = serviceKey(parsed.grid, parsed.stack, parsed.service);
    await updateRecord(this.#store, key, (kv) => {
      if (!kv) return undefined;
      const service = kv.value as unknown as StoredService;
      const oneshot = new Set(service.spec.hooks.post_start.filter((hook) => hook.oneshot).map((hook) => hook.name));
      const done: Record<string, readonly number[]> = { ...service.oneshot_done };
      let changed = false;
      for (const hook of ran) {
        if (!oneshot.has(hook) || (done[hook] ?? []).includes(parsed.instance)) continue;
        done[hook] = [...(done[hook] ?? []), parsed.instance].sort((a, b) => a - b);
        changed = true;
      }
      return changed ? ({ ...service, oneshot_done: done } as unknown as JsonValue) : undefined;
    });
  }
}
