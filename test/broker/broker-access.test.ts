/**
 * Who may do what over the broker socket, against a real broker process, a real sanlock
 * daemon holding the lockspace, and a real unprivileged user (created here, in group
 * kvm) calling over the real socket: reads are open to the group, every state change is
 * refused by SO_PEERCRED, and reset_lockspace never wipes a lockspace a live host holds.
 */
import { spawn } from "node:child_process";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distFile, labArgs } from "../../lab/children.js";
import { pollFor } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { groupId } from "../../src/broker/api/unix-socket.js";
import { XmlRpcFault } from "../../src/broker/client.js";
import { parseMethodResponse } from "../../src/broker/xmlrpc/parse.js";
import { serializeMethodCall } from "../../src/broker/xmlrpc/serialize.js";
import { FAULT } from "../../src/broker/xmlrpc/types.js";
import { haPaths } from "../../src/common/paths.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { readableCopy } from "../support/readable-copy.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { segmentOnDisk } from "../support/whiteboard.js";
import { hostBlock, makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

/** An HTTP client run as another user: requests in argv[2] (JSON), answers on stdout. */
const CLIENT = `
const http = require("node:http");
const [sock, reqs] = [process.argv[1], JSON.parse(process.argv[2])];
(async () => {
  const out = [];
  for (const r of reqs) {
    out.push(await new Promise((res) => {
      const q = http.request({ socketPath: sock, method: r.method, path: r.path,
        headers: { "content-type": r.type } }, (s) => {
        let b = ""; s.on("data", (c) => { b += c; });
        s.on("end", () => res({ status: s.statusCode, body: b }));
      });
      q.on("error", (e) => res({ status: 0, body: e.message }));
      q.end(r.body);
    }));
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

interface Req {
  method: string;
  path: string;
  type: string;
  body: string;
}
const rpc = (method: string, params: Parameters<typeof serializeMethodCall>[1] = []): Req => ({
  method: "POST",
  path: "/RPC2",
  type: "text/xml",
  body: serializeMethodCall(method, params),
});

/** The fault (or value) of an XML-RPC answer. */
function outcome(body: string): { fault?: XmlRpcFault; value?: unknown } {
  try {
    return { value: parseMethodResponse(body) };
  } catch (e) {
    if (e instanceof XmlRpcFault) return { fault: e };
    throw e;
  }
}

/**
 * The built slowloris where any user can read it (with package.json: it is an ES module),
 * made once for this file's tests and removed after them.
 */
let slowloris: ReturnType<typeof readableCopy> | undefined;
const slowlorisCopy = () =>
  (slowloris ??= readableCopy("slowloris", ["package.json", "dist/lab/standins/slowloris.js"]));
afterAll(async () => {
  await (await slowloris)?.remove();
});

/**
 * A slowloris process (optionally as another user); resolves with its final stats. As
 * another user it runs from a world-readable copy of the built slowloris (readableCopy):
 * that user may not be able to reach this clone's dist/ (a clone under root's home).
 */
async function flood(
  socket: string,
  connections: number,
  seconds: number,
  user?: string,
): Promise<{ opened: number; closedByServer: number }> {
  distFile("lab/standins/slowloris.js"); // names the missing build before anything is copied
  const program = user
    ? [
        (await slowlorisCopy()).file("dist/lab/standins/slowloris.js"),
        socket,
        String(connections),
        String(seconds),
      ]
    : labArgs("standins/slowloris", socket, String(connections), String(seconds));
  const node = [process.execPath, ...program];
  const [cmd, ...args] = user ? ["runuser", "-u", user, "--", ...node] : node;
  return new Promise((resolve, reject) => {
    const c = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    c.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    c.on("close", () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`slowloris failed: ${err}`));
      }
    });
  });
}

/** get_stats on a fresh connection, as hosted-engine --vm-status and VDSM poll it. */
const failures: string[] = [];
function freshGetStats(socket: string): Promise<boolean> {
  const body = serializeMethodCall("get_stats", []);
  return new Promise((resolve) => {
    const req = http.request(
      { socketPath: socket, method: "POST", path: "/RPC2", agent: false, timeout: 10_000 },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(outcome(text).value !== undefined));
        res.on("error", () => resolve(false));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => {
      failures.push(e.message);
      resolve(false);
    });
    req.end(body);
  });
}

const USER = `hehaprobe${process.pid % 100000}`;

describe("broker socket access and the reset_lockspace guard", () => {
  let dir: string;
  let domain: TestDomain;
  let sanlock: SanlockDaemon | undefined;
  let broker: BrokerProcess | undefined;
  let userMade = false;
  let publisher: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    // the group VDSM's socket belongs to: made here when this machine has none
    if ((await groupId("kvm")) === undefined) {
      const g = await runTool("groupadd", ["-f", "-r", "kvm"]);
      expect(g.stderr).toBe("");
    }
    const u = await runTool("useradd", ["-M", "-N", "-g", "kvm", "-s", "/usr/sbin/nologin", USER]);
    expect(u.stderr).toBe("");
    userMade = true;
    dir = await tempDir("broker-access");
    // the unprivileged user must be able to reach the socket's directory
    await chmod(dir, 0o711);
    domain = await makeDomain(dir);
    sanlock = await SanlockDaemon.start({ runDir: path.join(dir, "sanlock1"), hostName: "host1" });
    expect((await sanlock.addLockspace("hosted-engine", 1, domain.lockspace)).output).toContain(
      "done 0",
    );
    const root = await makeHostRoot(dir, 1, domain);
    // liveness is judged over 2 s instead of 60 so the live-host refusal is reached soon
    await writeFile(
      haPaths(root).agentConf,
      "[timing]\nbroker_storage_cycle=0.5\nhost_alive_timeout=2\n",
    );
    broker = await startBrokerProcess(root, { env: sanlock.env });
    // host 1's agent publishes every 300 ms: a live host that has not stopped
    let ts = 1000;
    await broker.client.putStats(1, hostBlock(1, ts));
    publisher = setInterval(() => {
      ts += 1;
      void broker?.client.putStats(1, hostBlock(1, ts)).catch(() => undefined);
    }, 300);
  });

  afterAll(async () => {
    if (publisher) clearInterval(publisher);
    await broker?.stop();
    await sanlock?.stop();
    if (userMade) await runTool("userdel", [USER]);
    if (dir) await removeDir(dir);
  });

  async function asUser(reqs: Req[]): Promise<{ status: number; body: string }[]> {
    const r = await runTool("runuser", [
      "-u",
      USER,
      "--",
      process.execPath,
      "-e",
      CLIENT,
      broker!.socket,
      JSON.stringify(reqs),
    ]);
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout);
  }

  it("the socket is 0660 and belongs to group kvm", async () => {
    const st = await stat(broker!.socket);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(await groupId("kvm"));
  });

  it("a kvm member who is not root nor the broker's user reads the stats but changes nothing", async () => {
    const before = await segmentOnDisk(domain.metadata, 0);
    const [stats, alive, put, push, reset, notify, monitor, maint, publish, collect] = await asUser(
      [
        rpc("get_stats"),
        rpc("is_host_alive"),
        rpc("put_stats", [0, Buffer.from("maintenance=True\n")]),
        rpc("push_hosts_state", [[1, 2]]),
        rpc("reset_lockspace", [true]),
        rpc("notify", ["state_transition", "EngineUp-EngineDown", {}]),
        rpc("start_monitor", ["mem-free", {}]),
        {
          method: "PUT",
          path: "/v1/maintenance",
          type: "application/json",
          body: '{"global":true}',
        },
        {
          method: "POST",
          path: "/v1/agent/publish",
          type: "application/json",
          body: JSON.stringify({
            host_id: 0,
            block: Buffer.from("maintenance=True\n").toString("base64"),
            alive: [1, 2],
          }),
        },
        { method: "GET", path: "/v1/agent/collect", type: "application/json", body: "" },
      ],
    );
    const segs = outcome(stats!.body).value as Record<string, Buffer>;
    expect(Object.keys(segs)).toContain("1");
    expect(outcome(alive!.body).value).toEqual([]);
    for (const [name, r] of Object.entries({ put, push, reset, notify, monitor })) {
      const f = outcome(r!.body).fault;
      expect(f?.faultCode, name).toBe(FAULT.accessDenied);
      expect(f?.message, name).toMatch(
        /only root and the broker's user \(uid 0\) may call it, not uid \d+/,
      );
    }
    expect(maint!.status).toBe(403);
    expect(JSON.parse(maint!.body).error).toContain("PUT /v1/maintenance changes state");
    expect(publish!.status).toBe(403);
    expect(JSON.parse(publish!.body).error).toContain("POST /v1/agent/publish changes state");
    expect(collect!.status).toBe(200);
    expect(Object.keys(JSON.parse(collect!.body).stats)).toContain("1");
    // nothing changed: no global block written, nothing pushed
    await broker!.client.status(); // one more cycle's worth of answers
    expect(await segmentOnDisk(domain.metadata, 0)).toEqual(before);
    expect(await broker!.client.isHostAlive()).toEqual([]);
  });

  it("reset_lockspace refuses while a host's agent runs outside global maintenance, saying why, and the lockspace stays joined", async () => {
    const lockspaceBefore = await readFile(domain.lockspace);
    const err = await broker!.client.resetLockspace().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XmlRpcFault);
    expect((err as Error).message).toContain(
      "refusing to re-initialise the lockspace: the cluster is not in global maintenance",
    );
    expect((err as Error).message).toContain(
      "host 1 (host1.example.com): its agent has not stopped",
    );
    expect(await readFile(domain.lockspace)).toEqual(lockspaceBefore);
    const status = await sanlock!.client(["client", "status"]);
    expect(status.output).toMatch(/^s hosted-engine:1:/m);
  });

  it("reset_lockspace with force still refuses while a host is live (its block keeps changing)", async () => {
    await broker!.client.setGlobalMaintenance(true);
    // wait for the broker to have watched long enough to tell live hosts
    const why = await pollFor("a live-host refusal", async () => {
      const e = await broker!.client.resetLockspace(true).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(XmlRpcFault);
      const text = (e as Error).message;
      return text.includes("its agent is live") ? text : undefined;
    });
    expect(why).toContain("host 1 (host1.example.com): its agent is live");
    const status = await sanlock!.client(["client", "status"]);
    expect(status.output).toMatch(/^s hosted-engine:1:/m);
    await broker!.client.setGlobalMaintenance(false);
  });

  it("under two 500-connection slowloris floods (a kvm member's and a root process's) the agent's link and >= 99 % of fresh get_stats calls succeed", async () => {
    const floods = [flood(broker!.socket, 500, 25, USER), flood(broker!.socket, 500, 25)];
    // both floods are at full strength once the broker turns their surplus away
    await pollFor(
      "the broker refusing flood connections",
      async () =>
        (await broker!.log()).includes("connection refused: caller over its share")
          ? true
          : undefined,
      20_000,
    );
    let agentOk = 0;
    let fresh = 0;
    const calls = 200;
    for (let i = 0; i < calls; i++) {
      if (await freshGetStats(broker!.socket)) fresh += 1;
      if (i % 5 === 0) {
        // the agent's keep-alive link: publish, then read back
        await broker!.client.putStats(1, hostBlock(1, 5000 + i));
        const segs = await broker!.client.getStats();
        if (segs.has(1)) agentOk += 1;
      }
    }
    const [ro, root] = await Promise.all(floods);
    expect(agentOk).toBe(calls / 5);
    expect(fresh, failures.join("; ")).toBeGreaterThanOrEqual(calls * 0.99);
    // the floods were real: each kept reopening what the broker closed
    expect(ro!.closedByServer).toBeGreaterThan(500);
    expect(root!.closedByServer).toBeGreaterThan(500);
  });

  it("2000 malformed requests log one line, not 2000", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const send = () =>
      new Promise<number>((resolve) => {
        const req = http.request(
          { socketPath: broker!.socket, method: "POST", path: "/RPC2", agent },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", () => resolve(0));
        req.end("<methodCall><methodName>no_such");
      });
    const before = (await broker!.log()).split("\n").length;
    let answered = 0;
    for (let i = 0; i < 2000; i += 8) {
      const codes = await Promise.all(Array.from({ length: 8 }, send));
      answered += codes.filter((c) => c === 200).length;
    }
    agent.destroy();
    expect(answered).toBe(2000);
    await broker!.client.isHostAlive();
    const lines = (await broker!.log()).split("\n").slice(before - 1);
    expect(lines.filter((l) => l.includes("xml-rpc call failed"))).toHaveLength(1);
  });

  it("a struct or a list as host id is invalid params, not an internal error", async () => {
    for (const bad of [{ a: 1 }, [1], Buffer.from("x")]) {
      const e = await broker!.client
        .call("put_stats", [bad as never, Buffer.from("x")])
        .catch((x: unknown) => x);
      expect((e as XmlRpcFault).faultCode).toBe(FAULT.invalidParams);
      expect((e as Error).message).toContain("put_stats: host id");
    }
  });
});
