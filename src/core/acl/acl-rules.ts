import { PrefixRules } from "./prefix-rules.ts";

/** What a legacy Consul rule grants; write implies read, deny grants nothing. */
export const ACL_POLICIES = ["read", "write", "deny"] as const;
export type AclPolicy = (typeof ACL_POLICIES)[number];

/**
 * The kinds of names a legacy Consul rule can guard, all prefix rules. Berth supports these; the
 * other legacy kinds (operator, query, keyring) guard endpoints Berth does not serve.
 */
export const ACL_RULE_TYPES = ["key", "service", "event", "node", "session", "agent"] as const;
export type AclRuleType = (typeof ACL_RULE_TYPES)[number];

/** A token's compiled rules: one prefix table per rule type. */
export type AclRules = Readonly<Record<AclRuleType, PrefixRules>>;

/** One prefix table per rule type, each from its [prefix, policy] pairs (none when absent). */
export function aclRulesOf(rules: Partial<Record<AclRuleType, Iterable<readonly [string, AclPolicy]>>>): AclRules {
  return Object.fromEntries(ACL_RULE_TYPES.map((type) => [type, new PrefixRules(rules[type])])) as Record<
    AclRuleType,
    PrefixRules
  >;
}
