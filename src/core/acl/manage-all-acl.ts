import type { Acl } from "./acl.ts";

const allowed = (): boolean => true;

/** A management token's permissions, and everyone's when ACLs are disabled: everything. */
export const MANAGE_ALL_ACL: Acl = Object.freeze({
  management: true,
  keyRead: allowed,
  keyWrite: allowed,
  keyWritePrefix: allowed,
  serviceRead: allowed,
  serviceWrite: allowed,
  eventRead: allowed,
  eventWrite: allowed,
  nodeRead: allowed,
  nodeWrite: allowed,
  sessionRead: allowed,
  sessionWrite: allowed,
  agentRead: allowed,
  agentWrite: allowed,
});
