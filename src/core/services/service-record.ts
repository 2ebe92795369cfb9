import type { ServiceSpec } from "../stacks/service-spec.ts";

/**
 * How a service is stored: `/services/<grid>/<stack or "null">/<name>`. Its id on the native
 * API is `grid/stack/name`, with the literal `null` for a service outside any stack (as the
 * Kontena spec writes `my-grid/null/redis`).
 */
export const SERVICES_PREFIX = "/services/";

/** The stack segment of a stackless service's id and key. */
export const NO_STACK = "null";

/**
 * initialized: created, never deployed; running / stopped: the desired state of its instances
 * (set by deploy and start, and by stop). A deploy in progress is an operation, not a state.
 */
export type ServiceState = "initialized" | "running" | "stopped";

export type StoredService = {
  /** `grid/stack/name` (`grid/null/name` outside a stack). */
  readonly id: string;
  readonly grid: string;
  readonly stack: string | null;
  readonly name: string;
  /** The canonical spec (normalised by serviceSpec); `spec.name` equals `name`. */
  readonly spec: ServiceSpec;
  readonly state: ServiceState;
  /** ISO-8601. */
  readonly created_at: string;
  readonly updated_at: string;
  /** When the latest successful deploy finished (ISO-8601), or null. */
  readonly deployed_at: string | null;
  /** Bumped by a forced deploy, so that every instance gets a new revision (containers recreated). */
  readonly deploy_generation: number;
  /** Set by restart: instances whose container started before it are restarted by their agents. */
  readonly restart_requested_at: string | null;
  /** Set by every deploy: agents pull the image again (see DesiredInstance). Absent on older records: null. */
  readonly pull_requested_at?: string | null;
  /** Oneshot post_start hooks already run: hook name → instance numbers it ran on. */
  readonly oneshot_done: Readonly<Record<string, readonly number[]>>;
};

export function serviceId(grid: string, stack: string | null, name: string): string {
  return `${grid}/${stack ?? NO_STACK}/${name}`;
}

export function serviceKey(grid: string, stack: string | null, name: string): string {
  return `${SERVICES_PREFIX}${grid}/${stack ?? NO_STACK}/${name}`;
}

/** Every service of a grid; `stack` narrows to one stack's (null: the stackless ones). */
export function servicesPrefix(grid: string, stack?: string | null): string {
  return stack === undefined ? `${SERVICES_PREFIX}${grid}/` : `${SERVICES_PREFIX}${grid}/${stack ?? NO_STACK}/`;
}

/** Splits `grid/stack/name` (stack `null` → null); undefined when it is not three segments. */
export function parseServiceId(id: string): { grid: string; stack: string | null; name: string } | undefined {
  const parts = id.split("/");
  if (parts.length !== 3 || parts.some((part) => part === "")) return undefined;
  const [grid, stack, name] = parts as [string, string, string];
  return { grid, stack: stack === NO_STACK ? null : stack, name };
}

/** An instance of a service: `grid/stack/service/N` (also its container label io.berth.instance). */
export function instanceId(service: Pick<StoredService, "grid" | "stack" | "name">, instance: number): string {
  return `${service.grid}/${service.stack ?? NO_STACK}/${service.name}/${instance}`;
}

/** Splits `grid/stack/service/N` back into its service key parts and number; undefined when malformed. */
export function parseInstanceId(
  id: string,
): { grid: string; stack: string | null; service: string; instance: number } | undefined {
  const parts = id.split("/");
  if (parts.length !== 4 || parts.some((part) => part === "")) return undefined;
  const [grid, stack, service, number] = parts as [string, string, string, string];
  const instance = Number(number);
  if (!Number.isInteger(instance) || instance < 1) return undefined;
  return { grid, stack: stack === NO_STACK ? null : stack, service, instance };
}
