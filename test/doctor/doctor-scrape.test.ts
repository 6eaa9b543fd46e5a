import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { installVdsmPki, makeTestPki } from "../../lab/standins/vdsm/certs.js";
import type { DoctorAnswer } from "../../src/doctor/schedule.js";
import { makeDomain, makeHostRoot } from "../broker/broker-harness.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { unixGet as get } from "../support/unix-get.js";

/**
 * A VDSM host whose VDSM accepts connections and never says a word (not even the TLS
 * handshake): the broker's doctor pings it on its own schedule with a timeout, so
 * Prometheus scrapes keep answering and show the VDSM check failing.
 */
describe("doctor on the broker's schedule: a silent VDSM never hangs a scrape", () => {
  let dir: string;
  let broker: BrokerProcess;
  let silent: net.Server;
  const held: net.Socket[] = [];

  beforeAll(async () => {
    dir = await tempDir("doctor-scrape");
    silent = net.createServer((s) => {
      held.push(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const pki = await makeTestPki(path.join(dir, "pki"));
    const domain = await makeDomain(path.join(dir, "sd"), { lockspace: false });
    const root = await makeHostRoot(dir, 1, domain, {
      extraConf: {
        vdsm_port: String((silent.address() as net.AddressInfo).port),
        network_test: "none",
      },
    });
    await installVdsmPki(root, pki);
    broker = await startBrokerProcess(root, {
      logLevel: "warn",
      env: { ...process.env, SANLOCK_RUN_DIR: path.join(dir, "no-sanlock") },
    });
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    for (const s of held) s.destroy();
    await new Promise((r) => silent?.close(r));
    if (dir) await removeDir(dir);
  });

  it("/metrics answers while VDSM is silent, and ovirt_ha_doctor_finding shows VDSM failing", async () => {
    // at once: the first ping is still waiting for VDSM, the scrape does not
    const first = await get(broker.socket, "/metrics");
    expect(first.status).toBe(200);
    expect(first.body).toContain("ovirt_ha_build_info");
    const text = await pollFor(
      "ovirt_ha_doctor_finding for the silent VDSM",
      async () => {
        const m = await get(broker.socket, "/metrics");
        expect(m.status).toBe(200);
        return /ovirt_ha_doctor_finding\{check="vdsm",severity="error"\} 1/.test(m.body)
          ? m.body
          : undefined;
      },
      90_000,
      300,
    );
    expect(text).toMatch(/ovirt_ha_doctor_age_seconds \d/);
    const doc = JSON.parse((await get(broker.socket, "/v1/doctor")).body) as DoctorAnswer;
    const vdsm = doc.findings.find((f) => f.check === "vdsm");
    expect(vdsm?.severity).toBe("error");
    expect(vdsm?.message).toMatch(/no answer within \d+ s/);
    expect(doc.age_seconds).toBeGreaterThanOrEqual(0);
    expect(doc.checked_at).toBeGreaterThan(0);
  }, 120_000);
});
