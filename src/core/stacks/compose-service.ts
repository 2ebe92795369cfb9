import { asPlainObject } from "./plain-object.ts";
import type { ServiceSpecInput } from "./service-spec.ts";

/**
 * Where each service spec field comes from in a stack file: compose names where compose has
 * one (command, environment, mem_limit…), Kontena's own keys otherwise. The service spec
 * reports problems by its field names; this map lets them be shown by the author's keys.
 */
export const SPEC_FIELD_SOURCES: Readonly<Record<string, readonly (string | number)[]>> = {
  cmd: ["command"],
  env: ["environment"],
  memory: ["mem_limit"],
  memory_swap: ["memswap_limit"],
  net: ["network_mode"],
  log_driver: ["logging", "driver"],
  log_opts: ["logging", "options"],
  deploy_opts: ["deploy"],
};

const SAME_NAME_KEYS = [
  "image",
  "entrypoint",
  "ports",
  "volumes",
  "volumes_from",
  "links",
  "cap_add",
  "cap_drop",
  "cpu_shares",
  "user",
  "instances",
  "stateful",
  "strategy",
  "affinity",
  "hooks",
  "health_check",
  "secrets",
] as const;

const RENAMED_KEYS = ["command", "environment", "mem_limit", "memswap_limit", "network_mode", "logging", "deploy"];

export const STACK_SERVICE_KEYS: readonly string[] = [...SAME_NAME_KEYS, ...RENAMED_KEYS].sort();

/** Keys people bring from the API or other tools, and the stack file key that means the same. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  cmd: "command",
  env: "environment",
  memory: "mem_limit",
  memory_swap: "memswap_limit",
  net: "network_mode",
  log_driver: "logging: {driver}",
  log_opt: "logging: {options}",
  log_opts: "logging: {options}",
  deploy_opts: "deploy",
  replicas: "instances",
  container_count: "instances",
  scale: "instances",
};

/** Says what to write instead of an unknown service key. */
export function unknownServiceKeyMessage(key: string): string {
  const hint = KEY_HINTS[key];
  return hint === undefined
    ? `unknown key "${key}"; a service takes ${STACK_SERVICE_KEYS.join(", ")}`
    : `unknown key "${key}"; in a stack file, use ${hint}`;
}

/**
 * Turns a compose-style stack service into a service spec input, renaming keys only: the
 * service spec does the validating and normalising, so a stack file and the API agree.
 * Values of the wrong shape are passed on as they are, for the spec to report.
 */
export function composeServiceToSpecInput(name: string, service: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = { name };
  for (const key of SAME_NAME_KEYS) if (service[key] !== undefined) input[key] = service[key];
  const renamed: Partial<Record<keyof ServiceSpecInput, unknown>> = {
    cmd: service.command,
    env: service.environment,
    memory: service.mem_limit,
    memory_swap: service.memswap_limit,
    net: service.network_mode,
  };
  for (const [key, value] of Object.entries(renamed)) if (value !== undefined) input[key] = value;
  const logging = asPlainObject(service.logging);
  if (logging?.driver !== undefined) input.log_driver = logging.driver;
  if (logging?.options !== undefined) input.log_opts = logging.options;
  const deploy = asPlainObject(service.deploy);
  if (deploy !== undefined) {
    // Kontena puts the strategy under deploy too; it is the service's strategy.
    const { strategy, ...opts } = deploy;
    if (strategy !== undefined) input.strategy ??= strategy;
    input.deploy_opts = opts;
  } else if (service.deploy !== undefined) {
    input.deploy_opts = service.deploy;
  }
  return input;
}
