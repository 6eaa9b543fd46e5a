import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AgentWireError, COLLECT_PATH, PUBLISH_PATH, readPublishBody } from "../agent-wire.js";
import type { BrokerService } from "../service.js";
import { XmlRpcFault } from "../xmlrpc/types.js";
import { RPC_METHODS } from "./rpc-methods.js";
import { toFault } from "./xmlrpc-route.js";

/**
 * POST /v1/agent/publish on a service: put_stats then push_hosts_state, through the
 * XML-RPC methods' own handlers (the same parameter checks and errors). Throws
 * AgentWireError for a malformed body, XmlRpcFault for what put_stats or
 * push_hosts_state refuse.
 */
export async function publishOn(svc: BrokerService, body: unknown): Promise<void> {
  const { hostId, block, alive } = readPublishBody(body);
  try {
    await RPC_METHODS.put_stats!.call(svc, [hostId, block]);
    await RPC_METHODS.push_hosts_state!.call(svc, [alive]);
  } catch (e) {
    throw toFault(e);
  }
}

/**
 * The agent's combined routes (src/broker/agent-wire.ts). `mayWrite` is the write rule of
 * put_stats and push_hosts_state (root and the broker's user); a refusal is 403, a bad
 * body or a value put_stats or push_hosts_state refuse 400 with the reason.
 */
export function addAgentRoutes(
  app: FastifyInstance,
  svc: BrokerService,
  writeRefusal: (req: FastifyRequest, what: string) => string | undefined,
): void {
  app.get(COLLECT_PATH, async (_req, reply: FastifyReply) => {
    // serialized here: the cached segments' strings go out without a schema walk
    void reply.type("application/json; charset=utf-8");
    return JSON.stringify(svc.collect());
  });
  app.post(PUBLISH_PATH, async (req, reply) => {
    const refused = writeRefusal(req, `POST ${PUBLISH_PATH}`);
    if (refused !== undefined) return reply.code(403).send({ error: refused });
    // fastify has parsed an application/json body already; any other type arrives as bytes
    let body: unknown = req.body;
    if (Buffer.isBuffer(body)) {
      try {
        body = JSON.parse(body.toString("utf8"));
      } catch {
        return reply.code(400).send({ error: `${PUBLISH_PATH}: the body is not JSON` });
      }
    }
    try {
      await publishOn(svc, body);
    } catch (e) {
      // what put_stats or push_hosts_state refuse (a host id not this host's, a block
      // over 4096 bytes): the text their XML-RPC fault carries
      if (e instanceof AgentWireError || e instanceof XmlRpcFault)
        return reply.code(400).send({ error: e.message });
      throw e;
    }
    return { ok: true };
  });
}
