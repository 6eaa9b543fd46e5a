import type { VmConf, VmConfValue } from "../storage/ovf/vmconf-types.js";

/**
 * VM.create's `vmParams` from vm.conf, as hosted-engine-setup's vdsm_helper `create`
 * sends them: only `{"xml": <the libvirt XML>}` when vm.conf carries `xmlBase64` (engine
 * 4.2+), else the vm.conf keys as vdsClient's parser gives them (`devices` as a list of
 * dicts, `custom_X` folded into `custom`, `vt` copied to `kvmEnable`).
 */
export function vmCreateParams(vmConf: VmConf): Record<string, unknown> {
  if (vmConf.xmlBase64) return { xml: Buffer.from(vmConf.xmlBase64, "base64").toString("utf8") };
  const params: Record<string, unknown> = {};
  const custom: Record<string, string> = {};
  for (const [k, v] of vmConf.raw) {
    if (k === "devices") continue;
    if (k.startsWith("custom_")) custom[k.slice(7)] = v;
    else params[k] = v;
  }
  if (Object.keys(custom).length > 0) params.custom = custom;
  if (vmConf.devices.length > 0) params.devices = vmConf.devices as VmConfValue[];
  if ("vt" in params) params.kvmEnable = params.vt;
  return params;
}
