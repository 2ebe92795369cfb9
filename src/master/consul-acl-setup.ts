import { randomUUID } from "node:crypto";
import { type AclDefaultPolicy, type AclSettings, DEFAULT_ACL_SETTINGS } from "../core/acl/acl-settings.ts";

export interface ConsulAclOptions {
  readonly consulAcl?: boolean;
  readonly consulAclDefaultPolicy?: AclDefaultPolicy;
  /** BERTH_CONSUL_ACL_MASTER_TOKEN; "" is none. */
  readonly consulAclMasterToken?: string;
  readonly dev: boolean;
}

export interface ConsulAclSetup {
  readonly settings: AclSettings;
  /** Start-up lines for standard output (never the log): how a Consul client gets in. */
  readonly banner: readonly string[];
}

/**
 * The master's Consul ACL settings, enabled with default deny unless told otherwise. A dev master
 * without a master token gets a fresh one, shown in its banner, so Consul clients work at once.
 */
export function consulAclSetup(options: ConsulAclOptions): ConsulAclSetup {
  const enabled = options.consulAcl ?? DEFAULT_ACL_SETTINGS.enabled;
  const defaultPolicy = options.consulAclDefaultPolicy ?? DEFAULT_ACL_SETTINGS.defaultPolicy;
  const configured = options.consulAclMasterToken === "" ? undefined : options.consulAclMasterToken;
  const generated = options.dev && enabled && configured === undefined ? randomUUID() : undefined;
  const settings: AclSettings = { enabled, defaultPolicy, masterToken: configured ?? generated };
  if (!options.dev) return { settings, banner: [] };
  if (!enabled) return { settings, banner: ["Consul ACLs: disabled (every Consul request may do everything)"] };
  if (generated === undefined) {
    return { settings, banner: ["Consul ACL master token: the one in BERTH_CONSUL_ACL_MASTER_TOKEN"] };
  }
  return {
    settings,
    banner: [
      `Consul ACL master token: ${generated}  (new at every dev start; BERTH_CONSUL_ACL_MASTER_TOKEN chooses one)`,
      `  export CONSUL_HTTP_TOKEN=${generated}`,
    ],
  };
}
