import { type ActualInstance, actualInstanceSchema } from "../../protocol/instance-spec.ts";
import type { KeyValue, StateStore, Watcher } from "../../store/state-store.ts";
import { instanceSegment, nodeInstanceStatesPrefix, nodeLinkKey } from "../nodes/node-record.ts";

/** What a judge says about the instance's latest report: done, failed (why), or still waiting (for what). */
export type Verdict = { readonly done: true } | { readonly failed: string } | { readonly pending: string };

/**
 * Judges a report. `fresh`: it was stored after the write being waited for, so it is the
 * agent's answer to that write (an older one may tell of a container since replaced).
 * `actual` is undefined when the node reports nothing for the instance.
 */
export type Judge = (actual: ActualInstance | undefined, fresh: boolean) => Verdict;

export interface WaitFor {
  readonly grid: string;
  readonly node: string;
  readonly id: string;
  /** The store revision of the write being waited for. */
  readonly since: number;
  readonly judge: Judge;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Why a wait ended without the instance becoming what was desired: the reason alone, for the caller to place. */
export class InstanceWaitFailure extends Error {
  /** The node's link is gone: the agent catches up when it reconnects. */
  readonly offline: boolean;

  constructor(message: string, offline = false) {
    super(message);
    this.offline = offline;
  }
}

/**
 * Waits, on store watches (never polling), until the node's agent reports the instance as the
 * judge wants; fails when the judge says so, when the node's link goes away, or at the deadline
 * (saying what it still waited for). Aborting the signal rejects with the signal's reason.
 */
export function waitForInstance(store: StateStore, wait: WaitFor): Promise<void> {
  const stateKey = nodeInstanceStatesPrefix(wait.grid, wait.node) + instanceSegment(wait.id);
  const linkKey = nodeLinkKey(wait.grid, wait.node);
  return new Promise<void>((resolve, reject) => {
    const watchers: Watcher[] = [];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    let pending = "a report from the node's agent";
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      for (const watcher of watchers) watcher.cancel();
      clearTimeout(timer);
      wait.signal.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(wait.signal.reason);
    const judge = (kv: KeyValue | undefined) => {
      const actual = kv === undefined || kv.value === null ? undefined : actualInstanceSchema.parse(kv.value);
      const fresh = kv === undefined || kv.mod_revision > wait.since;
      const verdict = wait.judge(actual, fresh);
      if ("done" in verdict) finish();
      else if ("failed" in verdict) finish(new InstanceWaitFailure(verdict.failed));
      else pending = verdict.pending;
    };
    if (wait.signal.aborted) {
      finish(wait.signal.reason);
      return;
    }
    wait.signal.addEventListener("abort", onAbort);
    timer = setTimeout(
      () =>
        finish(new InstanceWaitFailure(`gave up after ${Math.round(wait.timeoutMs / 1000)} s waiting for ${pending}`)),
      wait.timeoutMs,
    );
    void (async () => {
      const current = await store.range(stateKey);
      const link = await store.range(linkKey, { revision: current.revision, keysOnly: true });
      if (settled) return;
      if (link.count === 0) {
        finish(new InstanceWaitFailure("the node is offline", true));
        return;
      }
      judge(current.kvs[0]);
      if (settled) return;
      const fromRevision = current.revision + 1;
      watchers.push(
        store.watch({ key: stateKey, fromRevision }, (batch) => {
          for (const event of batch.events) if (!settled) judge(event.type === "put" ? event.kv : undefined);
        }),
        store.watch({ key: linkKey, fromRevision }, (batch) => {
          if (batch.events.some((event) => event.type === "delete"))
            finish(new InstanceWaitFailure("the node went offline", true));
        }),
      );
    })().catch(finish);
  });
}

/**
 * The judge of a deploy: the instance runs the revision (or holds it stopped, for a stopped
 * service), its wait_for_port answered, and every post_start hook it was given ran. An error,
 * an exit, or a failed hook of that revision fails it.
 */
export function deployedJudge(desired: {
  readonly revision: string;
  readonly state: "running" | "stopped";
  readonly wait_for_port: number | null;
  readonly post_start: readonly { readonly name: string }[];
}): Judge {
  return (actual, fresh) => {
    const wanted = `${desired.state} with revision ${desired.revision}`;
    if (actual === undefined) return { pending: `${wanted} (nothing reported yet)` };
    const ours = actual.revision === desired.revision;
    if (ours || fresh) {
      if (actual.state === "error") return { failed: actual.error ?? "the agent reports an error" };
      if (actual.state === "missing" && actual.error !== null) return { failed: actual.error };
    }
    if (!ours)
      return { pending: `${wanted} (reported: ${actual.state}${actual.revision ? ` ${actual.revision}` : ""})` };
    if (actual.hook_error !== null) return { failed: `post_start hook failed: ${actual.hook_error}` };
    if (desired.state === "stopped")
      return actual.state === "stopped" ? { done: true } : { pending: `${wanted} (reported: ${actual.state})` };
    if (actual.state === "exited") {
      const code = actual.exit_code === null ? "" : ` with code ${actual.exit_code}`;
      return { failed: `exited${code}${actual.error ? `: ${actual.error}` : ""}` };
    }
    if (actual.state !== "running") return { pending: `${wanted} (reported: ${actual.state})` };
    if (desired.wait_for_port !== null && actual.port_ready !== true)
      return { pending: `port ${desired.wait_for_port} to accept connections` };
    const missing = desired.post_start.filter((hook) => !actual.hooks_ran.includes(hook.name)).map((hook) => hook.name);
    if (missing.length > 0) return { pending: `post_start hooks ${missing.join(", ")}` };
    return { done: true };
  };
}
