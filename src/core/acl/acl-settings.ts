/** What a request gets when no rule of its token covers the name (Consul's acl_default_policy). */
export const ACL_DEFAULT_POLICIES = ["allow", "deny"] as const;
export type AclDefaultPolicy = (typeof ACL_DEFAULT_POLICIES)[number];

/** How the master enforces Consul ACLs, from its settings. */
export interface AclSettings {
  /** Off: every request may do everything, and the ACL endpoints answer 401. */
  readonly enabled: boolean;
  readonly defaultPolicy: AclDefaultPolicy;
  /** A management token that needs no record (Consul's acl_master_token); none when undefined. */
  readonly masterToken?: string;
}

/** A fresh master must not be open to the network. */
export const DEFAULT_ACL_SETTINGS: AclSettings = { enabled: true, defaultPolicy: "deny" };
