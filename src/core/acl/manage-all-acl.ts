import type { Acl } from "./acl.ts";

/** A management token's permissions, and everyone's when ACLs are disabled: everything. */
export const MANAGE_ALL_ACL: Acl = Object.freeze({
  management: true,
  keyRead: () => true,
  keyWrite: () => true,
  keyWritePrefix: () => true,
  serviceRead: () => true,
  serviceWrite: () => true,
  eventRead: () => true,
  eventWrite: () => true,
});
