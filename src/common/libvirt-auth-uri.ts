/**
 * libvirt credentials through an authfile named in the connection URI
 * (`qemu:///system?authfile=/etc/ovirt-hosted-engine/virsh_auth.conf`), as oVirt's own
 * tools connect: VDSM configures libvirtd with `auth_unix_rw = "sasl"` and the SASL user
 * `vdsm@ovirt`, and libvirt's client reads the user and password for a SASL exchange from
 * the file named by the URI's `authfile` parameter (section `[auth-libvirt-localhost]`
 * pointing at a `[credentials-…]` section). On a libvirtd without SASL the file is never
 * read, so the parameter is harmless there.
 */

/** The authfile oVirt hosts carry, relative to the directory of hosted-engine.conf. */
export const OVIRT_AUTHFILE_NAME = "virsh_auth.conf";
export const OVIRT_AUTHFILE = `/etc/ovirt-hosted-engine/${OVIRT_AUTHFILE_NAME}`;

/** Percent-encodes what a URI query value cannot carry as is (a path keeps its slashes). */
function encodeQueryValue(v: string): string {
  return v.replace(/[^A-Za-z0-9/._~-]/g, (c) =>
    [...Buffer.from(c, "utf8")]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)
      .join(""),
  );
}

/**
 * `uri` with `authfile=<authfile>` added to its query. Unchanged when `authfile` is empty,
 * when the URI already names an authfile, or for `test:///…` (libvirt's in-process test
 * driver: no daemon, no authentication).
 */
export function withAuthfile(uri: string, authfile: string): string {
  if (authfile === "") return uri;
  if (/^test:\/\//.test(uri)) return uri;
  const q = uri.indexOf("?");
  if (q >= 0 && /(^|&)authfile=/.test(uri.slice(q + 1))) return uri;
  const sep = q < 0 ? "?" : uri.endsWith("?") || uri.endsWith("&") ? "" : "&";
  return `${uri}${sep}authfile=${encodeQueryValue(authfile)}`;
}

/** The text of an authfile giving `user`/`password` for libvirt on this host. */
export function authfileText(user: string, password: string, name = "hosted-engine"): string {
  for (const [what, v] of [
    ["user", user],
    ["password", password],
  ] as const) {
    if (/[\r\n]/.test(v)) throw new Error(`libvirt authfile: the ${what} contains a line break`);
  }
  return [
    `[credentials-${name}]`,
    `authname=${user}`,
    `password=${password}`,
    "",
    "[auth-libvirt-localhost]",
    `credentials=${name}`,
    "",
  ].join("\n");
}
