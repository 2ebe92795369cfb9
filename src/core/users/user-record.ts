import { z } from "zod";

/** Roles a user holds across the whole master. */
export const MASTER_ROLES = ["master_admin"] as const;
export type MasterRole = (typeof MASTER_ROLES)[number];

/** A user's standing in one grid: a member uses its content; a grid_admin may also change the grid. */
export const GRID_ROLES = ["member", "grid_admin"] as const;
export type GridRole = (typeof GRID_ROLES)[number];

/** Usernames are e-mail-like or simple names: letters, digits and . _ @ + - (no spaces, no slashes). */
export const usernameSchema = z
  .string({ error: "must be a string" })
  .trim()
  .min(1, { error: "must not be empty" })
  .max(128, { error: "must be at most 128 characters" })
  .regex(/^[A-Za-z0-9._@+-]+$/, { error: "may hold only letters, digits and . _ @ + -" });

/** How a user is stored under /users/<username>. Hashes only: no password or code in the clear. */
export const storedUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  password_hash: z.string().nullable(),
  roles: z.array(z.enum(MASTER_ROLES)),
  grids: z.record(z.string(), z.enum(GRID_ROLES)),
  /** sha256 of a pending invite code; cleared when the invite is used. */
  invite_code_hash: z.string().nullable(),
  /** Subject at the external OAuth2/OIDC provider once the user logged in through it. */
  external_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StoredUser = z.infer<typeof storedUserSchema>;

/** What leaves core: the record without hashes. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  readonly roles: readonly MasterRole[];
  readonly grids: Readonly<Record<string, GridRole>>;
  readonly has_password: boolean;
  readonly invite_pending: boolean;
  readonly created_at: string;
  readonly updated_at: string;
}

export function toUser(stored: StoredUser): User {
  return {
    id: stored.id,
    username: stored.username,
    email: stored.email,
    roles: stored.roles,
    grids: stored.grids,
    has_password: stored.password_hash !== null,
    invite_pending: stored.invite_code_hash !== null,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
}
