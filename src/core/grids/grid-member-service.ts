import { z } from "zod";
import type { Compare } from "../../store/state-store.ts";
import { assertGridAdmin } from "../auth/access-policy.ts";
import type { Principal } from "../auth/principal.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { GRID_ROLES, type GridRole, type User } from "../users/user-record.ts";
import type { UserService } from "../users/user-service.ts";
import { parseInput } from "../validation/parse-input.ts";
import type { GridService } from "./grid-service.ts";

/** POST /v1/grids/:grid/users: the user by username or e-mail, and their role (member by default). */
export const newGridMemberSchema = z
  .object(
    {
      username: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
      email: z.string({ error: "must be a string" }).min(1, "must not be empty").optional(),
      role: z.enum(GRID_ROLES, { error: `must be one of ${GRID_ROLES.join(", ")}` }).default("member"),
    },
    { error: "must be an object" },
  )
  .refine((input) => input.username !== undefined || input.email !== undefined, {
    error: "give a username or an email",
    path: ["username"],
  });
export type NewGridMember = z.output<typeof newGridMemberSchema>;

/** A user as a member of one grid. */
export interface GridMember {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  readonly role: GridRole;
}

/** Who belongs to a grid. Seeing and changing that takes master_admin or the grid's grid_admin. */
export class GridMemberService {
  readonly #grids: GridService;
  readonly #users: UserService;

  constructor(grids: GridService, users: UserService) {
    this.#grids = grids;
    this.#users = users;
  }

  async list(principal: Principal, grid: string): Promise<GridMember[]> {
    await this.#assertAdminOf(principal, grid);
    return (await this.#users.gridMembers(grid)).map((user) => memberOf(user, user.grids[grid]!));
  }

  /** Adds the user to the grid, or changes their role in it. An unknown user is a ValidationError. */
  async add(principal: Principal, grid: string, body: unknown): Promise<GridMember> {
    const guard = await this.#assertAdminOf(principal, grid);
    const input = parseInput(newGridMemberSchema, body);
    const user = await this.#resolve(input);
    const updated = await this.#users.setGridRole(user.username, grid, input.role);
    // The membership lives in the user record, outside the grid's transactions: when the grid was
    // removed (or removed and created again) meanwhile, take it back, so it never outlives its grid.
    const now = await this.#grids.guard(grid).catch(() => undefined);
    if (now?.value !== guard.value) {
      await this.#users.setGridRole(user.username, grid, null);
      throw new NotFoundError(`grid ${grid} not found`);
    }
    return memberOf(updated, input.role);
  }

  async remove(principal: Principal, grid: string, username: string): Promise<void> {
    await this.#assertAdminOf(principal, grid);
    const user = await this.#users.get(username);
    if (user.grids[grid] === undefined) throw new NotFoundError(`${user.username} is not a member of grid ${grid}`);
    await this.#users.setGridRole(user.username, grid, null);
  }

  /** Checks the caller administers the grid; returns the grid's existence guard (NotFoundError without one). */
  async #assertAdminOf(principal: Principal, grid: string): Promise<Compare> {
    assertGridAdmin(principal, grid);
    return this.#grids.guard(grid);
  }

  async #resolve(input: NewGridMember): Promise<User> {
    if (input.username !== undefined) {
      const user = await this.#users.get(input.username).catch((error: unknown) => {
        if (error instanceof NotFoundError || error instanceof ValidationError) return undefined;
        throw error;
      });
      if (!user) throw new ValidationError({ username: "no such user" });
      return user;
    }
    const user = await this.#users.findByEmail(input.email ?? "");
    if (!user) throw new ValidationError({ email: "no such user" });
    return user;
  }
}

function memberOf(user: User, role: GridRole): GridMember {
  return { id: user.id, username: user.username, email: user.email, role };
}
