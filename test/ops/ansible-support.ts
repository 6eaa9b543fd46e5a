import { readFile } from "node:fs/promises";
import path from "node:path";
import { productArgs } from "../../lab/children.js";
import { REPO, runTool } from "../support/run.js";

/**
 * What the tests running contrib/ansible with the real `ansible-playbook` share
 * (test/ops/ansible.test.ts, test/ops/ansible-roundtrip.test.ts): the stand-ins for
 * systemd (test/ops/fixtures/demo-service.sh) and dnf (standin-package.sh), the role
 * variables that point the playbooks at them, and how a host's units are read back.
 */
export const PLAYBOOKS = path.join(REPO, "contrib/ansible");
export const SERVICE = path.join(REPO, "test/ops/fixtures/demo-service.sh");
export const PACKAGE = path.join(REPO, "test/ops/fixtures/standin-package.sh");
export const HE_HA = [process.execPath, ...productArgs("he-ha")];
export const SERVICES = ["ovirt-ha-broker", "ovirt-ha-agent"];
/** where each implementation's ExecStart lives (what a unit runs) */
export const OURS = "/usr/libexec/hosted-engine-ha/";
export const PYTHON = "/usr/share/ovirt-hosted-engine-ha/";

/**
 * The role's variables for hosts played by the stand-ins: services, package, both CLIs
 * (the original's `hosted-engine` played by he-ha), the RPM file, the package log.
 */
export function standinRoleVars(o: { rpmFile: string; packageLog: string }) {
  return {
    he_ha_service_start: `bash ${SERVICE} start {service}`,
    he_ha_service_stop: `bash ${SERVICE} stop {service}`,
    he_ha_service_exec: `bash ${SERVICE} exec {service}`,
    he_ha_cli: HE_HA,
    he_ha_original_cli: HE_HA,
    he_ha_rpm: o.rpmFile,
    he_ha_install_command: `bash ${PACKAGE} install ${o.packageLog}`,
    he_ha_remove_command: `bash ${PACKAGE} remove ${o.packageLog}`,
    he_ha_verify_retries: 90,
    he_ha_verify_delay: 1,
  };
}

/** Runs one playbook of contrib/ansible; its temp files under `dir`. */
export function playbook(dir: string, name: string, inv: string, extra: string[] = []) {
  return runTool("ansible-playbook", [...extra, "-i", inv, path.join(PLAYBOOKS, name)], {
    env: {
      ...process.env,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_LOCAL_TEMP: path.join(dir, "ansible-local"),
      ANSIBLE_REMOTE_TEMP: path.join(dir, "ansible-remote"),
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      // each module sent to python on stdin: no temp file per task (fewer processes)
      ANSIBLE_PIPELINING: "1",
      ANSIBLE_ROLES_PATH: path.join(PLAYBOOKS, "roles"),
    },
    hint: "install Debian package ansible (ansible-core)",
  });
}

/** pid of a daemon the service stand-in started on the host at `root`, or undefined */
export async function daemonPid(root: string, service: string): Promise<number | undefined> {
  const text = await readFile(path.join(root, `${service}.pid`), "utf8").catch(() => "");
  return text.trim() ? Number(text.trim()) : undefined;
}

/** what each unit of the host at `root` was started as: "ours", "python", or undefined (not running) */
export async function running(root: string): Promise<Array<"ours" | "python" | undefined>> {
  return Promise.all(
    SERVICES.map(async (s) => {
      if (!(await daemonPid(root, s))) return undefined;
      const exec = await readFile(path.join(root, `${s}.exec`), "utf8");
      return exec.startsWith(OURS) ? "ours" : exec.startsWith(PYTHON) ? "python" : undefined;
    }),
  );
}

/** Starts (`start`) or stops the units of the host at `root` as systemd would, in order. */
export async function services(
  action: "start" | "stop",
  env: Record<string, string>,
): Promise<void> {
  const order = action === "start" ? SERVICES : [...SERVICES].reverse();
  for (const s of order) {
    const r = await runTool("bash", [SERVICE, action, s], { env: { ...process.env, ...env } });
    if (r.code !== 0) throw new Error(`${action} ${s} (${env.HE_HA_ROOT}): ${r.stderr.trim()}`);
  }
}

/** The tasks whose title matches `re`, in play order, as "<task> <host>". */
export function taskOrder(stdout: string, re: RegExp): string[] {
  const out: string[] = [];
  for (const block of stdout.split(/\n(?=TASK \[)/)) {
    const title = /^TASK \[(?:hosted_engine_ha : )?([^\]]*)\]/.exec(block)?.[1];
    if (!title || !re.test(title)) continue;
    // hosts of one task finish in any order: sorted
    // (a loop prints one line per item)
    const done = [
      ...new Set([...block.matchAll(/^(?:ok|changed): \[(host\d)\]/gm)].map((m) => m[1]!)),
    ].sort();
    for (const h of done) out.push(`${title} ${h}`);
  }
  return out;
}
