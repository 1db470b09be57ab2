import { createMetricsRegistry } from '@runway-relay/runtime';

/** The worker's Prometheus metrics, on a registry of its own. */
export function createWorkerMetrics(queueDepth?: () => Promise<Record<string, number>>) {
  const { registry, counter, gauge, histogram } = createMetricsRegistry('relay_worker_');
  return {
    registry,
    jobs: counter(
      'relay_jobs_total',
      'Finished job attempts by outcome (stored, failed, retry, skipped) and failure category',
      ['outcome', 'category'],
    ),
    jobsRefused: counter(
      'relay_jobs_refused_total',
      'Jobs refused without being run: invalid_data (off the contract), job_id_mismatch (edited to another task)',
      ['reason'],
    ),
    uploadsAborted: counter(
      'relay_s3_uploads_aborted_total',
      'Incomplete multipart uploads aborted, by reason (failed_transfer, sweep)',
      ['reason'],
    ),
    bytesStored: counter('relay_bytes_stored_total', 'Bytes written to the bucket, by media kind', ['kind']),
    transferSeconds: histogram(
      'relay_download_duration_seconds',
      'Time to stream one media file from its source into the bucket',
      ['kind'],
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    ),
    activeJobs: gauge('relay_active_jobs', 'Jobs being processed now'),
    queueDepth: gauge('relay_queue_jobs', 'Jobs in the callbacks queue by state', ['state'], async function collect() {
      if (!queueDepth) return;
      try {
        for (const [state, count] of Object.entries(await queueDepth())) this.set({ state }, count);
      } catch {
        // Redis away: keep the last values rather than failing the scrape.
      }
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
