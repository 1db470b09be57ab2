/** An S3 server (testkit's harness) in its own process, so its CPU is not the benchmark's. Prints its endpoint as JSON. */
import { startS3Server } from '@runway-relay/testkit';

const s3 = await startS3Server({ buckets: ['runway-media'] });
process.stdout.write(
  `${JSON.stringify({ endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region })}\n`,
);
process.once('SIGTERM', () => void s3.stop().finally(() => process.exit(0)));
