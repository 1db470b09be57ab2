import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The worker's Prometheus metrics, on a registry of its own. */
export function createWorkerMetrics(queueDepth?: () => Promise<Record<string, number>>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'relay_worker_' });
  return {
    registry,
    jobs: new Counter({
      name: 'relay_jobs_total',
      help: 'Finished job attempts by outcome (stored, failed, retry, skipped) and failure category',
      labelNames: ['outcome', 'category'] as const,
      registers: [registry],
    }),
    jobsRefused: new Counter({
      name: 'relay_jobs_refused_total',
      help: 'Jobs refused without being run: invalid_data (off the contract), job_id_mismatch (edited to another task)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    uploadsAborted: new Counter({
      name: 'relay_s3_uploads_aborted_total',
      help: 'Incomplete multipart uploads aborted, by reason (failed_transfer, sweep)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    bytesStored: new Counter({
      name: 'relay_bytes_stored_total',
      help: 'Bytes written to the bucket, by media kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    transferSeconds: new Histogram({
      name: 'relay_download_duration_seconds',
      help: 'Time to stream one media file from its source into the bucket',
      labelNames: ['kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers: [registry],
    }),
    activeJobs: new Gauge({ name: 'relay_active_jobs', help: 'Jobs being processed now', registers: [registry] }),
    queueDepth: new Gauge({
      name: 'relay_queue_jobs',
      help: 'Jobs in the callbacks queue by state',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (!queueDepth) return;
        try {
          for (const [state, count] of Object.entries(await queueDepth())) this.set({ state }, count);
        } catch {
          // Redis away: keep the last values rather than failing the scrape.
        }
      },
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
