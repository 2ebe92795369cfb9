import type { StoredService } from "../../core/services/service-record.ts";
import type { ServiceInstanceView } from "../../core/services/service-service.ts";
import type { StoredStack } from "../../core/stacks/stack-record.ts";
import { serviceJson } from "./service-json.ts";

/**
 * A stack as the spec's Stack object shows it, with its services in link order. Its variable
 * values stay inside: a stack file's random_string variables are typically passwords.
 */
export function stackJson(
  stack: StoredStack,
  services: readonly StoredService[],
  instances: ReadonlyMap<string, readonly ServiceInstanceView[]>,
) {
  return {
    id: stack.id,
    name: stack.name,
    stack: stack.stack,
    version: stack.version,
    registry: stack.registry,
    description: stack.description,
    expose: stack.expose,
    state: stackState(services),
    services: services.map((service) => serviceJson(service, instances.get(service.id) ?? [])),
    volumes: stack.volumes,
    created_at: stack.created_at,
    updated_at: stack.updated_at,
  };
}

/** initialized until a service was deployed; running while any runs; stopped otherwise. */
function stackState(services: readonly StoredService[]): "initialized" | "running" | "stopped" {
  if (services.some((service) => service.state === "running")) return "running";
  return services.every((service) => service.state === "initialized") ? "initialized" : "stopped";
}
