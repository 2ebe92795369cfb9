import type { StoredService } from "../../core/services/service-record.ts";
import { instanceCounts, type ServiceInstanceView } from "../../core/services/service-service.ts";

/**
 * A service as the spec's Service object shows it: the spec's attributes (absent optional ones
 * as null), `replicas` the desired instance count, and `instances` how many there are and run.
 */
export function serviceJson(service: StoredService, instances: readonly ServiceInstanceView[]) {
  const spec = service.spec;
  return {
    id: service.id,
    name: service.name,
    created_at: service.created_at,
    updated_at: service.updated_at,
    deployed_at: service.deployed_at,
    strategy: spec.strategy,
    state: service.state,
    image: spec.image,
    affinity: spec.affinity,
    stateful: spec.stateful,
    deploy_opts: spec.deploy_opts,
    user: spec.user ?? null,
    replicas: spec.instances,
    cmd: spec.cmd ?? null,
    entrypoint: spec.entrypoint ?? null,
    net: spec.net,
    ports: spec.ports,
    env: spec.env,
    secrets: spec.secrets,
    memory: spec.memory ?? null,
    memory_swap: spec.memory_swap ?? null,
    cpu_shares: spec.cpu_shares ?? null,
    volumes: spec.volumes,
    volumes_from: spec.volumes_from,
    cap_add: spec.cap_add,
    cap_drop: spec.cap_drop,
    links: spec.links,
    log_driver: spec.log_driver ?? null,
    log_opts: spec.log_opts ?? null,
    hooks: spec.hooks,
    health_check: spec.health_check ?? null,
    stack: service.stack,
    grid: service.grid,
    instances: instanceCounts(instances),
  };
}
