import { createHash, timingSafeEqual } from "node:crypto";
import type { StateStore } from "../../store/state-store.ts";
import { isMasterAdmin } from "../auth/access-policy.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import type { Principal } from "../auth/principal.ts";
import { ForbiddenError } from "../errors/forbidden-error.ts";
import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import type { Acl } from "./acl.ts";
import { EMPTY_ACL_RULES, parseAclRules } from "./acl-rules-parser.ts";
import type { AclSettings } from "./acl-settings.ts";
import { ANONYMOUS_TOKEN_ID, aclTokenKey, toAclToken } from "./acl-token-record.ts";
import type { HclParser } from "./hcl-parser.ts";
import { MANAGE_ALL_ACL } from "./manage-all-acl.ts";
import { RulesAcl } from "./rules-acl.ts";

/** Compiled tokens kept at most: tokens made per job or lease and used once must not pile up. */
const MAX_COMPILED = 10_000;

/** Who a request's token turned out to be. */
export interface AclResolution {
  readonly acl: Acl;
  /** Set when the token was a Berth user's bearer token. */
  readonly principal?: Principal;
}

interface CompiledToken {
  /** The mod_revision of the record the ACL was compiled from. */
  readonly revision: number;
  readonly acl: Promise<Acl>;
}

/**
 * Turns the token a Consul request brings into its Acl: ACLs off → everything allowed; no token →
 * the anonymous token; the master token or a management token → everything; a client token →
 * its rules over the default policy; otherwise a Berth bearer token, where a master_admin counts
 * as management and any other user as anonymous.
 */
export class AclService {
  readonly #store: StateStore;
  readonly #settings: AclSettings;
  readonly #authenticator: Pick<Authenticator, "bearer">;
  readonly #parser: HclParser;
  readonly #masterTokenDigest: Buffer | undefined;
  /**
   * Compiled rules by token key. Each lookup checks the record's revision in the store's
   * in-memory view, so a changed or destroyed token takes effect on the very next request
   * (a watch would leave a window after the write was acknowledged) at the cost of a map read.
   */
  readonly #compiled = new Map<string, CompiledToken>();

  constructor(
    store: StateStore,
    settings: AclSettings,
    authenticator: Pick<Authenticator, "bearer">,
    parser: HclParser,
  ) {
    this.#store = store;
    this.#settings = settings;
    this.#authenticator = authenticator;
    this.#parser = parser;
    this.#masterTokenDigest = settings.masterToken === undefined ? undefined : digest(settings.masterToken);
  }

  get enabled(): boolean {
    return this.#settings.enabled;
  }

  /** "" is no token. Throws ForbiddenError "ACL not found" for a token that is neither an ACL token nor a valid bearer token. */
  async resolve(token: string): Promise<AclResolution> {
    if (!this.#settings.enabled) return { acl: MANAGE_ALL_ACL };
    if (token === "") return { acl: await this.#anonymous() };
    if (this.#isMasterToken(token)) return { acl: MANAGE_ALL_ACL };
    const acl = await this.#tokenAcl(token);
    if (acl) return { acl };
    const principal = await this.#bearer(token);
    return { acl: isMasterAdmin(principal) ? MANAGE_ALL_ACL : await this.#anonymous(), principal };
  }

  async #anonymous(): Promise<Acl> {
    return (await this.#tokenAcl(ANONYMOUS_TOKEN_ID)) ?? new RulesAcl(EMPTY_ACL_RULES, this.#defaultAllow);
  }

  async #tokenAcl(id: string): Promise<Acl | undefined> {
    const key = aclTokenKey(id);
    const kv = await this.#store.get(key);
    if (!kv) {
      this.#compiled.delete(key);
      return undefined;
    }
    const cached = this.#compiled.get(key);
    if (cached?.revision === kv.mod_revision) return cached.acl;
    const token = toAclToken(kv);
    if (token.type === "management") return MANAGE_ALL_ACL;
    // The promise is cached, so concurrent first requests with a token compile it once.
    const compiled: CompiledToken = { revision: kv.mod_revision, acl: this.#compile(token.rules, key) };
    this.#compiled.delete(key);
    this.#compiled.set(key, compiled);
    // A Map iterates in insertion order, so the first key is the one compiled longest ago.
    if (this.#compiled.size > MAX_COMPILED) this.#compiled.delete(this.#compiled.keys().next().value as string);
    return compiled.acl;
  }

  async #compile(rules: string, key: string): Promise<Acl> {
    try {
      return new RulesAcl(await parseAclRules(rules, this.#parser), this.#defaultAllow);
    } catch {
      // Stored rules were checked when written; should they fail now (a parser timeout under load),
      // the token may do nothing this time, and the next request tries again.
      this.#compiled.delete(key);
      return new RulesAcl(EMPTY_ACL_RULES, false);
    }
  }

  async #bearer(token: string): Promise<Principal> {
    try {
      return await this.#authenticator.bearer(token);
    } catch (error) {
      if (error instanceof UnauthorizedError) throw new ForbiddenError("ACL not found");
      throw error;
    }
  }

  #isMasterToken(token: string): boolean {
    return this.#masterTokenDigest !== undefined && timingSafeEqual(digest(token), this.#masterTokenDigest);
  }

  get #defaultAllow(): boolean {
    return this.#settings.defaultPolicy === "allow";
  }
}

/** Equal-length digests, so the comparison takes the same time whatever the token. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
