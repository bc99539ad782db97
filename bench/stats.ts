// Percentiles of latency samples (ms), as the benchmarks print them.
export function latencyFigures(samples: number[], prefix: string): Record<string, number> {
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return {
    [`${prefix}p50_ms`]: +pct(50).toFixed(3),
    [`${prefix}p99_ms`]: +pct(99).toFixed(3),
    [`${prefix}max_ms`]: +sorted[sorted.length - 1].toFixed(3),
  };
}
