import { waitFor } from '@runway-relay/testkit';
import { z } from 'zod';
import type { BenchContext } from './bench-types.js';

const S3Info = z.object({ endpoint: z.string(), accessKey: z.string(), secretKey: z.string(), region: z.string() });
const MediaInfo = z.object({ origin: z.string() });

async function firstJsonLine<T>(ctx: BenchContext, script: string, schema: z.ZodType<T>): Promise<T & { pid: number }> {
  const proc = ctx.processes.spawn({ script, env: {} });
  ctx.defer(() => proc.stop().then(() => undefined));
  const line = await waitFor(
    () =>
      proc
        .output()
        .split('\n')
        .find((l) => l.startsWith('{')),
    {
      timeoutMs: 20_000,
      description: script,
    },
  );
  return { ...schema.parse(JSON.parse(line)), pid: proc.pid };
}

/** The S3 server and the media server, each in its own process. */
export async function startBenchServers(ctx: BenchContext) {
  const [s3, media] = await Promise.all([
    firstJsonLine(ctx, 'bench/servers/s3.ts', S3Info),
    firstJsonLine(ctx, 'bench/servers/media.ts', MediaInfo),
  ]);
  return { s3, media };
}

/** The S3 server alone, in its own process (for benches that serve media from their own simulator). */
export function startBenchS3(ctx: BenchContext) {
  return firstJsonLine(ctx, 'bench/servers/s3.ts', S3Info);
}

export type S3Info = z.infer<typeof S3Info>;

/** A media URL of the simulator (see packages/simulator media-server). */
export function mediaUrl(origin: string, id: string, kind: 'video' | 'cover', size: number): string {
  return `${origin}/media/${id}/${kind === 'video' ? 'video.mp4' : 'cover.png'}?size=${size}`;
}
