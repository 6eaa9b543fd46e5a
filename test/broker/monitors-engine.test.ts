import { randomUUID } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type * as libvirt from "@unraid/libvirt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decideEngineStatus, withStartRecord } from "../../src/broker/monitors/engine-status.js";
import { engineHealthUrl } from "../../src/broker/monitors/liveliness.js";
import type { Monitor } from "../../src/broker/monitors/monitor.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { START_FAILURE_FILE } from "../../src/broker/monitors/start-failure-reader.js";
import { silentLogger } from "../../src/common/log.js";
import { clearStartedHere, recordStartedHere } from "../../src/common/started-here.js";
import type { HypervisorConnection } from "../../src/libvirt/hypervisor.js";
import { removeDir, tempDir } from "../support/temp.js";
import { openTestHypervisor, waitFor } from "./monitors-support.js";

let hv: libvirt.Hypervisor;
let source: HypervisorConnection;
let runDir: string;
let server: http.Server;
let port: number;
/** what the fake engine's health page answers; "hang" never answers */
let engineAnswer: number | "hang" = 200;
const healthPaths: string[] = [];
const started: Monitor[] = [];

beforeAll(async () => {
  ({ hv, source } = await openTestHypervisor());
  runDir = await tempDir("d1-run");
  server = http.createServer((req, res) => {
    healthPaths.push(req.url ?? "");
    if (engineAnswer === "hang") return;
    res.statusCode = engineAnswer;
    res.end(engineAnswer === 200 ? "DB Up!Welcome to Health Status!" : "DB Down!");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
  engineAnswer = 200;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await source?.close();
  await hv?.connectClose();
  await removeDir(runDir);
});

function domainXml(name: string, uuid: string): string {
  return `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid><memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;
}

function health(
  uuid: string,
  extra: Record<string, unknown> = {},
  vms = source,
  engineUpElsewhere?: () => boolean,
): Monitor {
  const m = createMonitor(
    "engine-health",
    { vm_uuid: uuid, fqdn: `127.0.0.1:${port}`, address: "0", use_ssl: "true", ...extra },
    {
      log: silentLogger,
      intervalSeconds: 0.05,
      hypervisor: vms,
      runDir,
      ...(engineUpElsewhere ? { engineUpElsewhere } : {}),
    },
  );
  started.push(m);
  m.start();
  return m;
}

const becomes = (m: Monitor, json: string) =>
  waitFor(() => (m.value() === json ? true : undefined), 15_000, json);

const UP_GOOD = '{"vm": "up", "health": "good", "detail": "Up"}';
const NOT_HERE_DOWN =
  '{"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}';

describe("engine-health against libvirt's test driver and a fake engine", () => {
  it("follows a VM through up/good, failed liveliness, paused, and an unexpected shutoff", async () => {
    const uuid = randomUUID();
    const dom = await hv.domainDefineXML(domainXml(`he-d1-${uuid.slice(0, 8)}`, uuid));
    try {
      const m = health(uuid);
      // defined but never running here: plain "down"
      await becomes(
        m,
        '{"vm": "down", "health": "bad", "detail": "Down", "reason": "bad vm status"}',
      );
      await hv.domainCreate(dom);
      await becomes(m, UP_GOOD);
      expect(healthPaths).toContain("/ovirt-engine/services/health");
      expect(m.current()).toEqual({ vm: "up", health: "good", detail: "Up" });

      engineAnswer = 500;
      await becomes(
        m,
        '{"vm": "up", "health": "bad", "detail": "Up", "reason": "failed liveliness check"}',
      );
      engineAnswer = 200;
      await becomes(m, UP_GOOD);

      await hv.domainSuspend(dom);
      await becomes(
        m,
        '{"vm": "up", "health": "bad", "detail": "Paused", "reason": "bad vm status"}',
      );
      await hv.domainResume(dom);
      await becomes(m, UP_GOOD);

      await hv.domainDestroy(dom);
      await becomes(
        m,
        '{"vm": "down_unexpected", "health": "bad", "detail": "Down", "reason": "bad vm status"}',
      );
    } finally {
      await hv.domainUndefine(dom).catch(() => undefined);
    }
  });

  it("reports down_unexpected when a VM the agent started here dies (virsh destroy of a transient domain), down_missing after a stop on purpose", async () => {
    const uuid = randomUUID();
    const m = health(uuid);
    await recordStartedHere(runDir, uuid);
    try {
      let dom = await hv.domainCreateXML(domainXml(`he-d1-${uuid.slice(0, 8)}`, uuid));
      await becomes(m, UP_GOOD);
      await hv.domainDestroy(dom);
      await becomes(
        m,
        '{"vm": "down_unexpected", "health": "bad", "detail": "Down", "reason": "bad vm status"}',
      );
      // started again, then stopped by the agent on purpose: the record is gone
      const m2 = health(uuid);
      dom = await hv.domainCreateXML(domainXml(`he-d1-${uuid.slice(0, 8)}`, uuid));
      await becomes(m2, UP_GOOD);
      await clearStartedHere(runDir);
      await hv.domainDestroy(dom);
      await becomes(
        m2,
        '{"vm": "down_missing", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}',
      );
    } finally {
      await clearStartedHere(runDir);
    }
  });

  it("reports down when the VM was never here, and down_missing once it vanishes after being up", async () => {
    const uuid = randomUUID();
    const m = health(uuid);
    await becomes(m, NOT_HERE_DOWN);
    const dom = await hv.domainCreateXML(domainXml(`he-d1-${uuid.slice(0, 8)}`, uuid));
    await becomes(m, UP_GOOD);
    await hv.domainDestroy(dom);
    await becomes(
      m,
      '{"vm": "down_missing", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}',
    );
  });

  it("counts an engine that does not answer within health_timeout as bad", async () => {
    const uuid = randomUUID();
    const dom = await hv.domainCreateXML(domainXml(`he-d1-${uuid.slice(0, 8)}`, uuid));
    try {
      engineAnswer = "hang";
      const m = health(uuid, { health_timeout: 0.3 });
      await becomes(
        m,
        '{"vm": "up", "health": "bad", "detail": "Up", "reason": "failed liveliness check"}',
      );
    } finally {
      await hv.domainDestroy(dom).catch(() => undefined);
    }
  });

  it("reports 'storage locked' while a start refused on the VM lease is recent", async () => {
    const uuid = randomUUID();
    const file = path.join(runDir, START_FAILURE_FILE);
    const reason = "Storage of VM is locked. Is another host already starting the VM?";
    await writeFile(file, JSON.stringify({ reason, at: Date.now() }));
    try {
      const m = health(uuid);
      await becomes(m, `{"vm": "down", "health": "bad", "detail": "Down", "reason": "${reason}"}`);
      // older than 600 s: no longer applies
      await writeFile(file, JSON.stringify({ reason, at: Date.now() - 601_000 }));
      await becomes(m, NOT_HERE_DOWN);
    } finally {
      await rm(file, { force: true });
    }
  });

  it("drops the 'storage locked' reason as soon as another live host reports the engine VM up", async () => {
    const uuid = randomUUID();
    const file = path.join(runDir, START_FAILURE_FILE);
    const reason = "Storage of VM is locked. Is another host already starting the VM?";
    await writeFile(file, JSON.stringify({ reason, at: Date.now() }));
    let upElsewhere = false;
    try {
      const m = health(uuid, {}, source, () => upElsewhere);
      await becomes(m, `{"vm": "down", "health": "bad", "detail": "Down", "reason": "${reason}"}`);
      upElsewhere = true;
      await becomes(m, NOT_HERE_DOWN);
    } finally {
      await rm(file, { force: true });
    }
  });

  it("reports unknown when the hypervisor connection is gone", async () => {
    const other = await openTestHypervisor();
    const m = health(randomUUID(), {}, other.source);
    await becomes(m, NOT_HERE_DOWN);
    await other.source.close();
    await other.hv.connectClose();
    await becomes(
      m,
      '{"vm": "unknown", "health": "unknown", "detail": "unknown", "reason": "failed to getVmStats"}',
    );
  });
});

describe("engine status decisions", () => {
  it("builds the health URL from the fqdn (IPv6 literals bracketed)", () => {
    expect(engineHealthUrl("engine.example.com")).toBe(
      "http://engine.example.com/ovirt-engine/services/health",
    );
    expect(engineHealthUrl("2001:db8::5")).toBe(
      "http://[2001:db8::5]/ovirt-engine/services/health",
    );
  });

  it("keeps down_unexpected and down_missing until the VM is up again", () => {
    let t = decideEngineStatus("up", { kind: "state", state: "crashed" }, undefined, false);
    expect(t.status.vm).toBe("down_unexpected");
    t = decideEngineStatus(t.tracked, { kind: "missing" }, undefined, false);
    expect(t.status.vm).toBe("down_unexpected");
    t = decideEngineStatus(t.tracked, { kind: "unavailable" }, undefined, false);
    expect(t.tracked).toBe("down_unexpected");
    t = decideEngineStatus(t.tracked, { kind: "state", state: "running" }, undefined, true);
    expect(t.status).toEqual({ vm: "up", health: "good", detail: "Up" });
    t = decideEngineStatus(t.tracked, { kind: "missing" }, "locked", false);
    expect(t.status).toEqual({ vm: "down", health: "bad", detail: "Down", reason: "locked" });
    expect(t.tracked).toBe("down");
  });

  it("reads a VM the agent started here and libvirt no longer knows as VDSM's Down entry, a missing one otherwise", () => {
    expect(withStartRecord({ kind: "missing" }, true)).toEqual({ kind: "state", state: "shutoff" });
    expect(withStartRecord({ kind: "missing" }, false)).toEqual({ kind: "missing" });
    expect(withStartRecord({ kind: "unavailable" }, true)).toEqual({ kind: "unavailable" });
    const crash = decideEngineStatus(
      "up",
      withStartRecord({ kind: "missing" }, true),
      undefined,
      false,
    );
    expect(crash.status).toEqual({
      vm: "down_unexpected",
      health: "bad",
      detail: "Down",
      reason: "bad vm status",
    });
  });

  it("ignores a recorded lock failure while the VM runs here", () => {
    const t = decideEngineStatus("down", { kind: "state", state: "running" }, "locked", true);
    expect(t.status.vm).toBe("up");
  });
});
