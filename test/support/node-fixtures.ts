import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import type { Principal } from "../../src/core/auth/principal.ts";
import { SecretBox } from "../../src/core/crypto/secret-box.ts";
import type { Grid } from "../../src/core/grids/grid-record.ts";
import { DEFAULT_GRID, GridService } from "../../src/core/grids/grid-service.ts";
import { NodeInstanceService } from "../../src/core/nodes/node-instance-service.ts";
import { type AgentHello, NodeLinkService } from "../../src/core/nodes/node-link-service.ts";
import { NODE_SCOPED_PREFIXES } from "../../src/core/nodes/node-record.ts";
import { NodeService } from "../../src/core/nodes/node-service.ts";
import { UserService } from "../../src/core/users/user-service.ts";
import {
  type ActualInstance,
  actualInstanceSchema,
  type DesiredInstanceInput,
} from "../../src/protocol/instance-spec.ts";
import type { NodeFacts } from "../../src/protocol/node-facts.ts";
import type { StateStore } from "../../src/store/state-store.ts";
import { makePrincipal } from "./test-principals.ts";
import { openTestStore } from "./test-store.ts";

/** Facts as an agent on a Docker engine with this ID would send them. */
export function nodeFacts(overrides: Partial<NodeFacts> = {}): NodeFacts {
  return {
    node_id: "ENGINE:ONE",
    os: "Debian GNU/Linux 13",
    kernel_version: "6.1.0",
    docker_version: "20.10.24",
    driver: "overlay2",
    cpus: 2,
    mem_total: 4_000_000_000,
    mem_limit: 4_000_000_000,
    engine_root_dir: "/var/lib/docker",
    network_drivers: [{ name: "bridge" }, { name: "host" }],
    volume_drivers: [{ name: "local" }],
    public_ip: "203.0.113.7",
    private_ip: "10.0.0.7",
    ...overrides,
  };
}

export function agentHello(name: string, overrides: Partial<AgentHello> = {}): AgentHello {
  return { name, labels: [], facts: nodeFacts(), agentVersion: "0.1.0", ...overrides };
}

/** A desired instance of service `web` in the default grid. */
export function desiredInstance(number: number, overrides: Partial<DesiredInstanceInput> = {}): DesiredInstanceInput {
  return {
    id: `${DEFAULT_GRID}/shop/web/${number}`,
    name: `shop.web-${number}`,
    grid: DEFAULT_GRID,
    stack: "shop",
    service: "web",
    instance_number: number,
    image: "busybox:latest",
    revision: "r1",
    ...overrides,
  };
}

/** What an agent reports of a running instance without health checks, hooks or wait_for_port. */
export function reportedInstance(id: string, overrides: Partial<ActualInstance> = {}): ActualInstance {
  return actualInstanceSchema.parse({
    id,
    state: "running",
    container_id: `container-${id}`,
    ip: "172.17.0.2",
    exit_code: null,
    error: null,
    revision: "r1",
    updated_at: new Date().toISOString(),
    ...overrides,
  });
}

/** What an agent reports for desiredInstance(number). */
export function actualInstance(number: number, overrides: Partial<ActualInstance> = {}): ActualInstance {
  return reportedInstance(`${DEFAULT_GRID}/shop/web/${number}`, { container_id: `container-${number}`, ...overrides });
}

/** The node services over a real store, with the default grid and an admin. */
export async function nodeCore(t: TestContext) {
  const store = await openTestStore(t);
  const users = new UserService(store);
  const grids = new GridService(store, new SecretBox(randomBytes(32)), NODE_SCOPED_PREFIXES);
  await grids.ensureDefault();
  const admin: Principal = await makePrincipal(users, "admin", { admin: true });
  const grid: Grid = await grids.get(DEFAULT_GRID);
  return {
    store,
    users,
    grids,
    admin,
    grid,
    nodes: new NodeService(store, grids),
    nodeLinks: new NodeLinkService(store, grids),
    nodeInstances: new NodeInstanceService(store),
  };
}

/** The value stored under the key; fails the test when there is none. */
export async function storedValue<T>(store: StateStore, key: string): Promise<T> {
  const kv = await store.get(key);
  assert.ok(kv, `${key} is missing`);
  return kv.value as T;
}
