// Writes the systemd drop-in that makes a Python ovirt-hosted-engine-ha unit run our
// daemon: our unit file (systemd/<unit>) without its [Install] section (the Python
// unit keeps its own), with ExecStart= reset and pointed at the packaged executable.
// One home for the units' settings: the drop-in is generated from them at RPM build.
// usage: node scripts/rpm-dropin.mjs systemd/ovirt-ha-agent.service /usr/libexec/hosted-engine-ha/ovirt-ha-agent OUT
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Pure: the drop-in text for `unitText`, running `exec`. */
export function dropinText(unitName, unitText, exec) {
  const out = [
    `# hosted-engine-ha: runs the TypeScript ${unitName.replace(/\.service$/, "")} in place of the`,
    "# Python daemon of ovirt-hosted-engine-ha's unit of the same name. Generated from",
    "# hosted-engine-ha's own unit file at package build; remove this package to go back.",
  ];
  let section = "";
  let sawExec = false;
  for (const line of unitText.split("\n")) {
    const head = /^\[(\w+)\]\s*$/.exec(line);
    if (head) section = head[1];
    if (section === "Install") continue;
    if (/^ExecStart=/.test(line)) {
      out.push("ExecStart=", `ExecStart=${exec}`);
      sawExec = true;
      continue;
    }
    // the Python unit says StandardOutput=null: ours must win (journal), and it does,
    // being read later; nothing else to change
    out.push(line);
  }
  if (!sawExec) throw new Error(`${unitName}: no ExecStart= line`);
  while (out.at(-1) === "") out.pop();
  return `${out.join("\n")}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [unitFile, exec, outFile] = process.argv.slice(2);
  if (!unitFile || !exec || !outFile) {
    console.error("usage: rpm-dropin.mjs UNIT_FILE EXEC OUT_FILE");
    process.exit(2);
  }
  writeFileSync(outFile, dropinText(path.basename(unitFile), readFileSync(unitFile, "utf8"), exec));
}
