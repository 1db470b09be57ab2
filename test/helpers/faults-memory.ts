/** Memory figures of this process over a sampling window, in bytes. */
export interface MemoryFigures {
  /** `rss` when sampling started. */
  baseline: number;
  /** Lowest and highest `rss` seen (RSS also falls when V8 returns pages after a GC). */
  min: number;
  peak: number;
  /** `peak - baseline`: what the work under test added on top of the warm process. */
  growth: number;
  /** Highest `arrayBuffers` (Buffers live there: a body held whole would show here first). */
  peakArrayBuffers: number;
  samples: number;
}

export interface MemorySampler {
  /** Figures so far (the sampler keeps running). */
  figures(): MemoryFigures;
  /** Stops sampling and returns the final figures. */
  stop(): MemoryFigures;
}

/**
 * Samples `process.memoryUsage()` every `intervalMs` from now on. The baseline is the first
 * sample; start it once the code under test is loaded and warm, so module loading and JIT are
 * not counted as growth.
 */
export function sampleMemory(intervalMs = 100): MemorySampler {
  const first = process.memoryUsage();
  const baseline = first.rss;
  let min = baseline;
  let peak = baseline;
  let peakArrayBuffers = first.arrayBuffers;
  let samples = 1;
  const sample = () => {
    const usage = process.memoryUsage();
    min = Math.min(min, usage.rss);
    peak = Math.max(peak, usage.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
    samples += 1;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  const figures = (): MemoryFigures => ({ baseline, min, peak, growth: peak - baseline, peakArrayBuffers, samples });
  return {
    figures,
    stop: () => {
      clearInterval(timer);
      sample();
      return figures();
    },
  };
}

/** Bytes as MiB with one decimal, for reports. */
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
