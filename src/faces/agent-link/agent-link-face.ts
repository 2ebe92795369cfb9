import type { FastifyRequest } from "fastify";
import type { CoreServices } from "../../core/core-services.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { UnauthorizedError } from "../../core/errors/unauthorized-error.ts";
import type { Face } from "../../http/face.ts";
import { LINK_PATH, NODE_HEADER } from "../../protocol/link-messages.ts";
import { renderNativeError } from "../native/native-error-renderer.ts";
import {
  AgentLinkServer,
  type AgentLinkServerOptions,
  type LinkAdmission,
  type LinkCredentials,
} from "./agent-link-server.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The verdict on an agent link upgrade's credentials, set by the agent link face. */
    linkAdmission?: LinkAdmission;
  }
}

export type AgentLinkFaceOptions = Omit<
  AgentLinkServerOptions,
  "nodeLinks" | "nodeInstances" | "pullCredentials" | "secrets" | "logger"
>;

/**
 * The agents' WebSocket (src/protocol/link-messages.ts) on the master's listener. Not one of the
 * five API faces: it has its own credentials (grid and node tokens, not users) and answers HTTP
 * errors in the native shape. An upgrade without credentials gets a 401 before it is upgraded;
 * credentials are judged before the upgrade too, and a refused agent learns why from the close code.
 */
export function createAgentLinkFace(
  core: Pick<CoreServices, "nodeLinks" | "nodeInstances" | "pullCredentials" | "secrets">,
  options: AgentLinkFaceOptions,
): Face {
  return {
    name: "agent-link",
    mounts: ["/agent"],
    renderError: renderNativeError,
    register(app) {
      const server = new AgentLinkServer({
        ...options,
        nodeLinks: core.nodeLinks,
        nodeInstances: core.nodeInstances,
        pullCredentials: core.pullCredentials,
        secrets: core.secrets,
        logger: app.log,
      });
      app.addHook("onRequest", async (request, reply) => {
        try {
          request.linkAdmission = await server.admit(linkCredentials(request));
        } catch (error) {
          if (error instanceof UnauthorizedError) reply.header("www-authenticate", 'Bearer realm="Berth agent link"');
          throw error;
        }
      });
      app.addHook("onClose", () => server.close());
      app.route({
        method: "GET",
        url: LINK_PATH,
        handler: async () => {
          throw new BadRequestError("this is the agent link: agents open it as a WebSocket (berth agent)");
        },
        wsHandler: (socket, request) => server.accept(socket, request.linkAdmission!),
      });
    },
  };
}

/** `Authorization: Bearer <token>`, plus `X-Berth-Node: <grid>/<name>` when the token is a node token. */
function linkCredentials(request: FastifyRequest): LinkCredentials {
  const match = /^bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  if (!match?.[1]) {
    throw new UnauthorizedError("an agent link needs Authorization: Bearer <grid token or node token>");
  }
  const node = [request.headers[NODE_HEADER]].flat()[0];
  if (node === undefined) return { kind: "grid", token: match[1] };
  const slash = node.indexOf("/");
  if (slash < 1 || slash === node.length - 1) throw new UnauthorizedError(`${NODE_HEADER} must be <grid>/<name>`);
  return { kind: "node", grid: node.slice(0, slash), name: node.slice(slash + 1), token: match[1] };
}
