import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ConflictError } from "../errors/conflict-error.ts";
import { ForbiddenError } from "../errors/forbidden-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { UnauthorizedError } from "../errors/unauthorized-error.ts";
import type { User } from "./user-record.ts";
import type { UserService } from "./user-service.ts";

/** The admin a master creates by itself (from BERTH_ADMIN_PASSWORD, or in dev mode). */
export const BOOTSTRAP_ADMIN = "admin";

const WHERE_THE_CODE_IS =
  "admin init needs the one-time setup code that the master printed on its standard output at start-up " +
  "(or start the master with BERTH_ADMIN_PASSWORD); send it as SetupCode in the body or in the X-Berth-Setup-Code header";

/** What start-up found or did about the first admin, for the banner. */
export type AdminBootstrap =
  | { readonly kind: "exists" }
  | { readonly kind: "setup-code"; readonly code: string }
  | { readonly kind: "from-env"; readonly user: User }
  /** generatedPassword: the random password a dev master chose (absent when BERTH_ADMIN_PASSWORD gave one). */
  | { readonly kind: "dev"; readonly user: User; readonly generatedPassword?: string };

export interface AdminBootstrapOptions {
  readonly dev: boolean;
  /** BERTH_ADMIN_PASSWORD, when set. */
  readonly password?: string;
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * Who may create the first admin. Whoever reaches a fresh master's port first could otherwise
 * take it over, so admin init takes a setup code that only the operator sees (the start-up
 * output); the code lives in memory only and is useless once an admin exists.
 */
export class AdminSetupService {
  readonly #users: UserService;
  readonly #code = randomBytes(16).toString("hex");

  constructor(users: UserService) {
    this.#users = users;
  }

  /** Runs once at start-up: creates the admin from the environment or for dev mode, or hands out the setup code. */
  async bootstrap(options: AdminBootstrapOptions): Promise<AdminBootstrap> {
    if (options.dev) {
      if (options.password !== undefined) return { kind: "dev", user: await this.#ensureDevAdmin(options.password) };
      const generatedPassword = randomBytes(12).toString("base64url");
      return { kind: "dev", user: await this.#ensureDevAdmin(generatedPassword), generatedPassword };
    }
    if (await this.#users.adminInitialized()) return { kind: "exists" };
    if (options.password === undefined) return { kind: "setup-code", code: this.#code };
    try {
      return { kind: "from-env", user: await this.#users.initAdmin(BOOTSTRAP_ADMIN, options.password) };
    } catch (error) {
      // Another master sharing the store created it first.
      if (error instanceof ConflictError) return { kind: "exists" };
      throw error;
    }
  }

  /**
   * Creates the first admin. ConflictError once one exists; UnauthorizedError without a setup
   * code, ForbiddenError with a wrong one; ValidationError for a bad username or password.
   */
  async initAdmin(username: string, password: string, setupCode: string | undefined): Promise<User> {
    if (await this.#users.adminInitialized()) throw new ConflictError("an admin user already exists");
    if (setupCode === undefined || setupCode === "") throw new UnauthorizedError(WHERE_THE_CODE_IS);
    if (!timingSafeEqual(digest(setupCode), digest(this.#code))) {
      throw new ForbiddenError(`wrong setup code: ${WHERE_THE_CODE_IS}`);
    }
    return this.#users.initAdmin(username, password);
  }

  /** A dev master prints a working login at every start, so it sets the admin's password anew each time. */
  async #ensureDevAdmin(password: string): Promise<User> {
    try {
      return await this.#users.initAdmin(BOOTSTRAP_ADMIN, password);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    try {
      await this.#users.setPassword(BOOTSTRAP_ADMIN, password);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // The data directory's first admin has another name: add the dev login beside it.
      await this.#users.create({ username: BOOTSTRAP_ADMIN, password });
    }
    return this.#users.addRole(BOOTSTRAP_ADMIN, "master_admin");
  }
}
