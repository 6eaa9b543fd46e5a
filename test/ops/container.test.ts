import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runTool } from "../support/run.js";

/**
 * No Docker engine runs here, so the Dockerfile is checked by reading: what it copies
 * exists and is not ignored, the runtime packages exist in Debian, and the entrypoint
 * script starts the right program.
 */

async function dockerfile(): Promise<string> {
  return readFile(path.join(REPO, "Dockerfile"), "utf8");
}

/** Logical lines: backslash continuations joined. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

function entrypoint(args: string[]) {
  return runTool("sh", [path.join(REPO, "contrib/docker-entrypoint.sh"), ...args], {
    env: { PATH: process.env.PATH, HE_HA_INSTALL_DIR: REPO },
  });
}

describe("Dockerfile", () => {
  it("is multi-stage: build on node:20-bookworm, runtime on the slim image, non-root, with an entrypoint", async () => {
    const lines = instructions(await dockerfile());
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms.map((l) => l.split(/\s+/).at(-1))).toEqual(["build", "deps", "runtime"]);
    expect(lines).toContain("ARG NODE_IMAGE=node:20-bookworm");
    expect(lines).toContain("ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim");
    expect(lines.filter((l) => l.startsWith("USER ")).at(-1)).toBe("USER vdsm:kvm");
    expect(lines).toContain('ENTRYPOINT ["/usr/local/bin/hosted-engine-ha-entrypoint"]');
    // npm ci rejects this lock file; the install must not rewrite it
    expect(lines.filter((l) => l.includes("npm ci"))).toEqual([]);
    expect(
      lines.filter((l) => l.includes("npm install")).every((l) => l.includes("--no-save")),
    ).toBe(true);
  });

  it("copies only files that exist and that .dockerignore lets through", async () => {
    const ignored = (await readFile(path.join(REPO, ".dockerignore"), "utf8"))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const sources = instructions(await dockerfile())
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(path.join(REPO, src)), src).toBe(true);
      expect(
        ignored.includes(src) || ignored.includes(src.split("/")[0] ?? ""),
        `${src} is in .dockerignore`,
      ).toBe(false);
    }
    for (const heavy of ["node_modules", "dist", ".git", "test"]) expect(ignored).toContain(heavy);
  });

  it("ships the product's dist/src into the runtime image, not the lab or the benchmarks", async () => {
    const runtime = (await dockerfile()).split(/^FROM .* AS runtime$/m)[1] ?? "";
    const fromBuild = instructions(runtime).filter((l) => l.startsWith("COPY --from=build "));
    expect(fromBuild.map((l) => l.split(/\s+/)[2])).toEqual([
      "/src/dist/src",
      "/src/dist/build-info.json",
    ]);
  });

  it("installs runtime packages that Debian 12 has", async () => {
    const runtime = (await dockerfile()).split(/^FROM .* AS runtime$/m)[1] ?? "";
    const install =
      /apt-get install -y --no-install-recommends ([^\\\n]+)/.exec(runtime)?.[1] ?? "";
    const pkgs = install.trim().split(/\s+/);
    expect(pkgs).toEqual(
      expect.arrayContaining(["libvirt0", "libsanlock1", "libsanlock-client1", "iputils-ping"]),
    );
    const { stdout } = await runTool("apt-cache", ["policy", ...pkgs]);
    for (const p of pkgs)
      expect(stdout, p).toMatch(
        new RegExp(`^${p}:\\n\\s+Installed: .*\\n\\s+Candidate: (?!\\(none\\))`, "m"),
      );
  });
});

describe("container entrypoint", () => {
  it("`broker --version` and `agent --version` run the daemons; `he-ha --help` the CLI; anything else as given", async () => {
    const version = (
      JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")) as { version: string }
    ).version;
    for (const [arg, name] of [
      ["broker", "ovirt-ha-broker"],
      ["agent", "ovirt-ha-agent"],
    ] as const) {
      expect(await entrypoint([arg, "--version"])).toEqual({
        code: 0,
        stdout: `${name} ${version} (hosted-engine-ha)\n`,
        stderr: "",
      });
    }
    const help = await entrypoint(["he-ha", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: he-ha/);
    expect(await entrypoint(["echo", "hello"])).toMatchObject({ code: 0, stdout: "hello\n" });
  });
});
