import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSources, store } from "../../src/cli/actions/config.js";
import { resolveSource, withKeySet } from "../../src/cli/shared-config.js";
import { haPaths } from "../../src/common/paths.js";
import { readConfArchive, updateConfMember } from "../../src/storage/archive/conf-archive.js";
import { makeStorageHost, type StorageHost } from "./cluster.js";
import { runHeHa } from "./harness.js";

let host: StorageHost;

describe("he-ha config get|set (hosted-engine --get-shared-config / --set-shared-config)", () => {
  beforeAll(async () => {
    host = await makeStorageHost(1);
  });
  afterAll(() => host?.cleanup());

  it("a key in the local and the shared hosted-engine.conf needs --type; the error lists both", async () => {
    const r = await runHeHa(host.root, ["config", "get", "fqdn"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'he-ha: key "fqdn" is in several configuration types: he_local, he_shared; choose one with --type\n',
    );
  });

  it("prints the value and its type in hosted-engine's layout", async () => {
    const r = await runHeHa(host.root, ["--get-shared-config", "fqdn", "--type=he_shared"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("\nfqdn : engine.example.com, type : he_shared\n\n");
    const vm = await runHeHa(host.root, ["config", "get", "memSize", "--json"]);
    expect(JSON.parse(vm.stdout)).toEqual({ key: "memSize", value: "4096", type: "vm" });
    const broker = await runHeHa(host.root, ["config", "get", "email.smtp-server"]);
    expect(broker.stdout).toBe("\nemail.smtp-server : localhost, type : broker\n\n");
  });

  it("an unknown key names where it looked (exit 1); an unknown type is a usage error (exit 2)", async () => {
    const r = await runHeHa(host.root, ["config", "get", "no_such_key"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'he-ha: configuration key "no_such_key" not found in he_local, he_shared, broker, vm, ha\n',
    );
    const one = await runHeHa(host.root, ["config", "get", "no_such_key", "--type", "vm"]);
    expect(one.stderr).toBe(
      `he-ha: configuration key "no_such_key" not found in vm (vm.conf in the configuration archive ${host.volumes.conf})\n`,
    );
    const t = await runHeHa(host.root, ["config", "get", "fqdn", "--type", "shared"]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("Allowed choices are he_local, he_shared, broker, vm, ha.");
  });

  it("set rewrites one archive member with compare-and-swap, keeping the other members", async () => {
    const before = await readConfArchive(host.volumes.conf);
    const r = await runHeHa(host.root, ["config", "set", "memSize", "8192"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `memSize: 4096 -> 8192 in vm (vm.conf in the configuration archive ${host.volumes.conf})\ntakes effect: used at the next start of the engine VM (each agent refreshes its vm.conf every loop; an OVF_STORE written by the engine wins over the archive's vm.conf)\n`,
    );
    const after = await readConfArchive(host.volumes.conf);
    expect(after.members["vm.conf"]).toBe(
      before.members["vm.conf"].replace("memSize=4096\n", "memSize=8192\n"),
    );
    for (const m of ["version", "fhanswers.conf", "hosted-engine.conf", "broker.conf"] as const) {
      expect(after.members[m]).toBe(before.members[m]);
    }
    expect(after.compressed).toBe(false);
    expect(after.md5).not.toBe(before.md5);
    const again = await runHeHa(host.root, ["config", "get", "memSize"]);
    expect(again.stdout).toBe("\nmemSize : 8192, type : vm\n\n");
  });

  it("sets a broker.conf option inside its INI section (--set-shared-config spelling)", async () => {
    const r = await runHeHa(host.root, [
      "--set-shared-config",
      "email.smtp-port",
      "2525",
      "--type=broker",
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      key: "email.smtp-port",
      value: "2525",
      previous: "25",
      type: "broker",
    });
    const broker = (await readConfArchive(host.volumes.conf)).members["broker.conf"];
    expect(broker).toContain("[email]\nsmtp-server = localhost\nsmtp-port = 2525\n");
    expect(broker).toContain("[notify]\nstate_transition = ");
  });

  it("sets an optional hosted-engine key that was not written, and local ha.conf keys", async () => {
    const r = await runHeHa(host.root, [
      "config",
      "set",
      "tcp_t_port",
      "8443",
      "--type",
      "he_shared",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tcp_t_port: None -> 8443 in he_shared");
    expect((await readConfArchive(host.volumes.conf)).members["hosted-engine.conf"]).toMatch(
      /\ntcp_t_port=8443\n$/,
    );
    await mkdir(path.dirname(haPaths(host.root).haConf), { recursive: true });
    await writeFile(
      haPaths(host.root).haConf,
      "local_maintenance=False\nlocal_maintenance_manual=False\n",
    );
    const ha = await runHeHa(host.root, ["config", "set", "local_maintenance", "True"]);
    expect(ha.code).toBe(0);
    expect(await readFile(haPaths(host.root).haConf, "utf8")).toBe(
      "local_maintenance=True\nlocal_maintenance_manual=False\n",
    );
  });

  it("a near miss gets a 'did you mean' naming the key and its type, in one short line", async () => {
    const r = await runHeHa(host.root, ["config", "get", "smtp-server"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'he-ha: configuration key "smtp-server" not found in he_local, he_shared, broker, vm, ha; did you mean email.smtp-server (--type broker)?\n',
    );
    const typo = await runHeHa(host.root, ["config", "get", "memsize"]);
    expect(typo.stderr).toContain("did you mean memSize (--type vm)?");
    const j = await runHeHa(host.root, ["config", "get", "smtp-server", "--json"]);
    expect(JSON.parse(j.stdout)).toEqual({
      error: {
        message:
          'configuration key "smtp-server" not found in he_local, he_shared, broker, vm, ha; did you mean email.smtp-server (--type broker)?',
        exit_code: 1,
      },
    });
  });

  it("set says when the change takes effect, per type (text and --json)", async () => {
    const r = await runHeHa(host.root, ["config", "set", "email.smtp-port", "2601", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      key: "email.smtp-port",
      type: "broker",
      takes_effect: expect.stringContaining("the broker reads it at each notification"),
    });
    const t = await runHeHa(host.root, ["config", "set", "email.smtp-port", "2602"]);
    expect(t.stdout).toMatch(/\ntakes effect: every host's agent copies it to .*broker\.conf/);
  });

  it("setting a value it already has writes nothing", async () => {
    const mtime = (await stat(host.volumes.conf)).mtimeMs;
    const r = await runHeHa(host.root, ["config", "set", "email.smtp-server", "localhost"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `email.smtp-server is already localhost in broker (broker.conf in the configuration archive ${host.volumes.conf}); nothing written\n`,
    );
    expect((await stat(host.volumes.conf)).mtimeMs).toBe(mtime);
  });

  it("a missing value is a usage error (exit 2)", async () => {
    const r = await runHeHa(host.root, ["config", "set", "memSize"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: missing required argument 'value'");
  });

  it("set refuses when the archive changed after it was read (compare-and-swap), writing nothing", async () => {
    const saved = process.env.HE_HA_ROOT;
    process.env.HE_HA_ROOT = host.root;
    try {
      const { sources, archive } = await loadSources("vm");
      const vm = resolveSource(sources, "memSize", "vm");
      // another host updates a different member in between
      await updateConfMember(
        host.volumes.conf,
        "broker.conf",
        "[email]\nsmtp-server = mail.example.com\n",
      );
      const between = await readConfArchive(host.volumes.conf);
      await expect(store(vm, withKeySet(vm, "memSize", "1024"), archive)).rejects.toThrow(
        `${host.volumes.conf}: update failed: the configuration archive was changed by somebody else, try again`,
      );
      const after = await readConfArchive(host.volumes.conf);
      expect(after.md5).toBe(between.md5);
      expect(after.members["vm.conf"]).toContain("memSize=8192\n");
    } finally {
      if (saved === undefined) delete process.env.HE_HA_ROOT;
      else process.env.HE_HA_ROOT = saved;
    }
  });
});
