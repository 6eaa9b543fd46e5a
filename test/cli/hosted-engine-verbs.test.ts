import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasHelp, UNSUPPORTED } from "../../src/cli/aliases.js";
import { haPaths } from "../../src/common/paths.js";
import { removeDir, tempDir } from "../support/temp.js";
import { runHeHa } from "./harness.js";

/**
 * The hosted-engine verbs beyond the daily ones: every spelling listed in --help,
 * --check-deployed and --console implemented (the console through the real virsh), the
 * rest answered with what to do instead; usage errors under --json are JSON.
 */
const VM_UUID = "0f0e0d0c-0b0a-4909-8807-060504030201";
let root: string;

async function writeHostConf(text: string): Promise<string> {
  const conf = haPaths(root).hostConf;
  await mkdir(path.dirname(conf), { recursive: true });
  await writeFile(conf, text);
  return conf;
}

describe("hosted-engine verbs", () => {
  beforeAll(async () => {
    root = await tempDir("verbs");
  });
  afterAll(() => removeDir(root));

  it("--help lists every hosted-engine spelling and the he-ha command it runs", async () => {
    const r = await runHeHa(root, ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(aliasHelp());
    for (const line of [
      "  --vm-status               he-ha status",
      "  --set-maintenance         he-ha maintenance",
      "  --clean-metadata          he-ha metadata clean (--force-clean = --force)",
      "  --console                 he-ha console",
      "  --check-deployed          he-ha check-deployed",
      "  --vm-start-paused         not supported: he-ha says what to do instead",
    ])
      expect(r.stdout).toContain(`${line}\n`);
  });

  it.each(Object.keys(UNSUPPORTED))(
    "%s answers what to do instead (exit 2), not 'unknown option'",
    async (verb) => {
      const r = await runHeHa(root, [verb]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `he-ha: hosted-engine ${verb} is not supported: ${UNSUPPORTED[verb]}\n`,
      );
      expect(r.stderr).not.toContain("unknown option");
    },
  );

  it("usage errors under --json are one JSON document on stdout, exit 2", async () => {
    const r = await runHeHa(root, ["status", "--json", "--no-such-flag"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { message: "unknown option '--no-such-flag'", exit_code: 2 },
    });
    const v = await runHeHa(root, ["--vm-start-paused", "--json"]);
    expect(v.code).toBe(2);
    expect(JSON.parse(v.stdout).error.message).toContain("--vm-start-paused is not supported");
  });

  it("--check-deployed: exit 1 without hosted-engine.conf, 0 with it (and --json)", async () => {
    const conf = haPaths(root).hostConf;
    const before = await runHeHa(root, ["--check-deployed"]);
    expect(before.code).toBe(1);
    expect(before.stdout).toBe(
      `hosted engine is not deployed on this host: ${conf} is missing or empty\n`,
    );
    await writeHostConf(`host_id=1\nvmid=${VM_UUID}\nlibvirt_uri=test:///default\n`);
    const after = await runHeHa(root, ["--check-deployed", "--json"]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual({ deployed: true, conf });
  });

  it("--console runs the real virsh console on libvirt_uri and the engine VM's uuid, with hosted-engine's authfile when present", async () => {
    await writeHostConf(`host_id=1\nvmid=${VM_UUID}\nlibvirt_uri=test:///default\n`);
    const printed = await runHeHa(root, ["console", "--print"]);
    expect(printed.stdout).toBe(`virsh -c test:///default console ${VM_UUID}\n`);
    // the real virsh, on libvirt's test driver, where that VM does not exist
    const r = await runHeHa(root, ["--console"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`failed to get domain '${VM_UUID}'`);
    const auth = path.join(path.dirname(haPaths(root).hostConf), "virsh_auth.conf");
    await writeFile(auth, "[credentials-he]\nauthname=vdsm@ovirt\npassword=x\n");
    await chmod(auth, 0o600);
    const withAuth = await runHeHa(root, ["console", "--print"]);
    expect(withAuth.stdout).toBe(
      `virsh -c 'test:///default?authfile=${auth}' console ${VM_UUID}\n`,
    );
    await rm(auth);
  });

  it("--console without vmid says so (exit 1)", async () => {
    const conf = await writeHostConf("host_id=1\n");
    const r = await runHeHa(root, ["--console"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`he-ha: ${conf}: vmid is not set: no engine VM to attach to\n`);
  });
});
