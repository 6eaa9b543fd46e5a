/**
 * vm.conf as typed data (behaviour.md §9). Device values are the Python-literal dicts of
 * the file parsed back: strings stay strings, `None` becomes null, nested dicts are objects.
 */
export type VmConfValue = string | null | VmConfValue[] | { [key: string]: VmConfValue };

export type VmConfDevice = { [key: string]: VmConfValue };

export interface VmConf {
  vmId: string;
  vmName: string;
  /** MiB */
  memSize: number;
  smp: number;
  maxVCpus?: number;
  cpuType?: string;
  emulatedMachine?: string;
  display?: string;
  /** base64 of a complete libvirt domain XML (engine 4.2+ OVFs) */
  xmlBase64?: string;
  spiceSecureChannels?: string;
  devices: VmConfDevice[];
  /** every key as written (devices excluded), for forward compatibility */
  raw: Map<string, string>;
}
