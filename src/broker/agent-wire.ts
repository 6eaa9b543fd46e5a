/**
 * The agent's two requests per loop to its own broker (issue 24: fewer requests, less
 * CPU on both sides). `GET /v1/agent/collect` answers what the agent used to ask in
 * three or more (`/v1/status` for the storage health and the monitors' values, and
 * `get_stats`); `POST /v1/agent/publish` does `put_stats` and then `push_hosts_state`,
 * with the same checks and the same access rule as those XML-RPC methods. JSON, no
 * gzip: the socket is local. XML-RPC stays as it was for every other client (VDSM's
 * HAClient, hosted-engine, an older agent); a broker without these routes (older) is
 * asked the XML-RPC way (src/broker/client.ts).
 */
export const COLLECT_PATH = "/v1/agent/collect";
export const PUBLISH_PATH = "/v1/agent/publish";

/** GET /v1/agent/collect as sent. */
export interface CollectDoc {
  /** as `storage.stale` and `storage.last_read_error` of /v1/status */
  storage: { stale: boolean; last_read_error: string | null };
  /** as `local.monitors[].{id,value}` of /v1/status (status_monitor's answer is value ?? "None") */
  monitors: Array<{ id: string; value: string | null }>;
  /** get_stats: every non-empty segment (0 = global block) by host id, base64 */
  stats: Record<string, string>;
}

/** What the agent reads from a CollectDoc: segments as bytes, by host id in order. */
export interface Collected {
  storage: CollectDoc["storage"];
  monitors: CollectDoc["monitors"];
  stats: Map<number, Buffer>;
}

/** POST /v1/agent/publish's body. */
export interface PublishBody {
  /** put_stats' host id: this host's, or 0 for the global block */
  host_id: number;
  /** put_stats' data, base64 */
  block: string;
  /** push_hosts_state's ids: this host first, then the live remote ones */
  alive: number[];
}

/** Bad CollectDoc or PublishBody, naming what is wrong. */
export class AgentWireError extends Error {
  override name = "AgentWireError";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Pure: a received CollectDoc, checked, with its segments decoded. */
export function decodeCollect(v: unknown): Collected {
  if (!isObject(v) || !isObject(v.storage) || !Array.isArray(v.monitors) || !isObject(v.stats))
    throw new AgentWireError(`${COLLECT_PATH}: expected {storage, monitors, stats}`);
  const { stale, last_read_error } = v.storage;
  if (
    typeof stale !== "boolean" ||
    !(last_read_error === null || typeof last_read_error === "string")
  )
    throw new AgentWireError(`${COLLECT_PATH}: storage must be {stale: boolean, last_read_error}`);
  const monitors: CollectDoc["monitors"] = [];
  for (const m of v.monitors) {
    if (
      !isObject(m) ||
      typeof m.id !== "string" ||
      !(m.value === null || typeof m.value === "string")
    )
      throw new AgentWireError(
        `${COLLECT_PATH}: a monitor must be {id: string, value: string | null}`,
      );
    monitors.push({ id: m.id, value: m.value });
  }
  const segs = v.stats;
  const ids: number[] = [];
  for (const [k, seg] of Object.entries(segs)) {
    const id = Number(k);
    if (!Number.isInteger(id) || typeof seg !== "string")
      throw new AgentWireError(
        `${COLLECT_PATH}: stats["${k.slice(0, 20)}"] is not a base64 segment of a host id`,
      );
    ids.push(id);
  }
  ids.sort((a, b) => a - b);
  const stats = new Map(ids.map((id) => [id, Buffer.from(segs[String(id)] as string, "base64")]));
  return { storage: { stale, last_read_error }, monitors, stats };
}

/** Pure: a received PublishBody, checked (the host ids' ranges are put_stats' own checks). */
export function readPublishBody(v: unknown): { hostId: number; block: Buffer; alive: number[] } {
  if (
    !isObject(v) ||
    typeof v.host_id !== "number" ||
    typeof v.block !== "string" ||
    !Array.isArray(v.alive) ||
    !v.alive.every((id) => typeof id === "number")
  )
    throw new AgentWireError(
      `${PUBLISH_PATH}: expected a JSON body {"host_id": number, "block": base64, "alive": [numbers]}`,
    );
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.block))
    throw new AgentWireError(`${PUBLISH_PATH}: block is not base64`);
  return { hostId: v.host_id, block: Buffer.from(v.block, "base64"), alive: v.alive as number[] };
}
