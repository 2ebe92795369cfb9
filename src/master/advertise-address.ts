import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** A host the listener can be reached at from this machine: loopback when bound to every interface. */
export function connectHost(bindHost: string): string {
  return WILDCARDS.has(bindHost) ? "127.0.0.1" : bindHost;
}

/**
 * The "host:port" other machines should use for this master (Consul's leader address).
 * Bound to every interface, it is the first external IPv4 address, or loopback on a machine without one.
 */
export function advertiseAddress(bindHost: string, port: number): string {
  return hostPort(advertiseHost(bindHost), port);
}

/** The host part of the advertised address (the master's node address in the Consul catalog). */
export function advertiseHost(bindHost: string): string {
  return WILDCARDS.has(bindHost) ? (firstExternalIPv4() ?? "127.0.0.1") : bindHost;
}

/** Joins host and port, bracketing IPv6 addresses. */
export function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function firstExternalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((address) => address.family === "IPv4" && !address.internal);
    if (external) return external.address;
  }
  return undefined;
}
