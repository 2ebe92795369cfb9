import type { AclPolicy } from "./acl-rules.ts";

interface PrefixRule {
  readonly prefix: string;
  readonly policy: AclPolicy;
}

/**
 * Prefix rules of one type, for longest-prefix lookups. A token has a handful of rules, so a
 * list ordered longest first answers with the first match, without a trie's bookkeeping.
 */
export class PrefixRules {
  readonly #rules: readonly PrefixRule[];

  /** A prefix given twice keeps its last policy, as Consul's rule tree does. */
  constructor(rules: Iterable<readonly [string, AclPolicy]> = []) {
    this.#rules = [...new Map(rules)]
      .map(([prefix, policy]) => ({ prefix, policy }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The policy of the longest rule prefixing the name; undefined when none does. */
  longest(name: string): AclPolicy | undefined {
    return this.#rules.find((rule) => name.startsWith(rule.prefix))?.policy;
  }

  /** Whether a rule on the prefix itself or on a longer prefix under it has a policy passing the test. */
  someUnder(prefix: string, test: (policy: AclPolicy) => boolean): boolean {
    return this.#rules.some((rule) => rule.prefix.startsWith(prefix) && test(rule.policy));
  }
}
