/**
 * ovirt-ha-broker under a 500-connection slowloris on its unix socket (lab/standins/slowloris.ts
 * in its own process, one byte a second per connection, reopening every connection the
 * broker closes): how many fresh get_stats calls (a new connection each, as
 * hosted-engine --vm-status and VDSM's polls) and how many calls on the agent's
 * keep-alive link succeed, and their latency, with 64 hosts on the whiteboard.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { labArgs } from "../lab/children.js";
import { pollUntil, type TrackedChild, terminate } from "../lab/standins/processes.js";
import { BrokerClient } from "../src/broker/client.js";
import { serializeMethodCall } from "../src/broker/xmlrpc/serialize.js";
import { haPaths } from "../src/common/paths.js";
import { populatedRoot, spawnBenchBroker } from "./broker.js";
import { type BenchResult, summarize } from "./types.js";

const FLOOD = 500;
const CALLS = 500;

function slowlorisCommand(socket: string, seconds: number): string[] {
  return labArgs("standins/slowloris", socket, String(FLOOD), String(seconds));
}

function freshGetStats(socket: string, body: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const req = http.request(
      { socketPath: socket, method: "POST", path: "/RPC2", agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve(res.statusCode === 200 ? Number(process.hrtime.bigint() - t) / 1e6 : undefined),
        );
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end(body);
  });
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "he-ha-bench-flood-"));
  let proc: TrackedChild | undefined;
  let client: BrokerClient | undefined;
  try {
    const root = await populatedRoot(dir);
    const socket = haPaths(root).brokerSocket;
    proc = await spawnBenchBroker(dir, root);
    client = new BrokerClient(socket, { timeoutMs: 10_000 });
    const c = client;
    await pollUntil("hosts read", async () => (await c.status()).hosts.length > 0, 30_000);

    const flood = spawn(process.execPath, slowlorisCommand(socket, 60), { stdio: "ignore" });
    try {
      // the flood at full strength: the broker has turned its surplus away
      await pollUntil(
        "flood refused",
        async () =>
          (await readFile(path.join(dir, "broker.log"), "utf8")).includes("connection refused"),
        30_000,
      );
      const body = serializeMethodCall("get_stats", []);
      const fresh: number[] = [];
      const agent: number[] = [];
      let agentCalls = 0;
      for (let i = 0; i < CALLS; i++) {
        const ms = await freshGetStats(socket, body);
        if (ms !== undefined) fresh.push(ms);
        if (i % 5 === 0) {
          agentCalls += 1;
          const t = process.hrtime.bigint();
          const ok = await c.getStats().then(
            (s) => s.size > 0,
            () => false,
          );
          if (ok) agent.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }
      const note = `${FLOOD}-connection slowloris (1 byte/s, reconnecting) from one process; 64 hosts`;
      const f = summarize(fresh);
      const a = summarize(agent);
      return [
        {
          name: "get_stats success under slowloris, fresh connections",
          unit: "%",
          median: (fresh.length / CALLS) * 100,
          samples: CALLS,
          target: ">= 99 %",
          note,
        },
        {
          name: "get_stats latency under slowloris, fresh connections",
          unit: "ms",
          median: f.median,
          p99: f.p99,
          samples: fresh.length,
          note,
        },
        {
          name: "agent link success under slowloris (keep-alive)",
          unit: "%",
          median: (agent.length / agentCalls) * 100,
          samples: agentCalls,
          target: "100 %",
          note,
        },
        {
          name: "agent link get_stats latency under slowloris",
          unit: "ms",
          median: a.median,
          p99: a.p99,
          samples: agent.length,
          note,
        },
      ];
    } finally {
      flood.kill("SIGTERM");
    }
  } finally {
    client?.close();
    if (proc) await terminate(proc, 5000);
    await rm(dir, { recursive: true, force: true });
  }
}
