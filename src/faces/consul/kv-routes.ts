import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import type { KvEntry } from "../../core/consul/kv-entry.ts";
import { kvOperation } from "../../core/consul/kv-operation.ts";
import type { KvService } from "../../core/consul/kv-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { PayloadTooLargeError } from "../../core/errors/payload-too-large-error.ts";
import { aclOf } from "../../http/request-principal.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { rawBody } from "./consul-body.ts";
import { consistencyOf } from "./consul-query-meta.ts";
import { datacenterOf, pathRest, queryParam } from "./consul-query-params.ts";
import { dirEntriesJson } from "./dir-entry-json.ts";
import { canonicalUint64, uint64Index, uint64Problem } from "./uint64-text.ts";

/** Consul's kv_max_value_size default: the largest value a PUT may carry. */
export const KV_MAX_VALUE_SIZE = 512 * 1024;

export interface KvRouteServices extends ConsulReadServices {
  readonly kv: KvService;
  readonly datacenters: DatacenterDirectory;
}

/**
 * `/v1/kv/<key>`: GET one entry, a tree (`?recurse`), key names (`?keys`, `?separator`) or the raw
 * value (`?raw`), all blocking; PUT a value (raw bytes of any content type) plainly, with `?cas`,
 * `?acquire` or `?release`, and `?flags`; DELETE one key, with `?cas`, or a tree (`?recurse`).
 */
export function registerKvRoutes(app: FastifyInstance, services: KvRouteServices): void {
  const { kv, datacenters } = services;

  app.get("/v1/kv/*", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const key = pathRest(request);
    const acl = aclOf(request);
    if (has(request, "keys")) {
      const separator = queryParam(request, "separator") ?? queryParam(request, "seperator") ?? "";
      const keys = await consulBlockingRead(request, reply, services, kv.keys(dc, key, separator, acl));
      // The root answers an empty list; any other prefix without keys is a 404.
      return keys.length === 0 && key !== "" ? reply.code(404).send() : keys;
    }
    if (has(request, "recurse")) {
      const entries = await consulBlockingRead(request, reply, services, kv.list(dc, key, acl));
      return entries.length === 0 ? reply.code(404).send() : sendEntries(reply, entries);
    }
    if (key === "") throw new BadRequestError("Missing key name");
    const entry = await consulBlockingRead(request, reply, services, kv.get(dc, key, acl));
    if (!entry) return reply.code(404).send();
    if (!has(request, "raw")) return sendEntries(reply, [entry]);
    // Sent as inert text so that a stored page cannot run in a browser.
    return reply
      .headers({ "x-content-type-options": "nosniff", "content-security-policy": "sandbox" })
      .type("text/plain")
      .send(Buffer.from(entry.value ?? "", "base64"));
  });

  app.put(
    "/v1/kv/*",
    {
      // Consul's own message for a value over the limit, before the body is read.
      preParsing: async (request) => {
        const length = Number(request.headers["content-length"] ?? 0);
        if (length > KV_MAX_VALUE_SIZE) {
          throw new PayloadTooLargeError(
            `Request body(${length} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes. ` +
              "See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size",
          );
        }
      },
      bodyLimit: KV_MAX_VALUE_SIZE,
    },
    async (request, reply) => {
      consistencyOf(request.query);
      const dc = await datacenterOf(request, datacenters);
      const key = pathRest(request);
      if (key === "") throw new BadRequestError("Missing key name");
      assertNoConflict(request, ["cas", "acquire", "release"]);
      const body = rawBody(request.body);
      const fields = {
        value: body.length === 0 ? null : body.toString("base64"),
        flags: has(request, "flags") ? uint64(queryParam(request, "flags") ?? "") : "0",
      };
      const op = has(request, "cas")
        ? kvOperation("cas", key, { ...fields, index: index(queryParam(request, "cas") ?? "") })
        : has(request, "acquire")
          ? kvOperation("lock", key, { ...fields, session: queryParam(request, "acquire") ?? "" })
          : has(request, "release")
            ? kvOperation("unlock", key, { ...fields, session: queryParam(request, "release") ?? "" })
            : kvOperation("set", key, fields);
      const written = await kv.write(dc, op, aclOf(request));
      // A plain set answers true whatever happened, as Consul's does.
      return sendJson(reply, op.verb === "set" || written);
    },
  );

  app.delete("/v1/kv/*", async (request, reply) => {
    consistencyOf(request.query);
    const dc = await datacenterOf(request, datacenters);
    const key = pathRest(request);
    assertNoConflict(request, ["recurse", "cas"]);
    if (has(request, "recurse")) {
      await kv.deleteTree(dc, key, aclOf(request));
      return sendJson(reply, true);
    }
    if (key === "") throw new BadRequestError("Missing key name");
    if (!has(request, "cas")) {
      await kv.write(dc, kvOperation("delete", key), aclOf(request));
      return sendJson(reply, true);
    }
    const op = kvOperation("delete-cas", key, { index: index(queryParam(request, "cas") ?? "") });
    return sendJson(reply, await kv.write(dc, op, aclOf(request)));
  });
}

/** A flag counts by its presence, whatever its value (`?recurse`, `?recurse=1`, `?recurse=true`), as in Consul. */
function has(request: FastifyRequest, name: string): boolean {
  return queryParam(request, name) !== undefined;
}

/** Consul refuses flags that cannot be combined, echoing the query. */
function assertNoConflict(request: FastifyRequest, flags: readonly string[]): void {
  if (flags.filter((flag) => has(request, flag)).length < 2) return;
  const query = new URL(request.url, "http://consul").searchParams;
  query.sort();
  throw new BadRequestError(`Conflicting flags: ${query.toString()}`);
}

/** A uint64 query parameter, kept as decimal text; a 400 with Go's message otherwise. */
function uint64(text: string): string {
  const problem = uint64Problem(text);
  if (problem) throw new BadRequestError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: ${problem}`);
  return canonicalUint64(text);
}

const index = (text: string): number => uint64Index(uint64(text));

function sendEntries(reply: FastifyReply, entries: readonly KvEntry[]): FastifyReply {
  return reply.type("application/json").send(dirEntriesJson(entries));
}

function sendJson(reply: FastifyReply, value: boolean): FastifyReply {
  return reply.type("application/json").send(JSON.stringify(value));
}
