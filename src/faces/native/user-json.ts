import type { MasterRole, User } from "../../core/users/user-record.ts";

const ROLE_DESCRIPTIONS: Readonly<Record<MasterRole, string>> = {
  master_admin: "Master admin: manages users, grids and the master itself",
};

/** A user as the native API shows it: Kontena's `id, email, name, roles[{name, description}]`, plus Berth's fields. */
export function userJson(user: User) {
  return {
    id: user.id,
    username: user.username,
    name: user.username,
    email: user.email,
    roles: user.roles.map((role) => ({ name: role, description: ROLE_DESCRIPTIONS[role] })),
    grids: user.grids,
    invite_pending: user.invite_pending,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}
