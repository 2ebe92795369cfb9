import { createHash } from "node:crypto";
import { z } from "zod";
import type { KeyValue } from "../../store/state-store.ts";

export const ACL_TOKENS_PREFIX = "/acl/tokens/";

/** The token of requests that bring none. Always exists; its rules may be edited. */
export const ANONYMOUS_TOKEN_ID = "anonymous";

export const ACL_TOKEN_TYPES = ["client", "management"] as const;
export type AclTokenType = (typeof ACL_TOKEN_TYPES)[number];

/** How a token is stored. The ID is the secret itself, as in legacy Consul. */
export const storedAclTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(ACL_TOKEN_TYPES),
  rules: z.string(),
});
export type StoredAclToken = z.infer<typeof storedAclTokenSchema>;

/** A token with the store revisions of its creation and last change. */
export interface AclToken extends StoredAclToken {
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** Keyed by a hash of the ID, so the secret never appears in a key (keys show up in errors and tools). */
export function aclTokenKey(id: string): string {
  return ACL_TOKENS_PREFIX + createHash("sha256").update(id).digest("hex");
}

export function toAclToken(kv: KeyValue): AclToken {
  return { ...storedAclTokenSchema.parse(kv.value), createIndex: kv.create_revision, modifyIndex: kv.mod_revision };
}
