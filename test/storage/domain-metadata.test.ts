/**
 * dom_md/metadata: our checksum against Python's hashlib computing it as VDSM's
 * persistent.py does (SHA-1 over the sorted KEY=value lines, ASCII with
 * xmlcharrefreplace), and the refusals of a damaged file.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  DomainMetadataError,
  domainTypeName,
  fileDomainMetadata,
  formatDomainMetadata,
  parseDomainMetadata,
} from "../../src/storage/domain-metadata.js";

const run = promisify(execFile);
const PY_CHECKSUM = `
import hashlib, sys
lines = sys.stdin.read().splitlines()
fields = dict(l.split("=", 1) for l in lines if not l.startswith("_SHA_CKSUM="))
h = hashlib.sha1()
for k in sorted(fields):
    h.update(("%s=%s" % (k, fields[k])).encode("ascii", "xmlcharrefreplace"))
print(h.hexdigest())
`;

async function pythonChecksum(text: string): Promise<string> {
  const child = run("/usr/bin/python3", ["-c", PY_CHECKSUM]);
  child.child.stdin!.end(text);
  return (await child).stdout.trim();
}

const SD = "3c1e5a2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c";

describe("dom_md/metadata", () => {
  it("writes sorted lines and the checksum Python computes, also for non-ASCII text", async () => {
    for (const description of ["hosted_storage", "stockage hébergé ☃"]) {
      const text = formatDomainMetadata(
        fileDomainMetadata({ sdUUID: SD, type: "NFS", remotePath: "nfs:/he", description }),
      );
      const lines = text.trimEnd().split("\n");
      expect(lines[0]).toBe("ALIGNMENT=1048576");
      expect(lines.at(-2)).toBe("VERSION=5");
      const declared = lines.at(-1)!.replace("_SHA_CKSUM=", "");
      expect(declared).toBe(await pythonChecksum(text));
      expect(parseDomainMetadata(text).get("DESCRIPTION")).toBe(description);
    }
  });

  it("refuses a checksum mismatch and a line without '=', naming the file", () => {
    const text = formatDomainMetadata(
      fileDomainMetadata({ sdUUID: SD, type: "NFS", remotePath: "", description: "x" }),
    );
    const edited = text.replace("ROLE=Regular", "ROLE=Master");
    expect(() => parseDomainMetadata(edited, "/sd/dom_md/metadata")).toThrow(DomainMetadataError);
    expect(() => parseDomainMetadata(edited, "/sd/dom_md/metadata")).toThrow(
      /^\/sd\/dom_md\/metadata: checksum mismatch: _SHA_CKSUM=[0-9a-f]{40}, computed [0-9a-f]{40}$/,
    );
    expect(() => parseDomainMetadata("VERSION=5\nnonsense\n", "m")).toThrow(
      'm: line "nonsense" is not KEY=value',
    );
  });

  it("maps hosted-engine.conf domainType to VDSM's TYPE; block types are refused", () => {
    expect(["nfs", "nfs3", "nfs4", "glusterfs", "posixfs"].map(domainTypeName)).toEqual([
      "NFS",
      "NFS",
      "NFS",
      "GLUSTERFS",
      "POSIXFS",
    ]);
    expect(() => domainTypeName("iscsi")).toThrow('domainType "iscsi" is not a file domain type');
  });
});
