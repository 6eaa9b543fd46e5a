import type { BrokerReports, BrokerReportsHost } from "../broker/reports.js";
import { withTimeout } from "../common/host-time.js";
import { explainCluster } from "../explain/explain.js";
import { gatherLocalFacts } from "../explain/gather.js";
import { ExplainMetrics } from "../explain/metrics.js";
import { gatherDoctorFacts } from "./gather.js";
import { DoctorMetrics } from "./metrics.js";
import { DoctorSchedule } from "./schedule.js";

/**
 * `he-ha explain` and `he-ha doctor` as the broker serves them (src/broker/reports.ts):
 * doctor's checks (a VDSM ping, storage and file probes, each bounded by io_timeout) and
 * explain's local files run on the broker's own schedule, once per storage cycle (at
 * least every second); scrapes and the JSON API answer from what it holds.
 */
export function brokerReports(host: BrokerReportsHost): BrokerReports {
  const { paths, conf, agentConf, time } = host;
  const checkTimeout = conf.sanlockIoTimeout;
  const schedule = new DoctorSchedule({
    time,
    log: host.log,
    intervalSeconds: Math.max(1, agentConf.timing.broker_storage_cycle),
    gatherLocal: () =>
      withTimeout(
        time,
        gatherLocalFacts(paths),
        checkTimeout,
        () => new Error(`ha.conf or vm.conf: not read within ${checkTimeout} s`),
      ),
    gatherDoctor: () =>
      gatherDoctorFacts({
        root: paths.root,
        status: host.status(),
        conf: agentConf,
        hostConf: conf,
        hostname: host.hostname,
        metadataVolume: host.metadataVolume,
        readSeconds: host.readSeconds(),
        backend: host.backend,
        timeoutSeconds: checkTimeout,
        ...(host.pingVdsm ? { pingVdsm: host.pingVdsm } : {}),
      }),
  });
  const explain = async () =>
    explainCluster({
      status: host.status(),
      conf: agentConf,
      ioTimeout: conf.sanlockIoTimeout,
      ...(host.observedDurations ? { observed: host.observedDurations() } : {}),
      ...(await schedule.localFacts()),
    });
  const explainMetrics = new ExplainMetrics(host.registry);
  const doctorMetrics = new DoctorMetrics(host.registry);
  return {
    explain,
    doctor: (staleAfterSeconds) => schedule.answer(staleAfterSeconds),
    async updateMetrics() {
      explainMetrics.update(await explain());
      doctorMetrics.update(schedule.peek());
    },
    start: () => schedule.start(),
    stop: () => schedule.stop(),
  };
}
