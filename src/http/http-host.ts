import type { AddressInfo } from "node:net";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from "fastify";
import { MAX_LINK_FRAME_BYTES } from "../protocol/link-messages.ts";
import { toHttpProblem } from "./error-mapper.ts";
import type { Face, HttpProblem } from "./face.ts";
import { registerHealthRoutes } from "./health-routes.ts";
import { isUnder, type Mount, MountTable } from "./mount-table.ts";
import { requestIdFor } from "./request-id.ts";
import { type RouteEntry, RouteTable } from "./route-table.ts";

/** Body limit of a face that sets none, and of paths under no face. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface HttpHostOptions {
  readonly faces: readonly Face[];
  /** Name of the face whose error shape serves paths under no mount. */
  readonly fallbackFace: string;
  readonly logger: FastifyBaseLogger;
  /** Called as shutdown begins, before waiting for in-flight requests: wake long polls here. */
  readonly onDrain?: () => void;
  /** In-flight requests get this long to finish at shutdown before their connections are cut. */
  readonly drainTimeoutMs?: number;
}

export type HostState = "starting" | "ready" | "draining";

export interface HttpHost {
  /** Starts listening; port 0 picks a free port. */
  listen(options: { readonly host: string; readonly port: number }): Promise<AddressInfo>;
  /** Declares the master ready: /readyz answers 200 from now on. */
  markReady(): void;
  state(): HostState;
  routes(): readonly RouteEntry[];
  mounts(): readonly Mount[];
  /** Graceful shutdown: refuse new requests, wake long polls, let in-flight requests finish. Idempotent. */
  close(): Promise<void>;
}

/**
 * The master's single HTTP listener. Each face is an encapsulated Fastify plugin under its
 * mounts; the host owns what is common: request ids, logging, the error mapping, 404/405,
 * health endpoints and draining.
 */
export async function createHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const mountTable = new MountTable(options.faces);
  const fallbackFace = options.faces.find((face) => face.name === options.fallbackFace);
  if (!fallbackFace) throw new Error(`fallback face "${options.fallbackFace}" is not among the faces`);
  const routeTable = new RouteTable();
  let state: HostState = "starting";
  let closing: Promise<void> | undefined;

  const faceFor = (request: FastifyRequest): Face => mountTable.faceFor(decodedPathOf(request.url)) ?? fallbackFace;
  const sendProblem = (request: FastifyRequest, reply: FastifyReply, problem: HttpProblem): FastifyReply => {
    const rendered = faceFor(request).renderError(problem);
    return (
      reply
        .code(problem.status)
        // Framework errors (a malformed URL) skip onRequest, so the id is set here too.
        .header("x-request-id", request.id)
        .headers({ ...problem.headers, ...rendered.headers })
        .type(rendered.contentType)
        .send(rendered.body)
    );
  };

  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: requestIdFor,
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Requests arriving while draining get a 503 in their face's shape (onRequest below), not Fastify's.
    return503OnClosing: false,
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, toHttpProblem(error)),
  });

  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      routeTable.add({
        method,
        url: route.url,
        face: mountTable.faceFor(route.url)?.name ?? "host",
        public: route.config?.public === true,
      });
    }
  });

  /** 405 with Allow when another method has this path, else 404; in the shape of the path's face. */
  const notFound = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = pathOf(request.url);
    const allowed = routeTable.allowedMethods(path);
    if (allowed.length > 0) {
      return sendProblem(request, reply, {
        status: 405,
        message: `method ${request.method} not allowed`,
        headers: { allow: allowed.join(", ") },
      });
    }
    return sendProblem(request, reply, { status: 404, message: `no such route: ${request.method} ${clip(path)}` });
  };

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (state === "draining") {
      reply.header("connection", "close");
      return sendProblem(request, reply, { status: 503, message: "the master is shutting down" });
    }
    // Answer unknown routes before their body is read: a bad body on a bad path is still a 404.
    if (request.is404) return notFound(request, reply);
  });

  app.addHook("onSend", async (_request, reply) => {
    // Close keep-alive connections as their last response goes out, so draining ends promptly.
    if (state === "draining") reply.header("connection", "close");
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toHttpProblem(error);
    if (problem.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ status: problem.status, reason: problem.message }, "request rejected");
    return sendProblem(request, reply, problem);
  });

  app.setNotFoundHandler(notFound);

  // WebSocket upgrades go through the router and the faces' hooks like any request; a face
  // declares `wsHandler` on a GET route to take them. Open sockets are closed at shutdown.
  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_LINK_FRAME_BYTES } });

  registerHealthRoutes(app, () => state);

  for (const face of options.faces) {
    await app.register(async (scope) => {
      scope.addHook("onRoute", (route) => {
        if (!face.mounts.some((mount) => isUnder(route.url, mount))) {
          throw new Error(`face "${face.name}" registered ${route.url}, outside its mounts ${face.mounts.join(" ")}`);
        }
        route.bodyLimit ??= face.bodyLimit ?? DEFAULT_BODY_LIMIT;
      });
      await face.register(scope);
    });
  }
  await app.ready();

  return {
    async listen({ host, port }) {
      await app.listen({ host, port });
      return app.server.address() as AddressInfo;
    },
    markReady() {
      if (state === "starting") state = "ready";
    },
    state: () => state,
    routes: () => routeTable.list(),
    mounts: () => mountTable.list(),
    close() {
      closing ??= (async () => {
        state = "draining";
        options.onDrain?.();
        const cutOff = setTimeout(() => app.server.closeAllConnections(), options.drainTimeoutMs ?? 10_000);
        try {
          await app.close();
        } finally {
          clearTimeout(cutOff);
        }
      })();
      return closing;
    },
  };
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** The path as the router sees it (percent-escapes decoded), so errors take the shape of the face that would route it. */
function decodedPathOf(url: string): string {
  const path = pathOf(url);
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/** Keeps echoed paths short in error messages. */
function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
