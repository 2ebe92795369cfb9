import { randomUUID } from "node:crypto";
import type { StateStore } from "../../store/state-store.ts";
import type { QueryResult } from "../blocking/blocking-query-service.ts";
import { BadRequestError } from "../errors/bad-request-error.ts";
import { ForbiddenError } from "../errors/forbidden-error.ts";
import { parseAclRules } from "./acl-rules-parser.ts";
import {
  ACL_TOKENS_PREFIX,
  type AclToken,
  type AclTokenType,
  ANONYMOUS_TOKEN_ID,
  aclTokenKey,
  type StoredAclToken,
  toAclToken,
} from "./acl-token-record.ts";
import type { HclParser } from "./hcl-parser.ts";

/** A token as a client writes it; what is left out takes Consul's defaults (blank, type client). */
export interface AclTokenInput {
  /** Generated (a UUID) when absent. */
  readonly id?: string;
  readonly name?: string;
  readonly type?: AclTokenType;
  readonly rules?: string;
}

const ANONYMOUS_TOKEN: StoredAclToken = { id: ANONYMOUS_TOKEN_ID, name: "Anonymous Token", type: "client", rules: "" };

/** Legacy Consul ACL tokens: create, replace, destroy, clone, read. Who may call what is the caller's business. */
export class AclTokenService {
  readonly #store: StateStore;
  readonly #parser: HclParser;
  readonly #masterToken: string | undefined;

  constructor(store: StateStore, parser: HclParser, masterToken?: string) {
    this.#store = store;
    this.#parser = parser;
    this.#masterToken = masterToken;
  }

  /** Creates the anonymous token unless it exists (its rules may have been edited). */
  async ensureAnonymous(): Promise<void> {
    const key = aclTokenKey(ANONYMOUS_TOKEN_ID);
    await this.#store.txn({
      compare: [{ key, target: "create_revision", op: "==", value: 0 }],
      success: [{ type: "put", key, value: { ...ANONYMOUS_TOKEN } }],
    });
  }

  /**
   * Creates or replaces a token and returns its ID. Consul's create and update are this one
   * upsert: fields left out are reset to their defaults. The rules must compile; nothing is
   * written otherwise.
   */
  async set(input: AclTokenInput): Promise<string> {
    const token: StoredAclToken = {
      id: input.id ?? randomUUID(),
      name: input.name ?? "",
      type: input.type ?? "client",
      rules: input.rules ?? "",
    };
    this.#assertChangeable(token.id);
    if (token.id === ANONYMOUS_TOKEN_ID && token.type !== "client") {
      throw new BadRequestError("the anonymous token must stay a client token: it is every tokenless request's");
    }
    await parseAclRules(token.rules, this.#parser);
    await this.#store.put(aclTokenKey(token.id), { ...token });
    return token.id;
  }

  /** Deletes the token; a token that does not exist is already gone. */
  async destroy(id: string): Promise<void> {
    this.#assertChangeable(id);
    if (id === ANONYMOUS_TOKEN_ID) throw new ForbiddenError("Permission denied: Cannot delete anonymous token");
    await this.#store.delete(aclTokenKey(id));
  }

  /** A new token with the source's name, type and rules; undefined when the source does not exist. */
  async clone(id: string): Promise<string | undefined> {
    const source = await this.find(id);
    if (!source) return undefined;
    return this.set({ name: source.name, type: source.type, rules: source.rules });
  }

  async find(id: string): Promise<AclToken | undefined> {
    const kv = await this.#store.get(aclTokenKey(id));
    return kv ? toAclToken(kv) : undefined;
  }

  /** The token (or undefined) and the index of the last change to any token, for blocking queries. */
  async get(id: string): Promise<QueryResult<AclToken | undefined>> {
    // Index and value from one revision, so a change landing during the read is not skipped.
    const revision = this.#store.currentRevision();
    const index = this.#store.lastChange(ACL_TOKENS_PREFIX);
    const kv = await this.#store.get(aclTokenKey(id), { revision });
    return { index, value: kv ? toAclToken(kv) : undefined };
  }

  /** Every token, ordered by ID, and the index of the last change to any of them. */
  async list(): Promise<QueryResult<AclToken[]>> {
    const revision = this.#store.currentRevision();
    const index = this.#store.lastChange(ACL_TOKENS_PREFIX);
    const { kvs } = await this.#store.range(ACL_TOKENS_PREFIX, { prefix: true, revision });
    const tokens = kvs.map(toAclToken).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { index, value: tokens };
  }

  /** The master token lives in the master's settings; a record under its ID would only confuse. */
  #assertChangeable(id: string): void {
    if (this.#masterToken !== undefined && id === this.#masterToken) {
      throw new ForbiddenError("Permission denied: the master token is set in the master's settings");
    }
  }
}
