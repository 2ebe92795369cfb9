import type { PrefixRules } from "./prefix-rules.ts";

/** What a legacy Consul rule grants; write implies read, deny grants nothing. */
export const ACL_POLICIES = ["read", "write", "deny"] as const;
export type AclPolicy = (typeof ACL_POLICIES)[number];

/** The kinds of names a legacy Consul rule can guard (Berth supports these three). */
export const ACL_RULE_TYPES = ["key", "service", "event"] as const;
export type AclRuleType = (typeof ACL_RULE_TYPES)[number];

/** A token's compiled rules: one prefix table per rule type. */
export type AclRules = Readonly<Record<AclRuleType, PrefixRules>>;
