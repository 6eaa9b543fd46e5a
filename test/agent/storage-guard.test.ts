import { describe, expect, it } from "vitest";
import { brokerStorageProblem, StorageGuard } from "../../src/agent/storage-guard.js";
import { silentLogger } from "../../src/common/log.js";
import {
  type ConnectOutcome,
  MountNotPermittedError,
  type StorageCheck,
  type StorageConnector,
} from "../../src/storage/connect/index.js";

/**
 * The agent's storage guard over a scripted connector (a model: the real mount connector
 * is tested against GlusterFS and a loop device in test/storage/connect-mount.test.ts,
 * the agent on GlusterFS in test/cluster/storage-scenarios.test.ts).
 */
class ScriptedConnector implements StorageConnector {
  readonly description = "scripted";
  readonly domainDir = "/d";
  connects: Array<{ remountUnreachable?: boolean } | undefined> = [];
  constructor(
    public seen: StorageCheck,
    public onConnect: () => ConnectOutcome = () => "mounted",
  ) {}
  async check() {
    return this.seen;
  }
  async connect(opts?: { remountUnreachable?: boolean }) {
    this.connects.push(opts);
    return this.onConnect();
  }
  async disconnect() {
    return "not-ours" as const;
  }
}

function guard(c: StorageConnector) {
  const changes: Array<string | null> = [];
  const clock = { now: 0 };
  const g = new StorageGuard({
    connector: c,
    log: silentLogger,
    clock: () => clock.now,
    onChange: (w) => changes.push(w),
    remountAfterSeconds: 8,
  });
  return { g, changes, clock };
}

describe("storage guard", () => {
  it("a missing domain is connected at once; no outage is reported when that works", async () => {
    const c = new ScriptedConnector({ state: "missing", why: "nothing mounted" });
    const { g, changes } = guard(c);
    expect(await g.ensure()).toBe(true);
    expect(c.connects).toEqual([{ remountUnreachable: false }]);
    expect(changes).toEqual([]);
  });

  it("an unreachable mount is left to its client, remounted once it stays so past the limit; the end waits for the broker", async () => {
    const c = new ScriptedConnector({ state: "unreachable", why: "ENOTCONN" }, () => {
      throw new Error("mount refused");
    });
    const { g, changes, clock } = guard(c);
    expect(await g.ensure()).toBe(false);
    clock.now = 7;
    expect(await g.ensure()).toBe(false);
    expect(c.connects).toEqual([]);
    clock.now = 8;
    expect(await g.ensure()).toBe(false);
    expect(c.connects).toEqual([{ remountUnreachable: true }]);
    expect(changes).toEqual(["ENOTCONN", "mount refused"]);
    c.seen = { state: "ok", domainDir: "/d" };
    expect(await g.ensure()).toBe(true);
    // this host reaches it again, but the broker has not read it since: still out
    expect(g.problem).toBe("mount refused");
    g.brokerSays(null);
    expect(changes.at(-1)).toBeNull();
    expect(g.problem).toBeNull();
  });

  it("the broker's view counts: stale whiteboard or storage-domain False keeps the outage on", async () => {
    const c = new ScriptedConnector({ state: "ok", domainDir: "/d" });
    const { g, changes } = guard(c);
    g.brokerSays(brokerStorageProblem({ stale: false }, "False"));
    expect(g.problem).toMatch(/storage-domain monitor/);
    expect(await g.ensure()).toBe(true);
    expect(g.problem).toMatch(/storage-domain monitor/);
    g.brokerSays(brokerStorageProblem({ stale: true, last_read_error: "EIO" }, "True"));
    expect(g.problem).toBe("whiteboard reads stale: EIO");
    g.brokerSays(brokerStorageProblem({ stale: false }, "True"));
    expect(g.problem).toBeNull();
    expect(changes).toEqual([
      expect.stringMatching(/storage-domain monitor/),
      "whiteboard reads stale: EIO",
      null,
    ]);
  });

  it("a connector that may not mount is not retried in place: the error reaches the agent", async () => {
    const c = new ScriptedConnector({ state: "missing", why: "nothing mounted" }, () => {
      throw new MountNotPermittedError("only root may mount it");
    });
    const { g } = guard(c);
    await expect(g.ensure()).rejects.toBeInstanceOf(MountNotPermittedError);
  });

  it("another domain at the mount point is never connected over", async () => {
    const c = new ScriptedConnector({ state: "wrong-domain", why: "names storage domain X" });
    const { g, changes } = guard(c);
    expect(await g.ensure()).toBe(false);
    expect(c.connects).toEqual([]);
    expect(changes).toEqual(["names storage domain X"]);
  });
});
