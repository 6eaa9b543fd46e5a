import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/errors.js";
import {
  type ConfigSource,
  getKey,
  HE_OPTIONAL_KEYS,
  keysOf,
  resolveSource,
  withKeySet,
} from "../../src/cli/shared-config.js";

const heShared: ConfigSource = {
  type: "he_shared",
  where: "hosted-engine.conf in the archive",
  format: "keyvalue",
  text: "fqdn=engine.example.com\nhost_id=1\nmnt_options=\n# a comment=x\n",
  optionalKeys: HE_OPTIONAL_KEYS,
};
const heLocal: ConfigSource = { ...heShared, type: "he_local", where: "/etc/hosted-engine.conf" };
const broker: ConfigSource = {
  type: "broker",
  where: "broker.conf in the archive",
  format: "ini",
  text: "[email]\nsmtp-server = localhost\nsmtp-port = 25\n\n[notify]\nstate_transition = maintenance|start|stop\n",
  optionalKeys: [],
};
const vm: ConfigSource = {
  type: "vm",
  where: "vm.conf in the archive",
  format: "keyvalue",
  text: "vmId=abc\nmemSize=4096\n",
  optionalKeys: [],
};
const ha: ConfigSource = {
  type: "ha",
  where: "ha.conf",
  format: "keyvalue",
  text: "local_maintenance=False\n",
  optionalKeys: [],
};
const all = [heLocal, heShared, broker, vm, ha];

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("shared configuration keys", () => {
  it("finds a key in the one type that has it", () => {
    expect(resolveSource(all, "memSize").type).toBe("vm");
    expect(resolveSource(all, "local_maintenance").type).toBe("ha");
    expect(getKey(vm, "memSize")).toBe("4096");
  });

  it("a key in several types needs --type, and the error lists them", () => {
    expect(message(() => resolveSource(all, "fqdn"))).toBe(
      'key "fqdn" is in several configuration types: he_local, he_shared; choose one with --type',
    );
    expect(resolveSource(all, "fqdn", "he_shared").type).toBe("he_shared");
  });

  it("an unknown key names every type searched, and the file when only one; an unknown type lists the types", () => {
    expect(message(() => resolveSource(all, "nope"))).toBe(
      'configuration key "nope" not found in he_local, he_shared, broker, vm, ha',
    );
    expect(message(() => resolveSource(all, "fqdn", "bogus"))).toBe(
      'unknown configuration type "bogus"; the types are: he_local, he_shared, broker, vm, ha',
    );
    expect(message(() => resolveSource(all, "memSize", "he_shared"))).toBe(
      'configuration key "memSize" not found in he_shared (hosted-engine.conf in the archive)',
    );
  });

  it("broker keys are section.option, `default` when no section is given", () => {
    expect(resolveSource(all, "email.smtp-server").type).toBe("broker");
    expect(getKey(broker, "email.smtp-server")).toBe("localhost");
    expect(keysOf(broker)).toEqual([
      "email.smtp-port",
      "email.smtp-server",
      "notify.state_transition",
    ]);
  });

  it("optional hosted-engine keys exist unwritten, with no value", () => {
    expect(resolveSource(all, "network_test", "he_shared").type).toBe("he_shared");
    expect(getKey(heShared, "network_test")).toBeUndefined();
    expect(keysOf(heShared)).toContain("tcp_t_port");
  });

  it("set replaces a key=value line in place and keeps every other line", () => {
    expect(withKeySet(heShared, "fqdn", "new.example.com")).toBe(
      "fqdn=new.example.com\nhost_id=1\nmnt_options=\n# a comment=x\n",
    );
    expect(withKeySet(heShared, "network_test", "dns")).toBe(`${heShared.text}network_test=dns\n`);
  });

  it("set edits an INI option inside its section, adding it or the section when missing", () => {
    expect(withKeySet(broker, "email.smtp-port", "2525")).toBe(
      "[email]\nsmtp-server = localhost\nsmtp-port = 2525\n\n[notify]\nstate_transition = maintenance|start|stop\n",
    );
    expect(withKeySet(broker, "email.source-email", "he@example.com")).toContain(
      "smtp-port = 25\nsource-email = he@example.com\n\n[notify]",
    );
    expect(withKeySet(broker, "extra.k", "v")).toMatch(/\n\[extra\]\nk = v\n$/);
  });
});
