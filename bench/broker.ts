/**
 * ovirt-ha-broker over its unix socket with 64 populated hosts on the whiteboard:
 * XML-RPC get_stats and JSON /v1/status latency with one client calling one request at
 * a time (as VDSM and hosted-engine call it: the p99 target; get_stats asked with
 * `Accept-Encoding: gzip` as their Python xmlrpc.client asks, and without), throughput with 8
 * concurrent clients, then the broker's RSS and CPU over an idle period. The broker runs
 * as its own process, as in production, with the `Environment=` settings of
 * systemd/ovirt-ha-broker.service, from compiled dist/ when that is newer than every
 * file of src/ (the tsx loader alone costs an idle process ~0.4 % of a core).
 * `BENCH_BROKER_IDLE_S` sets the idle period (default 60 s); `BENCH_BROKER_UNIT_ENV=0`
 * leaves the unit's settings out, to compare; `BENCH_BROKER_BIN` names the broker's
 * compiled entry point to run instead (before/after comparisons).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { productArgs } from "../lab/children.js";
import { procUsage } from "../lab/proc-usage.js";
import {
  isRunning,
  pollUntil,
  spawnTracked,
  type TrackedChild,
  terminate,
  unixSocketAccepts,
} from "../lab/standins/processes.js";
import { BrokerClient } from "../src/broker/client.js";
import { serializeMethodCall } from "../src/broker/xmlrpc/serialize.js";
import { haPaths } from "../src/common/paths.js";
import { encodeGlobalBlock, encodeHostBlock } from "../src/storage/whiteboard/index.js";
import { SEGMENT_COUNT, SEGMENT_SIZE } from "../src/storage/whiteboard/types.js";
import { type BenchResult, summarize } from "./types.js";
import { envNote, unitEnvironment } from "./unit-env.js";

const HOSTS = 64;
const REQUESTS = 2000;
const CONCURRENCY = 8;

export interface BrokerBenchOptions {
  requests?: number;
  concurrency?: number;
  idleSeconds?: number;
  /** apply the unit's `Environment=` settings to the broker (default true) */
  unitEnvironment?: boolean;
}

/**
 * The broker to run and how it was chosen: BENCH_BROKER_BIN; else this checkout's compiled
 * broker (dist/, lab/children.ts: `npm run bench` builds first).
 */
export async function brokerCommand(): Promise<{ args: string[]; how: string }> {
  const override = process.env.BENCH_BROKER_BIN;
  if (override) return { args: [override], how: `compiled ${override}` };
  return { args: productArgs("ovirt-ha-broker"), how: "compiled dist/" };
}

/** Starts the broker of `root` (log in `dir`); resolves once its socket answers. */
export async function spawnBenchBroker(
  dir: string,
  root: string,
  extraEnv: Record<string, string> = {},
): Promise<TrackedChild> {
  const socket = haPaths(root).brokerSocket;
  const proc = await spawnTracked(process.execPath, (await brokerCommand()).args, {
    logFile: path.join(dir, "broker.log"),
    env: {
      ...process.env,
      HE_HA_ROOT: root,
      HE_HA_LOG_LEVEL: "warn",
      HE_HA_LOG_PRETTY: "0",
      SANLOCK_RUN_DIR: path.join(dir, "no-sanlock"),
      NODE_OPTIONS: "",
      ...extraEnv,
    },
  });
  await pollUntil(
    "broker socket",
    async () => {
      if (!isRunning(proc))
        throw new Error(`broker exited: ${await readFile(path.join(dir, "broker.log"), "utf8")}`);
      return unixSocketAccepts(socket);
    },
    30_000,
  );
  return proc;
}

export async function populatedRoot(dir: string): Promise<string> {
  const domain = path.join(dir, "domain");
  const metadata = path.join(domain, "ha_agent", "hosted-engine.metadata");
  await mkdir(path.dirname(metadata), { recursive: true });
  await writeFile(path.join(domain, "ha_agent", "hosted-engine.lockspace"), "");
  const buf = Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE);
  encodeGlobalBlock({ maintenance: false, unknown: {} }).copy(buf, 0);
  for (let id = 1; id <= HOSTS; id++) {
    encodeHostBlock({
      timestamp: 100_000 + id,
      hostId: id,
      score: 3400 - id,
      engineStatus: {
        vm: id === 1 ? "up" : "down",
        health: id === 1 ? "good" : "bad",
        detail: id === 1 ? "Up" : "Down",
      },
      hostname: `host${id}.bench.example.com`,
      maintenance: false,
      stopped: false,
      confOnSharedStorage: true,
      vmConfRefreshTime: 100_000,
      stateExtra: {
        maintenance: "False",
        state: id === 1 ? "EngineUp" : "EngineDown",
        stopped: "False",
      },
    }).copy(buf, id * SEGMENT_SIZE);
  }
  await writeFile(metadata, buf);
  const root = path.join(dir, "root");
  const p = haPaths(root);
  await mkdir(path.dirname(p.hostConf), { recursive: true });
  await mkdir(path.dirname(p.agentConf), { recursive: true });
  await writeFile(
    p.hostConf,
    `host_id=1\nsdUUID=bench\ndomain_path=${domain}\nstorage=bench:/he\n`,
  );
  await writeFile(p.agentConf, "[timing]\nbroker_storage_cycle=10\n");
  return root;
}

/** Runs `total` calls of `fn`, `concurrency` at a time; latencies in ms and the rate. */
async function load(fn: () => Promise<unknown>, total: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = process.hrtime.bigint();
        await fn();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, rate: total / seconds };
}

/**
 * `rounds` rounds of every call, one client, one request at a time, the order rotating
 * each round: side-by-side latencies (ms) of each call under the same machine noise.
 */
async function interleaved<K extends string>(
  calls: Record<K, () => Promise<unknown>>,
  rounds: number,
): Promise<Record<K, number[]>> {
  const names = Object.keys(calls) as K[];
  const latencies = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length]!;
      const t = process.hrtime.bigint();
      await calls[name]();
      latencies[name].push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  return latencies;
}

/**
 * One request on the socket, the answer read in full but not decoded: the broker's own
 * serving time (decoding is the client's cost, measured separately).
 */
function rawRequest(
  agent: http.Agent,
  socketPath: string,
  method: string,
  urlPath: string,
  body?: string,
  gzip = false,
) {
  return new Promise<number>((resolve, reject) => {
    const headers: Record<string, string | number> = gzip ? { "accept-encoding": "gzip" } : {};
    if (body !== undefined) {
      headers["content-type"] = "text/xml";
      headers["content-length"] = Buffer.byteLength(body);
    }
    const req = http.request({ socketPath, agent, method, path: urlPath, headers }, (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => {
        n += c.length;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

export async function run(opts: BrokerBenchOptions = {}): Promise<BenchResult[]> {
  const requests = opts.requests ?? REQUESTS;
  const concurrency = opts.concurrency ?? CONCURRENCY;
  const idleSeconds = opts.idleSeconds ?? Number(process.env.BENCH_BROKER_IDLE_S ?? 60);
  const withUnitEnv = opts.unitEnvironment ?? process.env.BENCH_BROKER_UNIT_ENV !== "0";
  const unitEnv = withUnitEnv ? await unitEnvironment("ovirt-ha-broker") : {};
  const dir = await mkdtemp(path.join(os.tmpdir(), "he-ha-bench-broker-"));
  let proc: TrackedChild | undefined;
  let client: BrokerClient | undefined;
  try {
    const root = await populatedRoot(dir);
    const socket = haPaths(root).brokerSocket;
    proc = await spawnBenchBroker(dir, root, unitEnv);
    const p = proc;
    const c = new BrokerClient(socket, { timeoutMs: 10_000 });
    client = c;
    await pollUntil("64 hosts read", async () => (await c.status()).hosts.length === HOSTS, 30_000);
    if ((await c.getStats()).size !== HOSTS + 1)
      throw new Error("get_stats does not answer 64 hosts + global");
    const atStart = await procUsage(p.pid);

    // warm-up, then measure the broker (answers read in full, not decoded): one client
    // one request at a time (latency), then `concurrency` clients at once (throughput)
    const getStats = serializeMethodCall("get_stats", []);
    const sizes = new http.Agent({ keepAlive: false });
    const gzBytes = await rawRequest(sizes, socket, "POST", "/RPC2", getStats, true);
    const plainBytes = await rawRequest(sizes, socket, "POST", "/RPC2", getStats);
    sizes.destroy();
    const callsOn = (agent: http.Agent) => ({
      gzip: () => rawRequest(agent, socket, "POST", "/RPC2", getStats, true),
      plain: () => rawRequest(agent, socket, "POST", "/RPC2", getStats),
      status: () => rawRequest(agent, socket, "GET", "/v1/status"),
    });
    // one client: the three requests taken in turns, so each meets the same noise
    const oneClient = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let single: Record<"gzip" | "plain" | "status", ReturnType<typeof summarize>>;
    try {
      const calls = callsOn(oneClient);
      await interleaved(calls, 200);
      const l = await interleaved(calls, requests);
      single = { gzip: summarize(l.gzip), plain: summarize(l.plain), status: summarize(l.status) };
    } finally {
      oneClient.destroy();
    }
    // `concurrency` clients at once: throughput
    const many = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let rpc: Awaited<ReturnType<typeof load>>;
    let json: Awaited<ReturnType<typeof load>>;
    try {
      const calls = callsOn(many);
      await load(calls.gzip, 200, concurrency);
      rpc = await load(calls.gzip, requests, concurrency);
      await load(calls.status, 200, concurrency);
      json = await load(calls.status, requests, concurrency);
    } finally {
      many.destroy();
    }
    const rpcS = summarize(rpc.latencies);
    const jsonS = summarize(json.latencies);
    // the agent's view: BrokerClient.getStats() including XML and base64 decoding
    const decoded = await load(() => c.getStats(), 200, 1);
    const decodedS = summarize(decoded.latencies);

    // idle: no requests, one storage cycle every 10 s
    c.close();
    const before = await procUsage(p.pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const after = await procUsage(p.pid);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuPercent = ((after.cpuOwnSeconds - before.cpuOwnSeconds) / wall) * 100;

    const note = `${HOSTS} hosts, ${requests} requests, concurrency ${concurrency}, unix socket, keep-alive; latency includes queueing`;
    const singleNote = `${HOSTS} hosts, ${requests} requests, one client one request at a time (as VDSM and hosted-engine call), taking turns with the other 1-client rows, unix socket, keep-alive`;
    const flags = envNote(unitEnv);
    return [
      {
        name: "xml-rpc get_stats latency, 1 client",
        unit: "ms",
        median: single.gzip.median,
        p99: single.gzip.p99,
        samples: requests,
        target: "p99 < 5 ms",
        note: `${singleNote}; Accept-Encoding: gzip as Python's xmlrpc.client sends (${gzBytes} B answer)`,
      },
      {
        name: "xml-rpc get_stats latency, 1 client, no gzip",
        unit: "ms",
        median: single.plain.median,
        p99: single.plain.p99,
        samples: requests,
        note: `${singleNote}; no Accept-Encoding, e.g. curl (${plainBytes} B answer)`,
      },
      {
        name: "json /v1/status latency, 1 client",
        unit: "ms",
        median: single.status.median,
        p99: single.status.p99,
        samples: requests,
        target: "p99 < 5 ms",
        note: singleNote,
      },
      {
        name: `xml-rpc get_stats latency, ${concurrency} clients`,
        unit: "ms",
        median: rpcS.median,
        p99: rpcS.p99,
        samples: requests,
        note,
      },
      { name: "xml-rpc get_stats throughput", unit: "req/s", median: rpc.rate, samples: 1, note },
      {
        name: `json /v1/status latency, ${concurrency} clients`,
        unit: "ms",
        median: jsonS.median,
        p99: jsonS.p99,
        samples: requests,
        note,
      },
      { name: "json /v1/status throughput", unit: "req/s", median: json.rate, samples: 1, note },
      {
        name: "BrokerClient.getStats() incl. decoding",
        unit: "ms",
        median: decodedS.median,
        p99: decodedS.p99,
        samples: 200,
        note: "sequential; client-side XML parse of a 360 kB answer",
      },
      {
        name: "broker idle CPU",
        unit: "% of a core",
        median: cpuPercent,
        samples: 1,
        target: "< 1%",
        note: `${idleSeconds} s idle, storage cycle 10 s; broker ${(await brokerCommand()).how}`,
      },
      {
        name: "broker RSS at start",
        unit: "MiB",
        median: atStart.rssKiB / 1024,
        samples: 1,
        note: `64 hosts read; ${flags}`,
      },
      {
        name: "broker RSS",
        unit: "MiB",
        median: after.rssKiB / 1024,
        samples: 1,
        target: "< 80 MB (76.3 MiB)",
        note: `after the load and the idle period; ${flags}`,
      },
    ];
  } finally {
    client?.close();
    if (proc) await terminate(proc, 10_000);
    await rm(dir, { recursive: true, force: true });
  }
}
