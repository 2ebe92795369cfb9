import type { Acl } from "./acl.ts";
import type { AclPolicy, AclRules } from "./acl-rules.ts";

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
    return this.#read(this.#rules.key.longest(key));
  }

  keyWrite(key: string): boolean {
    return this.#write(this.#rules.key.longest(key));
  }

  keyWritePrefix(prefix: string): boolean {
    const rule = this.#rules.key.longest(prefix);
    if (rule !== undefined && rule !== "write") return false;
    // A rule deeper down that is not write (read or deny) protects keys the operation would touch.
    if (this.#rules.key.someUnder(prefix, (policy) => policy !== "write")) return false;
    return rule !== undefined || this.#defaultAllow;
  }

  serviceRead(name: string): boolean {
    return this.#read(this.#rules.service.longest(name));
  }

  serviceWrite(name: string): boolean {
    return this.#write(this.#rules.service.longest(name));
  }

  eventRead(name: string): boolean {
    return this.#read(this.#rules.event.longest(name));
  }

  eventWrite(name: string): boolean {
    return this.#write(this.#rules.event.longest(name));
  }

  #read(policy: AclPolicy | undefined): boolean {
    return policy === undefined ? this.#defaultAllow : policy !== "deny";
  }

  #write(policy: AclPolicy | undefined): boolean {
    return policy === undefined ? this.#defaultAllow : policy === "write";
  }
}
