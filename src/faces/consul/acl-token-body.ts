import { z } from "zod";
import { ACL_TOKEN_TYPES } from "../../core/acl/acl-token-record.ts";
import type { AclTokenInput } from "../../core/acl/acl-token-service.ts";
import { consulObject, decodeJsonBody, rawBody } from "./consul-body.ts";

/** IDs travel in URL paths and headers: printable, no separators, bounded. UUIDs fit, as do hand-picked names. */
const ID_PATTERN = /^[A-Za-z0-9._~:@+=-]{1,128}$/;

// null means "not given", as Go's decoder leaves a field alone on null.
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

// Unknown fields are ignored: clients send back what /v1/acl/info gave them, indexes included.
const aclTokenBodySchema = consulObject({
  ID: optional(
    z
      .string({ error: "must be a string" })
      .regex(ID_PATTERN, { error: "must be 1 to 128 letters, digits or . _ ~ : @ + = -" })
      .or(z.literal("")),
  ),
  Name: optional(z.string({ error: "must be a string" }).max(1024, { error: "must be at most 1024 characters" })),
  Type: optional(z.enum(ACL_TOKEN_TYPES, { error: 'must be "client" or "management"' })),
  Rules: optional(z.string({ error: "must be a string" })),
});

/** A legacy ACL body, `{"ID", "Name", "Type", "Rules"}`: every field optional, and no body at all for the defaults. */
export function parseAclTokenBody(body: unknown): AclTokenInput {
  if (rawBody(body).toString("utf8").trim() === "") return {};
  const { ID, Name, Type, Rules } = decodeJsonBody(aclTokenBodySchema, body);
  return { id: ID === "" ? undefined : ID, name: Name, type: Type, rules: Rules };
}
