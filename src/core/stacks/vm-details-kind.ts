import type { ResourceUsage } from "../../protocol/node-facts.ts";
import type { JsonValue } from "../../store/state-store.ts";
import type { OperationKind } from "../operations/operation-kind-registry.ts";
import type { StackVm, StackVmService } from "./stack-vm-service.ts";

/** The Director's `vms?format=full` task: one step that writes each instance's details as a result line. */
export const VM_DETAILS_KIND = "director.vms";

/** The stack by name; its grid is the operation's. */
export type VmDetailsParams = { readonly stack: string };

/**
 * BOSH's job states: running; starting while the agent pulls or creates the container (or has
 * not reported it yet); failing when the container is not running as desired or its health check
 * fails; stopped when the service is stopped; "unresponsive agent" when its node's link is down.
 */
export function jobStateOf(vm: StackVm): string {
  const { desired, actual } = vm.instance;
  if (!vm.connected) return "unresponsive agent";
  if (desired.state === "stopped") return "stopped";
  if (actual === null || actual.state === "pulling" || actual.state === "creating") return "starting";
  if (actual.state !== "running" || actual.health === "critical" || actual.hook_error !== null) return "failing";
  return "running";
}

/** The `az` label of the node, as the scheduler spreads by it. */
function azOf(vm: StackVm): string | null {
  const label = vm.node?.labels.find((candidate) => candidate.startsWith("az="));
  return label === undefined ? null : label.slice("az=".length);
}

const percent = (part: number, whole: number): string => (whole > 0 ? String(Math.round((part / whole) * 100)) : "0");

/** A container shares its node's vitals: BOSH's shape (numbers as strings) from the node's latest sample. */
function vitalsOf(usage: ResourceUsage | null | undefined): Record<string, JsonValue> {
  if (!usage) return {};
  const disk = { percent: percent(usage.filesystem.used, usage.filesystem.total), inode_percent: "0" };
  return {
    cpu: { sys: "0.0", user: usage.cpu.usage_pct.toFixed(1), wait: "0.0" },
    disk: { ephemeral: disk, system: disk },
    load: [usage.load["1m"], usage.load["5m"], usage.load["15m"]].map((load) => load.toFixed(2)),
    mem: {
      kb: String(Math.round(usage.memory.used / 1024)),
      percent: percent(usage.memory.used, usage.memory.total),
    },
    swap: { kb: "0", percent: "0" },
  };
}

/** One line of the result: BOSH's VM details for one instance. */
export function vmDetails(vm: StackVm): Record<string, JsonValue> {
  const { desired, actual } = vm.instance;
  const jobState = jobStateOf(vm);
  return {
    agent_id: `${desired.grid}/${vm.instance.node}`,
    vm_cid: actual?.container_id ?? null,
    disk_cid: null,
    ips: actual?.ip ? [actual.ip] : [],
    dns: [],
    job_name: desired.service,
    index: desired.instance_number - 1,
    id: desired.id,
    job_state: jobState,
    az: azOf(vm),
    bootstrap: desired.instance_number === 1,
    vm_type: null,
    resource_pool: null,
    deployment: desired.stack,
    vitals: vitalsOf(vm.node?.resource_usage),
    processes: actual === null ? [] : [{ name: desired.name, state: jobState }],
    resurrection_paused: false,
  };
}

/** The kind: its step reads the stack's instances when it runs and writes one JSON line per instance. */
export function vmDetailsKind(vms: StackVmService): OperationKind {
  return {
    stage: "Retrieving VM details",
    steps: (params, operation) => {
      const { stack } = params as VmDetailsParams;
      return [
        {
          name: "vm details",
          run: async (context) => {
            const lines = (await vms.vms(operation.grid, stack)).map((vm) => `${JSON.stringify(vmDetails(vm))}\n`);
            await context.setResultOutput(lines.join(""));
          },
        },
      ];
    },
    summary: (operation) => `retrieved VM details of ${operation.deployment ?? "a deployment"}`,
  };
}
