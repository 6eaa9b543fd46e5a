import { findPackage, PACKAGE_NAME } from "./package-root.js";

/** The version of the hosted-engine-ha package ("unknown" outside the package). */
export function packageVersion(): string {
  return findPackage()?.version ?? "unknown";
}

/** `ovirt-ha-agent 0.1.0 (hosted-engine-ha)`: what every executable prints for --version. */
export function versionLine(program: string): string {
  return `${program} ${packageVersion()} (${PACKAGE_NAME})`;
}
