/**
 * Strict configuration: agent.conf, broker.conf and hosted-engine.conf that are binary,
 * mistyped or not INI / key=value are refused with the file, the line and what was
 * expected, never read as defaults; a relative domain_path is refused; and the built
 * broker refuses to start on such an agent.conf. Also the init pre-check: a domain whose
 * ha_agent/ is missing but whose images/ hold hosted-engine volumes is refused.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productBin } from "../../lab/children.js";
import { parseNotifyConfig } from "../../src/broker/notifications/config.js";
import { AgentConfError, loadAgentConf, parseAgentConf } from "../../src/common/agent-conf.js";
import { HostConfigError, loadHostConfig } from "../../src/common/host-config.js";
import { ConfigSyntaxError } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { initStorageDomain } from "../../src/storage/init.js";
import { ExistingHeVolumesError, refuseOrphanHeVolumes } from "../../src/storage/init-guard.js";
import { OVF_TEST } from "../fixtures/ovf-fixtures.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("strict-conf");
});
afterAll(() => removeDir(dir));

async function file(name: string, content: string | Buffer): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, content);
  return f;
}

describe("agent.conf", () => {
  it("a mistyped section is refused with file, line and the sections expected", () => {
    expect(() => parseAgentConf("[tiMing]\nloop_delay=1\n", "/etc/agent.conf")).toThrow(
      new AgentConfError(
        "/etc/agent.conf:1: unknown section [tiMing], expected one of [score], [timing]",
      ),
    );
  });

  it("an unknown [score] key, a key before any section, a line that is not INI", () => {
    expect(() => parseAgentConf("[score]\nbase_score=1\n", "a.conf")).toThrow(
      /^a\.conf:2: unknown key "base_score" in \[score\], expected one of base-score, /,
    );
    expect(() => parseAgentConf("loop_delay=1\n", "a.conf")).toThrow(
      'a.conf:1: "loop_delay=1" before any section, expected one of [score], [timing] first',
    );
    expect(() => parseAgentConf("[timing]\nloop_delay 1\n", "a.conf")).toThrow(
      'a.conf:2: expected "[section]", "key = value" or a comment, got "loop_delay 1"',
    );
    expect(() => parseAgentConf("[score]\n[score]\n", "a.conf")).toThrow(
      "a.conf:2: section [score] repeated (first at line 1)",
    );
  });

  it("4096 random bytes are refused as binary, not read as defaults", async () => {
    const bytes = randomBytes(4096);
    bytes[100] = 0;
    const f = await file("random.conf", bytes);
    const e = await loadAgentConf(f).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AgentConfError);
    expect((e as Error).message).toMatch(
      new RegExp(
        `^${f}:\\d+: (binary content \\(a NUL byte at byte \\d+\\)|bytes that are not UTF-8 text at byte \\d+)`,
      ),
    );
  });

  it("bytes that are not UTF-8 (no NUL) are refused naming the line", async () => {
    const f = await file(
      "latin1.conf",
      Buffer.from("[score]\n\nbase-score=3400 \xe9t\xe9\n", "latin1"),
    );
    await expect(loadAgentConf(f)).rejects.toThrow(
      `${f}:3: bytes that are not UTF-8 text at byte 25`,
    );
  });

  it("valid files still read, comments and continuation lines included", () => {
    const c = parseAgentConf("# c\n; c\n[score]\nbase-score = 3000\n[timing]\nloop_delay: 2\n");
    expect(c.score["base-score"]).toBe(3000);
    expect(c.timing.loop_delay).toBe(2);
  });
});

describe("broker.conf", () => {
  it("a section other than [email] and [notify] is refused with the line", () => {
    expect(() => parseNotifyConfig("[email]\nsmtp-server=x\n[Notify]\n", "/var/b.conf")).toThrow(
      new ConfigSyntaxError(
        "/var/b.conf",
        3,
        "unknown section [Notify], expected one of [email], [notify]",
      ),
    );
  });

  it("keys are lower-cased as configparser does; defaults fill [email]", () => {
    const c = parseNotifyConfig("[notify]\nState_Transition=up\n[email]\nSMTP-Port = 2525\n");
    expect(c.rules).toEqual({ state_transition: "up" });
    expect(c.email["smtp-port"]).toBe("2525");
    expect(c.email["smtp-server"]).toBe("localhost");
  });
});

describe("hosted-engine.conf", () => {
  it("binary content is refused with the line", async () => {
    const f = await file(
      "he-bin.conf",
      Buffer.concat([Buffer.from("host_id=1\n"), Buffer.from([0x41, 0, 0x3d])]),
    );
    await expect(loadHostConfig(f)).rejects.toThrow(
      new HostConfigError(f, "line 2: binary content (a NUL byte at byte 11), expected text"),
    );
  });

  it("a section header or a key with spaces is refused", async () => {
    const sec = await file("he-sec.conf", "host_id=1\n[timing]\n");
    await expect(loadHostConfig(sec)).rejects.toThrow(
      new HostConfigError(sec, 'line 2: expected key=value, got "[timing]"'),
    );
    const sp = await file("he-sp.conf", "host_id=1\nhost id=2\n");
    await expect(loadHostConfig(sp)).rejects.toThrow(
      new HostConfigError(
        sp,
        'line 2: "host id" is not a key (letters, digits, "_", ".", "-"), expected key=value',
      ),
    );
  });

  it("a relative domain_path is refused", async () => {
    const f = await file("he-rel.conf", "host_id=1\ndomain_path=mnt/sd\n");
    await expect(loadHostConfig(f)).rejects.toThrow(
      new HostConfigError(
        f,
        'domain_path="mnt/sd" is relative; it must be the absolute path of the storage domain directory',
      ),
    );
  });
});

describe("the built broker on a mistyped agent.conf", () => {
  it("refuses to start, naming file and line, instead of running on defaults", async () => {
    const root = path.join(dir, "broker-root");
    const p = haPaths(root);
    await mkdir(path.dirname(p.hostConf), { recursive: true });
    await mkdir(path.dirname(p.agentConf), { recursive: true });
    await writeFile(p.hostConf, "host_id=1\nsdUUID=x\ndomain_path=/nonexistent\nstorage=x:/y\n");
    await writeFile(p.agentConf, "[tiMing]\nbroker_storage_cycle=1\n");
    const r = await runTool(process.execPath, [productBin("ovirt-ha-broker")], {
      env: { PATH: process.env.PATH, HE_HA_ROOT: root, HE_HA_LOG_PRETTY: "0" },
    });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      `${p.agentConf}:1: unknown section [tiMing], expected one of [score], [timing]`,
    );
  });
});

describe("storage init pre-check", () => {
  it("refuses a domain whose ha_agent/ is gone but whose images/ hold the hosted-engine volumes", async () => {
    const { readFile } = await import("node:fs/promises");
    const domain = path.join(dir, "sd", "5b2a1c2e-0000-4000-8000-00000000b001");
    await initStorageDomain({
      domain,
      hostConf: "host_id=1\nfqdn=engine.example.com\nstorage=nfs:/he\n",
      ioTimeout: 1,
      ovf: await readFile(OVF_TEST, "utf8"),
    });
    // with its links the domain is left to init's own check
    await expect(refuseOrphanHeVolumes(domain)).resolves.toBeUndefined();
    await rm(path.join(domain, "ha_agent"), { recursive: true });
    const e = await refuseOrphanHeVolumes(domain).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExistingHeVolumesError);
    expect((e as ExistingHeVolumesError).found.map((f) => f.description).sort()).toEqual([
      "HostedEngineConfigurationImage",
      "hosted-engine.lockspace",
      "hosted-engine.metadata",
    ]);
    expect((e as Error).message).toContain("refusing to create a second set");
    // an empty or new directory is fine
    await expect(refuseOrphanHeVolumes(path.join(dir, "sd", "new"))).resolves.toBeUndefined();
  });
});
