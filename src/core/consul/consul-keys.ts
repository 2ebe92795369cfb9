/**
 * Where the Consul face's records live in the state store. Everything of a datacenter sits under
 * `/consul/<dc>/`, so a grid's Consul data goes with the grid; a TTL session's liveness marker
 * lives apart, under a prefix of its own, so that watching it sees only expiries.
 */
const CONSUL_ROOT = "/consul/";

/** Every KV entry of the datacenter: `/consul/<dc>/kv/<key>`. */
export const kvPrefix = (dc: string): string => `${CONSUL_ROOT}${dc}/kv/`;
export const kvStoreKey = (dc: string, key: string): string => kvPrefix(dc) + key;

/** Every session of the datacenter: `/consul/<dc>/sessions/<id>`. */
export const sessionsPrefix = (dc: string): string => `${CONSUL_ROOT}${dc}/sessions/`;
export const sessionStoreKey = (dc: string, id: string): string => sessionsPrefix(dc) + id;

/** Markers of TTL sessions, each attached to the store lease that runs out when the session does. */
export const SESSION_TTL_ROOT = "/consul-session-ttl/";
export const sessionTtlKey = (dc: string, id: string): string => `${SESSION_TTL_ROOT}${dc}/${id}`;

/** The datacenter and session id of a TTL marker key; undefined for any other key. */
export function parseSessionTtlKey(key: string): { readonly dc: string; readonly id: string } | undefined {
  if (!key.startsWith(SESSION_TTL_ROOT)) return undefined;
  const rest = key.slice(SESSION_TTL_ROOT.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { dc: rest.slice(0, slash), id: rest.slice(slash + 1) };
}
