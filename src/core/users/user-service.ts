import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { JsonValue, StateStore } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { updateRecord } from "../records/update-record.ts";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "./password-hasher.ts";
import {
  type GridRole,
  type MasterRole,
  type StoredUser,
  storedUserSchema,
  toUser,
  type User,
  usernameSchema,
} from "./user-record.ts";

export const USERS_PREFIX = "/users/";
const USER_IDS_PREFIX = "/user-ids/";
/** Created once, with the first admin: its existence is what makes admin init answer 409. */
const ADMIN_INITIALIZED_KEY = "/meta/admin-initialized";
export const MIN_PASSWORD_LENGTH = 12;

export interface NewUser {
  readonly username: string;
  readonly email?: string | null;
  /** Without a password the user gets an invite code to redeem (through an external login or by setting one). */
  readonly password?: string;
  readonly roles?: readonly MasterRole[];
}

export interface CreatedUser {
  readonly user: User;
  /** Shown once, to whoever invited the user; only its hash is kept. */
  readonly invite_code?: string;
}

const hashCode = (code: string): string => createHash("sha256").update(code).digest("hex");
const isAdmin = (user: StoredUser): boolean => user.roles.includes("master_admin");
/** Attempts of a guarded change before giving up on concurrent writers. */
const MAX_ATTEMPTS = 10;

/** Users, their master roles and grid memberships. Passwords and invite codes are kept as hashes only. */
export class UserService {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** True once the first admin exists (through admin init or BERTH_ADMIN_PASSWORD). */
  async adminInitialized(): Promise<boolean> {
    return (await this.#store.get(ADMIN_INITIALIZED_KEY)) !== undefined;
  }

  /** Creates the first master_admin. Throws ConflictError once one was created, however many times it is called at once. */
  async initAdmin(username: string, password: string): Promise<User> {
    const name = this.#username(username);
    this.#assertPassword(password);
    const stored = this.#newRecord(name, null, await hashPassword(password), ["master_admin"], null);
    const result = await this.#store.txn({
      compare: [
        { key: ADMIN_INITIALIZED_KEY, target: "create_revision", op: "==", value: 0 },
        { key: USERS_PREFIX + name, target: "create_revision", op: "==", value: 0 },
      ],
      success: [
        { type: "put", key: ADMIN_INITIALIZED_KEY, value: { username: name, at: stored.created_at } },
        ...this.#writeOps(stored),
      ],
    });
    if (!result.succeeded) throw new ConflictError("an admin user already exists");
    return toUser(stored);
  }

  async create(input: NewUser): Promise<CreatedUser> {
    const name = this.#username(input.username);
    const email = input.email === undefined || input.email === null ? null : this.#email(input.email);
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      this.#assertPassword(input.password);
      passwordHash = await hashPassword(input.password);
    }
    const inviteCode = passwordHash === null ? randomBytes(18).toString("base64url") : undefined;
    const stored = this.#newRecord(
      name,
      email,
      passwordHash,
      [...(input.roles ?? [])],
      inviteCode ? hashCode(inviteCode) : null,
    );
    if (email !== null && (await this.findByEmail(email))) throw new ValidationError({ email: "is already taken" });
    const result = await this.#store.txn({
      compare: [{ key: USERS_PREFIX + name, target: "create_revision", op: "==", value: 0 }],
      success: this.#writeOps(stored),
    });
    if (!result.succeeded) throw new ValidationError({ username: "is already taken" });
    return inviteCode ? { user: toUser(stored), invite_code: inviteCode } : { user: toUser(stored) };
  }

  async get(username: string): Promise<User> {
    return toUser(await this.#stored(username));
  }

  async findById(id: string): Promise<User | undefined> {
    const link = await this.#store.get(USER_IDS_PREFIX + id);
    if (!link) return undefined;
    const kv = await this.#store.get(USERS_PREFIX + (link.value as { username: string }).username);
    const stored = kv ? storedUserSchema.parse(kv.value) : undefined;
    return stored && stored.id === id ? toUser(stored) : undefined;
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const wanted = email.trim().toLowerCase();
    return (await this.#all()).find((user) => user.email?.toLowerCase() === wanted);
  }

  async findByExternalId(externalId: string): Promise<User | undefined> {
    const stored = (await this.#allStored()).find((user) => user.external_id === externalId);
    return stored ? toUser(stored) : undefined;
  }

  /** The user an unused invite code belongs to (an external login checks it before sending the user away). */
  async findByInviteCode(code: string): Promise<User | undefined> {
    const hash = hashCode(code);
    const stored = (await this.#allStored()).find((user) => user.invite_code_hash === hash);
    return stored ? toUser(stored) : undefined;
  }

  async list(): Promise<User[]> {
    return this.#all();
  }

  /**
   * Deletes the user; every token they held stops working because each request re-reads the user.
   * Throws ConflictError for the last master_admin.
   */
  async remove(username: string): Promise<void> {
    await this.#changeKeepingAnAdmin(username, () => null);
  }

  /** The user when the password is right; undefined otherwise, taking as long either way. */
  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const parsed = usernameSchema.safeParse(username);
    const kv = parsed.success ? await this.#store.get(USERS_PREFIX + parsed.data) : undefined;
    const stored = kv ? storedUserSchema.parse(kv.value) : undefined;
    const hash = stored?.password_hash ?? (await DUMMY_PASSWORD_HASH);
    const matches = await verifyPassword(password, hash);
    return stored?.password_hash && matches ? toUser(stored) : undefined;
  }

  async setPassword(username: string, password: string): Promise<User> {
    this.#assertPassword(password);
    const hash = await hashPassword(password);
    return this.#update(username, (user) => ({ ...user, password_hash: hash }));
  }

  async addRole(username: string, role: MasterRole): Promise<User> {
    return this.#update(username, (user) =>
      user.roles.includes(role) ? user : { ...user, roles: [...user.roles, role] },
    );
  }

  /** Throws ConflictError when it would take master_admin from the last user holding it. */
  async removeRole(username: string, role: MasterRole): Promise<User> {
    const next = await this.#changeKeepingAnAdmin(username, (user) => ({
      ...user,
      roles: user.roles.filter((held) => held !== role),
    }));
    return toUser(next as StoredUser);
  }

  /** Makes the user a member (or grid_admin) of a grid; null removes them from it. */
  async setGridRole(username: string, grid: string, role: GridRole | null): Promise<User> {
    return this.#update(username, (user) => {
      const grids = { ...user.grids };
      if (role === null) delete grids[grid];
      else grids[grid] = role;
      return { ...user, grids };
    });
  }

  async gridMembers(grid: string): Promise<User[]> {
    return (await this.#all()).filter((user) => user.grids[grid] !== undefined);
  }

  /**
   * Uses an invite code once: links the external identity and/or sets the password.
   * Throws NotFoundError for an unknown or used code.
   */
  async redeemInvite(code: string, link: { externalId?: string; email?: string; password?: string }): Promise<User> {
    const hash = hashCode(code);
    const stored = (await this.#allStored()).find((user) => user.invite_code_hash === hash);
    if (!stored) throw new NotFoundError("invite code is unknown or already used");
    if (link.password !== undefined) this.#assertPassword(link.password);
    const passwordHash = link.password === undefined ? stored.password_hash : await hashPassword(link.password);
    return this.#update(stored.username, (user) => {
      if (user.invite_code_hash !== hash) throw new NotFoundError("invite code is unknown or already used");
      return {
        ...user,
        invite_code_hash: null,
        password_hash: passwordHash,
        external_id: link.externalId ?? user.external_id,
        email: user.email ?? link.email ?? null,
      };
    });
  }

  async linkExternalId(username: string, externalId: string): Promise<User> {
    return this.#update(username, (user) => ({ ...user, external_id: externalId }));
  }

  async #update(username: string, change: (user: StoredUser) => StoredUser): Promise<User> {
    const name = this.#username(username);
    const next = await updateRecord(this.#store, USERS_PREFIX + name, (kv) => {
      if (!kv) throw new NotFoundError(`user ${name} not found`);
      const user = storedUserSchema.parse(kv.value);
      return { ...change(user), updated_at: new Date().toISOString() } as unknown as JsonValue;
    });
    return toUser(storedUserSchema.parse(next));
  }

  /**
   * Changes or (for null) deletes a user in one transaction that also pins every other
   * master_admin record, so that two admins demoting each other at once cannot both win and leave
   * nobody able to administer the master.
   */
  async #changeKeepingAnAdmin(
    username: string,
    change: (user: StoredUser) => StoredUser | null,
  ): Promise<StoredUser | null> {
    const name = this.#username(username);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { kvs } = await this.#store.range(USERS_PREFIX, { prefix: true });
      const records = kvs.map((kv) => ({ kv, user: storedUserSchema.parse(kv.value) }));
      const target = records.find((record) => record.user.username === name);
      if (!target) throw new NotFoundError(`user ${name} not found`);
      const changed = change(target.user);
      const next = changed && { ...changed, updated_at: new Date().toISOString() };
      const otherAdmins = records.filter((record) => record !== target && isAdmin(record.user));
      if (isAdmin(target.user) && !(next && isAdmin(next)) && otherAdmins.length === 0) {
        throw new ConflictError(`${name} is the last master_admin; give another user that role first`);
      }
      const result = await this.#store.txn({
        compare: [target, ...otherAdmins].map(({ kv }) => ({
          key: kv.key,
          target: "mod_revision" as const,
          op: "==" as const,
          value: kv.mod_revision,
        })),
        success: next
          ? [{ type: "put", key: target.kv.key, value: next as unknown as JsonValue }]
          : [
              { type: "delete", key: target.kv.key },
              { type: "delete", key: USER_IDS_PREFIX + target.user.id },
            ],
      });
      if (result.succeeded) return next;
    }
    throw new ConflictError(`user ${name} is being changed concurrently; try again`);
  }

  async #stored(username: string): Promise<StoredUser> {
    const name = this.#username(username);
    const kv = await this.#store.get(USERS_PREFIX + name);
    if (!kv) throw new NotFoundError(`user ${name} not found`);
    return storedUserSchema.parse(kv.value);
  }

  async #allStored(): Promise<StoredUser[]> {
    const { kvs } = await this.#store.range(USERS_PREFIX, { prefix: true });
    return kvs.map((kv) => storedUserSchema.parse(kv.value));
  }

  async #all(): Promise<User[]> {
    return (await this.#allStored()).map(toUser);
  }

  #newRecord(
    username: string,
    email: string | null,
    passwordHash: string | null,
    roles: MasterRole[],
    inviteHash: string | null,
  ): StoredUser {
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      username,
      email,
      password_hash: passwordHash,
      roles,
      grids: {},
      invite_code_hash: inviteHash,
      external_id: null,
      created_at: now,
      updated_at: now,
    };
  }

  #writeOps(user: StoredUser) {
    return [
      { type: "put" as const, key: USERS_PREFIX + user.username, value: user as unknown as JsonValue },
      { type: "put" as const, key: USER_IDS_PREFIX + user.id, value: { username: user.username } },
    ];
  }

  #username(username: unknown): string {
    const parsed = usernameSchema.safeParse(username);
    if (!parsed.success) throw new ValidationError({ username: parsed.error.issues[0]?.message ?? "is invalid" });
    return parsed.data;
  }

  #email(email: unknown): string {
    if (typeof email !== "string" || !/^[^\s@]+@[^\s@]+$/.test(email.trim()))
      throw new ValidationError({ email: "is not an e-mail address" });
    return email.trim();
  }

  #assertPassword(password: unknown): void {
    if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) {
      throw new ValidationError({ password: `must be at least ${MIN_PASSWORD_LENGTH} characters` });
    }
  }
}
