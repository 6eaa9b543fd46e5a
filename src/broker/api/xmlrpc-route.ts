import type { Logger } from "../../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../../common/log-throttle.js";
import { MonitorNotFoundError } from "../monitor-manager.js";
import type { BrokerService } from "../service.js";
import { parseMethodCall } from "../xmlrpc/parse.js";
import { serializeFault, serializeMethodResponse } from "../xmlrpc/serialize.js";
import { FAULT, XmlRpcFault, type XmlRpcValue } from "../xmlrpc/types.js";
import { RPC_METHODS } from "./rpc-methods.js";

/**
 * One XML-RPC request body → the response document. Never throws: malformed requests,
 * unknown methods, bad parameters and handler failures all answer a fault, logged
 * with the method and reason.
 */
export async function handleXmlRpc(
  body: Buffer | string,
  svc: BrokerService,
  log: Logger,
  /** why the caller may not call `method` (undefined: allowed); every call is allowed without it */
  refuse?: (method: string) => string | undefined,
): Promise<string | Buffer> {
  let method = "<unparsed>";
  try {
    const call = parseMethodCall(body);
    method = call.method;
    if (method === "get_stats" && call.params.length === 0) return statsResponse(svc);
    const handler = Object.hasOwn(RPC_METHODS, method) ? RPC_METHODS[method] : undefined;
    if (!handler)
      throw new XmlRpcFault(FAULT.methodNotFound, `method "${method}" is not supported`);
    const refused = refuse?.(method);
    if (refused !== undefined) throw new XmlRpcFault(FAULT.accessDenied, refused);
    log.debug({ method, params: call.params.length }, "xml-rpc call");
    const result = await handler(svc, call.params);
    return serializeMethodResponse(result);
  } catch (e) {
    const fault = toFault(e);
    const level = fault.faultCode === FAULT.serverError ? "error" : "warn";
    // a client repeating a bad call gets one line a minute per method and fault
    throttled(log)[level](
      `${method}:${fault.faultCode}`,
      { method, fault_code: fault.faultCode, err: fault.faultString },
      "xml-rpc call failed",
    );
    return serializeFault(fault);
  }
}

const throttles = new WeakMap<Logger, ThrottledLogger>();

/** The rate-limited twin of a logger (one per logger, kept as long as it lives). */
export function throttled(log: Logger): ThrottledLogger {
  let t = throttles.get(log);
  if (t === undefined) {
    t = throttledLogger(log, { intervalMs: 60_000 });
    throttles.set(log, t);
  }
  return t;
}

/** get_stats answers the same document until the whiteboard view changes: built once. */
const statsCache = new WeakMap<BrokerService, { version: number; xml: Buffer }>();

function statsResponse(svc: BrokerService): Buffer {
  const version = svc.cycle.dataVersion;
  const hit = statsCache.get(svc);
  if (hit?.version === version) return hit.xml;
  const xml = Buffer.from(serializeMethodResponse(RPC_METHODS.get_stats!(svc, []) as XmlRpcValue));
  statsCache.set(svc, { version, xml });
  return xml;
}

/** What a handler threw, as the fault the caller receives. */
export function toFault(e: unknown): XmlRpcFault {
  if (e instanceof XmlRpcFault) return e;
  if (e instanceof MonitorNotFoundError) return new XmlRpcFault(FAULT.serverError, e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  return new XmlRpcFault(FAULT.serverError, `${err.name}: ${err.message}`);
}
