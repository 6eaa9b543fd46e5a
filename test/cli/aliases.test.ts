import { describe, expect, it } from "vitest";
import { rewriteAliases } from "../../src/cli/aliases.js";

describe("hosted-engine spellings", () => {
  it.each([
    [["--vm-status"], ["status"]],
    [
      ["--vm-status", "--json"],
      ["status", "--json"],
    ],
    [
      ["--json", "--vm-status"],
      ["status", "--json"],
    ],
    [
      ["--set-maintenance", "--mode=global"],
      ["maintenance", "--mode=global"],
    ],
    [
      ["--set-maintenance", "--mode", "none"],
      ["maintenance", "--mode", "none"],
    ],
    [["--vm-start"], ["vm", "start"]],
    [["--vm-shutdown"], ["vm", "shutdown"]],
    [["--vm-poweroff"], ["vm", "poweroff"]],
    [["--check-liveliness"], ["liveliness"]],
    [
      ["--reinitialize-lockspace", "--force"],
      ["lockspace", "reinit", "--force"],
    ],
    [["--clean-metadata"], ["metadata", "clean"]],
    [["--connect-storage"], ["storage", "connect"]],
    [
      ["--disconnect-storage", "--json"],
      ["storage", "disconnect", "--json"],
    ],
    [
      ["--clean-metadata", "--force-clean", "--host-id=3"],
      ["metadata", "clean", "--force", "--host-id=3"],
    ],
    [
      ["--get-shared-config", "fqdn", "--type=he_shared"],
      ["config", "get", "fqdn", "--type=he_shared"],
    ],
    [
      ["--set-shared-config", "memSize", "4096", "--type=vm"],
      ["config", "set", "memSize", "4096", "--type=vm"],
    ],
  ])("%j → %j", (from, to) => {
    expect(rewriteAliases(from)).toEqual(to);
  });

  it("leaves he-ha argv alone, including words that look like aliases after the command", () => {
    expect(rewriteAliases(["status", "--json"])).toEqual(["status", "--json"]);
    expect(rewriteAliases(["config", "get", "--vm-status"])).toEqual([
      "config",
      "get",
      "--vm-status",
    ]);
    expect(rewriteAliases(["--help"])).toEqual(["--help"]);
    expect(rewriteAliases([])).toEqual([]);
  });

  it("renames --force-clean only for --clean-metadata", () => {
    expect(rewriteAliases(["--reinitialize-lockspace", "--force-clean"])).toEqual([
      "lockspace",
      "reinit",
      "--force-clean",
    ]);
  });
});
