import { readFile, statfs } from "node:fs/promises";
import { cpus, freemem, loadavg, type NetworkInterfaceInfo, networkInterfaces, totalmem } from "node:os";
import type { NodeFacts, ResourceUsage } from "../protocol/node-facts.ts";
import type { ContainerRuntime } from "./container-runtime.ts";

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** Interfaces the engine or an overlay made: their addresses are not the host's. */
const VIRTUAL_INTERFACE = /^(docker\d*|docker_gwbridge|br-[0-9a-f]+|veth.*|virbr\d*|weave.*|flannel.*|cni\d*|lo)$/;

/** Facts for the node record: Docker `info` plus the host's addresses. */
export async function collectNodeFacts(
  runtime: ContainerRuntime,
  interfaces: Interfaces = networkInterfaces(),
): Promise<NodeFacts> {
  const info = await runtime.info();
  return {
    node_id: info.id,
    os: info.os,
    kernel_version: info.kernelVersion,
    docker_version: info.serverVersion,
    driver: info.storageDriver,
    cpus: info.cpus,
    mem_total: info.memory,
    // Berth reserves nothing for itself: containers may use all the engine's memory.
    mem_limit: info.memory,
    engine_root_dir: info.rootDir,
    network_drivers: info.networkPlugins.map((name) => ({ name })),
    volume_drivers: info.volumePlugins.map((name) => ({ name })),
    ...hostAddresses(interfaces),
  };
}

/**
 * Best effort, without asking anything outside the host: the private address is the first
 * private-range IPv4 of a physical-looking interface; the public one the first IPv4 outside
 * the private ranges, or the private one when the host has none (behind NAT it cannot know).
 */
export function hostAddresses(interfaces: Interfaces): Pick<NodeFacts, "public_ip" | "private_ip"> {
  const candidates = Object.entries(interfaces)
    .filter(([name]) => !VIRTUAL_INTERFACE.test(name))
    .flatMap(([, addresses]) => addresses ?? [])
    .filter((address) => address.family === "IPv4" && !address.internal && !address.address.startsWith("169.254."))
    .map((address) => address.address);
  const privateIp = candidates.find(isPrivate) ?? candidates[0] ?? "127.0.0.1";
  const publicIp = candidates.find((address) => !isPrivate(address)) ?? privateIp;
  return { public_ip: publicIp, private_ip: privateIp };
}

function isPrivate(address: string): boolean {
  const [a = 0, b = 0] = address.split(".").map(Number);
  return (
    a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)
  );
}

/** Memory as `free` counts it, in bytes; null when the text has no MemTotal. */
export function parseMeminfo(text: string): ResourceUsage["memory"] | null {
  const kib = new Map<string, number>();
  for (const match of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) kib.set(match[1]!, Number(match[2]) * 1024);
  const total = kib.get("MemTotal");
  if (total === undefined) return null;
  const free = kib.get("MemFree") ?? 0;
  const buffers = kib.get("Buffers") ?? 0;
  // Reclaimable slab is cache too (procps counts it in buff/cache).
  const cached = (kib.get("Cached") ?? 0) + (kib.get("SReclaimable") ?? 0);
  return { total, used: Math.max(0, total - free - buffers - cached), cached, buffers };
}

interface CpuTimes {
  readonly idle: number;
  readonly total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}

/**
 * The host's resource usage, sampled by the agent every minute: load, memory, the file system
 * of the engine's root directory, and the CPU's busy share since the previous sample.
 */
export class ResourceSampler {
  readonly #rootDir: string;
  #previous: CpuTimes = cpuTimes();

  /** `rootDir`: the engine's root directory (Docker `info`), whose file system fills up with images. */
  constructor(rootDir: string) {
    this.#rootDir = rootDir;
  }

  async resourceUsage(): Promise<ResourceUsage> {
    const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
    return {
      memory: await memoryUsage(),
      load: { "1m": l1, "5m": l5, "15m": l15 },
      filesystem: await this.#filesystem(),
      cpu: { usage_pct: this.#cpuUsage() },
    };
  }

  #cpuUsage(): number {
    const now = cpuTimes();
    const total = now.total - this.#previous.total;
    const idle = now.idle - this.#previous.idle;
    this.#previous = now;
    if (total <= 0) return 0;
    return Math.min(100, Math.max(0, Math.round((1000 * (total - idle)) / total) / 10));
  }

  async #filesystem(): Promise<ResourceUsage["filesystem"]> {
    let name = this.#rootDir;
    let stats: Awaited<ReturnType<typeof statfs>>;
    try {
      stats = await statfs(name);
    } catch {
      // An agent in a container may not see the engine's root dir; the host's root is the next best.
      name = "/";
      stats = await statfs(name);
    }
    return { name, total: stats.blocks * stats.bsize, used: (stats.blocks - stats.bfree) * stats.bsize };
  }
}

async function memoryUsage(): Promise<ResourceUsage["memory"]> {
  const fromProc = await readFile("/proc/meminfo", "utf8").then(parseMeminfo, () => null);
  if (fromProc !== null) return fromProc;
  const total = totalmem();
  return { total, used: total - freemem(), cached: 0, buffers: 0 };
}
