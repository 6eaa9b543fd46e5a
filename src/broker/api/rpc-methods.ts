import { formatBool } from "../../common/keyvalue.js";
import { MAX_HOST_ID } from "../../storage/whiteboard/types.js";
import { LockspaceResetRefused } from "../lockspace-guard.js";
import type { BrokerService } from "../service.js";
import { FAULT, XmlRpcFault, type XmlRpcStruct, type XmlRpcValue } from "../xmlrpc/types.js";

/**
 * Every XML-RPC method of behaviour.md §7, with its parameter checks and the exact
 * reply shapes of the original broker. Parameter problems are `invalidParams` faults;
 * a handler failure becomes a fault in the route (logged there).
 */
export type RpcHandler = (
  svc: BrokerService,
  params: XmlRpcValue[],
) => Promise<XmlRpcValue> | XmlRpcValue;

function arity(method: string, params: XmlRpcValue[], n: number): void {
  if (params.length !== n) {
    throw new XmlRpcFault(
      FAULT.invalidParams,
      `${method}() takes ${n} argument(s), ${params.length} given`,
    );
  }
}

function isStruct(v: XmlRpcValue): v is XmlRpcStruct {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !Buffer.isBuffer(v) &&
    !(v instanceof Date)
  );
}

function str(method: string, v: XmlRpcValue, what: string): string {
  if (typeof v !== "string")
    throw new XmlRpcFault(FAULT.invalidParams, `${method}: ${what} must be a string`);
  return v;
}

/** A parameter for a fault text: scalars as themselves (cut at 40), others by kind. */
function describe(v: XmlRpcValue): string {
  if (v === null) return "nil";
  if (Buffer.isBuffer(v)) return "(base64)";
  if (v instanceof Date) return "(dateTime)";
  if (Array.isArray(v)) return "(array)";
  if (typeof v === "object") return "(struct)";
  return String(v).slice(0, 40);
}

/** A host id given as an integer or a decimal string (Python callers send both). */
function hostId(method: string, v: XmlRpcValue, min = 0): number {
  const n =
    typeof v === "number"
      ? v
      : typeof v === "string" && /^\s*\d+\s*$/.test(v)
        ? Number(v)
        : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > MAX_HOST_ID) {
    throw new XmlRpcFault(
      FAULT.invalidParams,
      `${method}: host id ${describe(v)} is not an integer in ${min}..${MAX_HOST_ID}`,
    );
  }
  return n;
}

/** Monitor and notification options: a struct whose values become strings (as Python's str()). */
function options(method: string, v: XmlRpcValue): Record<string, string> {
  if (v === null) return {};
  if (!isStruct(v))
    throw new XmlRpcFault(FAULT.invalidParams, `${method}: options must be a struct`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === null) continue;
    if (typeof val === "boolean") out[k] = formatBool(val);
    else if (typeof val === "string" || typeof val === "number" || typeof val === "bigint")
      out[k] = String(val);
    else
      throw new XmlRpcFault(
        FAULT.invalidParams,
        `${method}: option "${k}" must be a string or a number`,
      );
  }
  return out;
}

/**
 * One XML-RPC method: its handler and who may call it. `write`: it changes state on
 * storage, in sanlock, in monitors or sends mail, so only root and the broker's own user
 * may call it (access.ts, checked by SO_PEERCRED); `read`: the `kvm` group may too.
 * A method without an access rule does not compile.
 */
export interface RpcMethod {
  access: "read" | "write";
  call: RpcHandler;
}

const read = (call: RpcHandler): RpcMethod => ({ access: "read", call });
const write = (call: RpcHandler): RpcMethod => ({ access: "write", call });

/** The method of that name, if the broker has one (never an Object prototype member). */
export function rpcMethod(name: string): RpcMethod | undefined {
  return Object.hasOwn(RPC_METHODS, name) ? RPC_METHODS[name] : undefined;
}

export const RPC_METHODS: Readonly<Record<string, RpcMethod>> = Object.freeze({
  start_monitor: write(async (svc, p) => {
    arity("start_monitor", p, 2);
    return svc.monitors.start(str("start_monitor", p[0]!, "type"), options("start_monitor", p[1]!));
  }),
  stop_monitor: write(async (svc, p) => {
    arity("stop_monitor", p, 1);
    await svc.monitors.stop(str("stop_monitor", p[0]!, "id"));
    return "ok";
  }),
  status_monitor: read((svc, p) => {
    arity("status_monitor", p, 1);
    return svc.monitors.status(str("status_monitor", p[0]!, "id"));
  }),
  get_stats: read((svc, p) => {
    arity("get_stats", p, 0);
    const out: XmlRpcStruct = {};
    for (const [id, seg] of svc.stats()) out[String(id)] = seg;
    return out;
  }),
  put_stats: write((svc, p) => {
    arity("put_stats", p, 2);
    const id = hostId("put_stats", p[0]!);
    const data = p[1]!;
    // the original accepts xmlrpc Binary; a plain string is taken as its UTF-8 bytes
    const buf = Buffer.isBuffer(data)
      ? data
      : typeof data === "string"
        ? Buffer.from(data, "utf8")
        : undefined;
    if (!buf)
      throw new XmlRpcFault(FAULT.invalidParams, "put_stats: data must be base64 (or a string)");
    svc.putStats(id, buf);
    return "ok";
  }),
  push_hosts_state: write((svc, p) => {
    arity("push_hosts_state", p, 1);
    const list = p[0];
    if (!Array.isArray(list))
      throw new XmlRpcFault(FAULT.invalidParams, "push_hosts_state: expected an array of host ids");
    svc.pushHostsState(list.map((v) => hostId("push_hosts_state", v, 1)));
    return "ok";
  }),
  is_host_alive: read((svc, p) => {
    arity("is_host_alive", p, 0);
    return svc.isHostAlive();
  }),
  notify: write(async (svc, p) => {
    arity("notify", p, 3);
    return svc.notifier.notify(
      str("notify", p[0]!, "event type"),
      str("notify", p[1]!, "detail"),
      options("notify", p[2]!),
    );
  }),
  lock_host_id: write(async (svc, p) => {
    arity("lock_host_id", p, 1);
    const id = hostId("lock_host_id", p[0]!, 1);
    if (id !== svc.hostId) {
      throw new XmlRpcFault(
        FAULT.invalidParams,
        `lock_host_id: host id ${id} differs from this host's ${svc.hostId}`,
      );
    }
    // the agent joins the lockspace itself; the broker re-checks it for its writes
    await svc.checkLease();
    return "ok";
  }),
  release_host_id: write((_svc, p) => {
    arity("release_host_id", p, 0);
    // the agent leaves the lockspace itself on exit; nothing is held by the broker
    return "ok";
  }),
  reset_lockspace: write(async (svc, p) => {
    // the original takes none; he-ha lockspace reinit --force sends true
    if (p.length > 1) arity("reset_lockspace", p, 0);
    const force = p[0] ?? false;
    if (typeof force !== "boolean")
      throw new XmlRpcFault(FAULT.invalidParams, "reset_lockspace: force must be a boolean");
    const blockers = svc.resetBlockers(force);
    if (blockers.length > 0)
      throw new XmlRpcFault(FAULT.serverError, new LockspaceResetRefused(blockers).message);
    await svc.resetLockspace();
    return "ok";
  }),
  start_domain_monitor: write((_svc, p) => {
    arity("start_domain_monitor", p, 1);
    hostId("start_domain_monitor", p[0]!, 1);
    // no VDSM domain monitor here: the agent holds the host's lease in the lockspace
    return "ok";
  }),
  stop_domain_monitor: write((_svc, p) => {
    arity("stop_domain_monitor", p, 0);
    return "ok";
  }),
});
