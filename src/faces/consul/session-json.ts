import type { Session } from "../../core/consul/session-record.ts";

/** A session as Consul's JSON, fields in Go's order; LockDelay in nanoseconds, as Go encodes a Duration. */
export function sessionJson(session: Session) {
  return {
    ID: session.id,
    Name: session.name,
    Node: session.node,
    Checks: session.checks,
    LockDelay: session.lockDelayNs,
    Behavior: session.behavior,
    TTL: session.ttl,
    CreateIndex: session.createIndex,
    ModifyIndex: session.modifyIndex,
  };
}
