import { z } from "zod";

const registryUrlSchema = z
  .string({ error: "must be a string" })
  .max(2048, "must be at most 2048 characters")
  .transform((text, context) => {
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
      context.addIssue({
        code: "custom",
        message: "must be an http or https URL such as https://registry.example.com/",
      });
      return z.NEVER;
    }
    if (url.username !== "" || url.password !== "") {
      context.addIssue({ code: "custom", message: "must not hold credentials; use username and password" });
      return z.NEVER;
    }
    return url;
  });

/** POST /v1/grids/:grid/external_registries */
export const newRegistrySchema = z.object(
  {
    url: registryUrlSchema,
    username: z.string({ error: "must be a string" }).min(1, "must not be empty").max(255, "is too long"),
    email: z.email({ error: "must be an e-mail address" }).max(255, "is too long").nullish(),
    password: z.string({ error: "must be a string" }).min(1, "must not be empty").max(8192, "is too long"),
  },
  { error: "must be an object" },
);

/** How a registry is stored under /registries/<grid>/<name>: the password sealed under the master key. */
export const storedRegistrySchema = z.object({
  name: z.string(),
  url: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  password_sealed: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StoredRegistry = z.infer<typeof storedRegistrySchema>;

/** A registry as the API shows it: never its password. */
export interface Registry {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly username: string;
  readonly email: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}
