import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { distFile } from "../../lab/children.js";
import { SystemdNotifier, watchdogIntervalFromEnv } from "../../src/common/systemd-notify.js";
import { removeDir, tempDir } from "../support/temp.js";
import { capturedLogger, NotifyReceiver, runNode } from "./harness.js";

describe("sd_notify through libsystemd", () => {
  let dir: string;
  let receiver: NotifyReceiver | undefined;
  let socketPath: string;

  beforeEach(async () => {
    dir = await tempDir("notify");
    socketPath = path.join(dir, "notify.sock");
    receiver = await NotifyReceiver.start(socketPath);
  });

  afterEach(async () => {
    receiver?.stop();
    await removeDir(dir);
  });

  it("a daemon process sends READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 to NOTIFY_SOCKET", async () => {
    const mod = distFile("src/common/systemd-notify.js");
    const script = `
      import { notifyReady, notifyStatus, notifyStopping, startWatchdog, watchdogIntervalMs } from ${JSON.stringify(mod)};
      const sent = [await notifyReady(), await notifyStatus("joining lockspace\\nhosted-engine")];
      const stop = startWatchdog(() => true);
      await new Promise((r) => setTimeout(r, 130));
      stop();
      sent.push(await notifyStopping());
      console.log(JSON.stringify({ sent, interval: watchdogIntervalMs() }));`;
    const res = await runNode(script, {
      env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: "100000" },
    });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ sent: [true, true, true], interval: 100 });
    // one keep-alive at once, then one every 50 ms (half of WATCHDOG_USEC) for 130 ms
    await receiver?.waitFor((m) => m === "WATCHDOG=1", 2);
    await receiver?.waitFor((m) => m === "STOPPING=1");
    const got = receiver?.messages ?? [];
    expect(got[0]).toBe("READY=1");
    expect(got[1]).toBe("STATUS=joining lockspace hosted-engine");
  });

  it("sends nothing without NOTIFY_SOCKET, and no keep-alives while unhealthy", async () => {
    const mod = distFile("src/common/systemd-notify.js");
    const quiet = await runNode(
      `import { notifyReady } from ${JSON.stringify(mod)}; console.log(await notifyReady());`,
    );
    expect(quiet.stdout.trim()).toBe("false");

    const unhealthy = await runNode(
      `import { notifyReady, startWatchdog } from ${JSON.stringify(mod)};
       startWatchdog(() => false);
       await new Promise((r) => setTimeout(r, 100));
       await notifyReady();`,
      { env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: "40000" } },
    );
    expect(unhealthy.code).toBe(0);
    await receiver?.waitFor((m) => m === "READY=1");
    expect(receiver?.messages).toEqual(["READY=1"]);
  });

  it("keep-alives are not ours when WATCHDOG_PID names another process", () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: "60000000" }, 42)).toBe(60_000);
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: "60000000", WATCHDOG_PID: "42" }, 42)).toBe(
      60_000,
    );
    expect(
      watchdogIntervalFromEnv({ WATCHDOG_USEC: "60000000", WATCHDOG_PID: "43" }, 42),
    ).toBeUndefined();
    expect(watchdogIntervalFromEnv({}, 42)).toBeUndefined();
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: "soon" }, 42)).toBeUndefined();
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: "0" }, 42)).toBeUndefined();
  });

  it("a missing libsystemd is logged once and never throws", async () => {
    const { lines, logger } = capturedLogger("info");
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = socketPath;
    try {
      const n = new SystemdNotifier({ library: "libsystemd-not-there.so.0", logger });
      expect(await n.ready()).toBe(false);
      expect(await n.watchdog()).toBe(false);
      expect(await n.stopping()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, library: "libsystemd-not-there.so.0" });
    expect(String(lines[0]?.msg)).toMatch(/cannot load libsystemd/);
  });
});
