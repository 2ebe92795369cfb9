import type { Acl } from "./acl.ts";
import type { AclRules, AclRuleType } from "./acl-rules.ts";

/**
 * A client token's permissions: its rules, and the master's default policy for names no rule
 * covers (Consul's parent ACL: allow-all or deny-all).
 */
export class RulesAcl implements Acl {
  readonly management = false;
  readonly #rules: AclRules;
  readonly #defaultAllow: boolean;

  constructor(rules: AclRules, defaultAllow: boolean) {
    this.#rules = rules;
    this.#defaultAllow = defaultAllow;
  }

  keyRead(key: string): boolean {
    return this.#read("key", key);
  }

  keyWrite(key: string): boolean {
    return this.#write("key", key);
  }

  keyWritePrefix(prefix: string): boolean {
    const rule = this.#rules.key.longest(prefix);
    if (rule !== undefined && rule !== "write") return false;
    // A rule deeper down that is not write (read or deny) protects keys the operation would touch.
    if (this.#rules.key.someUnder(prefix, (policy) => policy !== "write")) return false;
    return rule !== undefined || this.#defaultAllow;
  }

  serviceRead(name: string): boolean {
    return this.#read("service", name);
  }

  serviceWrite(name: string): boolean {
    return this.#write("service", name);
  }

  eventRead(name: string): boolean {
    return this.#read("event", name);
  }

  eventWrite(name: string): boolean {
    return this.#write("event", name);
  }

  nodeRead(name: string): boolean {
    return this.#read("node", name);
  }

  nodeWrite(name: string): boolean {
    return this.#write("node", name);
  }

  sessionRead(node: string): boolean {
    return this.#read("session", node);
  }

  sessionWrite(node: string): boolean {
    return this.#write("session", node);
  }

  agentRead(node: string): boolean {
    return this.#read("agent", node);
  }

  agentWrite(node: string): boolean {
    return this.#write("agent", node);
  }

  #read(type: AclRuleType, name: string): boolean {
    const policy = this.#rules[type].longest(name);
    return policy === undefined ? this.#defaultAllow : policy !== "deny";
  }

  #write(type: AclRuleType, name: string): boolean {
    const policy = this.#rules[type].longest(name);
    return policy === undefined ? this.#defaultAllow : policy === "write";
  }
}
