import type { ActualInstance, DesiredInstance } from "../protocol/instance-spec.ts";
import type { ContainerRuntime } from "./container-runtime.ts";
import { probeHealth, probeTcp } from "./health-prober.ts";
import { type HookProgress, runPostStartHooks } from "./hook-runner.ts";

/** What a monitor adds to an instance's report. */
export type MonitorFields = Pick<
  ActualInstance,
  "health" | "health_output" | "port_ready" | "hooks_ran" | "hook_error"
>;

export interface InstanceMonitorOptions {
  readonly runtime: ContainerRuntime;
  readonly desired: DesiredInstance;
  readonly containerId: string;
  /** The engine's StartedAt of the start this monitor watches. */
  readonly startedAt: string | null;
  /** Where probes connect: the container's address, 127.0.0.1 on the host's network; null when it has none. */
  readonly host: string | null;
  /** False for a container found already running (adopted): its hooks ran before, when it started. */
  readonly runHooks: boolean;
  readonly hookTimeoutMs: number;
  /** How long wait_for_port probes before giving up. */
  readonly portWaitTimeoutMs: number;
  /** Any reported field changed. */
  readonly onChange: () => void;
  /** unhealthy_threshold checks failed in a row: the container should be restarted. */
  readonly onUnhealthy: (reason: string) => void;
}

/** Between two connection attempts while waiting for a port. */
const PORT_PROBE_INTERVAL_MS = 500;

/**
 * Watches one start of one container: runs its post_start hooks once, probes wait_for_port until
 * the port accepts a connection (or the deadline passes), and runs the health check every
 * interval after the initial delay. A new start of the container gets a new monitor, so hooks
 * run once per start. Every timer is unref'd and cleared by close().
 */
export class InstanceMonitor {
  readonly containerId: string;
  readonly startedAt: string | null;
  readonly #options: InstanceMonitorOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #desired: DesiredInstance;
  #host: string | null;
  /** Bumped whenever the probes restart; a probe answering for an older generation is ignored. */
  #generation = 0;
  #closed = false;
  #hooks: HookProgress = { ran: [], error: null };
  #health: ActualInstance["health"] = null;
  #healthOutput: string | null = null;
  #failures = 0;
  #portReady: boolean | null = null;
  #portProblem: string | null = null;

  constructor(options: InstanceMonitorOptions) {
    this.#options = options;
    this.containerId = options.containerId;
    this.startedAt = options.startedAt;
    this.#desired = options.desired;
    this.#host = options.host;
    if (options.runHooks && options.desired.post_start.length > 0) void this.#runHooks(options.desired);
    // The converger reports the first fields itself, right after making the monitor.
    this.#startProbes(false);
  }

  get closed(): boolean {
    return this.#closed;
  }

  fields(): MonitorFields {
    return {
      health: this.#health,
      health_output: this.#healthOutput,
      port_ready: this.#portReady,
      hooks_ran: [...this.#hooks.ran],
      hook_error: this.#hooks.error,
    };
  }

  /** Why the port never opened, once wait_for_port's deadline has passed; else null. */
  problem(): string | null {
    return this.#portProblem;
  }

  /** Hook results of this start, kept after close (the container stopped) until the next start. */
  hookFields(): Pick<MonitorFields, "hooks_ran" | "hook_error"> {
    return { hooks_ran: [...this.#hooks.ran], hook_error: this.#hooks.error };
  }

  /** The desired instance changed without a new container: probes restart if what they check changed. */
  update(desired: DesiredInstance, host: string | null): void {
    const before = probeKey(this.#desired, this.#host);
    this.#desired = desired;
    this.#host = host;
    if (!this.#closed && probeKey(desired, host) !== before) this.#startProbes(true);
  }

  /** Stops every probe and hook; the fields stay as they were. */
  close(): void {
    this.#closed = true;
    this.#generation++;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  async #runHooks(desired: DesiredInstance): Promise<void> {
    await runPostStartHooks(this.#options.runtime, this.containerId, desired.post_start, {
      timeoutMs: this.#options.hookTimeoutMs,
      isCancelled: () => this.#closed,
      onProgress: (progress) => {
        if (this.#closed) return;
        this.#hooks = progress;
        this.#options.onChange();
      },
    });
  }

  #startProbes(notify: boolean): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const generation = ++this.#generation;
    const { health_check: check, wait_for_port: port } = this.#desired;
    const host = this.#host;
    this.#failures = 0;
    this.#health = check === null ? null : "starting";
    this.#healthOutput = null;
    this.#portReady = port === null ? null : false;
    this.#portProblem = null;
    if (host === null) {
      // Nothing to connect to (network mode none, or another container's network).
      if (check !== null) [this.#health, this.#healthOutput] = ["critical", "the container has no address to probe"];
      if (port !== null) this.#portProblem = `port ${port} cannot be probed: the container has no address`;
    } else {
      if (check !== null) this.#after(check.initial_delay * 1000, generation, () => this.#check(generation, host));
      if (port !== null) {
        const deadline = Date.now() + this.#options.portWaitTimeoutMs;
        this.#after(0, generation, () => this.#probePort(generation, host, port, deadline));
      }
    }
    if (notify) this.#options.onChange();
  }

  async #check(generation: number, host: string): Promise<void> {
    const check = this.#desired.health_check;
    if (check === null) return;
    const result = await probeHealth(check, host);
    if (generation !== this.#generation) return;
    this.#failures = result.ok ? 0 : this.#failures + 1;
    this.#health = result.ok ? "passing" : "critical";
    this.#healthOutput = result.output;
    this.#options.onChange();
    if (this.#failures >= this.#desired.unhealthy_threshold) {
      const reason = `${this.#failures} health checks failed in a row: ${result.output}`;
      // Counted afresh: should the restart not happen, another threshold of failures asks again.
      this.#failures = 0;
      this.#options.onUnhealthy(reason);
    }
    this.#after(check.interval * 1000, generation, () => this.#check(generation, host));
  }

  async #probePort(generation: number, host: string, port: number, deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    const result = await probeTcp(host, port, Math.max(100, Math.min(1000, remaining)));
    if (generation !== this.#generation) return;
    if (result.ok) {
      this.#portReady = true;
      this.#options.onChange();
    } else if (Date.now() >= deadline) {
      this.#portProblem = `port ${port} did not accept a connection within ${Math.round(this.#options.portWaitTimeoutMs / 1000)} s`;
      this.#options.onChange();
    } else {
      this.#after(PORT_PROBE_INTERVAL_MS, generation, () => this.#probePort(generation, host, port, deadline));
    }
  }

  #after(ms: number, generation: number, run: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (generation === this.#generation) void run();
    }, ms);
    // A pending probe is no reason to keep the agent's process alive.
    timer.unref();
    this.#timers.add(timer);
  }
}

function probeKey(desired: DesiredInstance, host: string | null): string {
  return JSON.stringify([desired.health_check, desired.unhealthy_threshold, desired.wait_for_port, host]);
}
