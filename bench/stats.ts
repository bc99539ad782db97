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

/**
 * Latency from each intent's scheduled arrival to its order reaching the venue; the first
 * `warmup` orders (JIT warm-up) are left out.
 */
export class LatencySampler {
  readonly arrived = new Map<string, number>();
  readonly samples: number[] = [];
  private warm = 0;

  constructor(private readonly warmup: number) {}

  readonly onSubmit = (o: { intent_id: string }): void => {
    const t = this.arrived.get(o.intent_id);
    if (t === undefined) return;
    if (this.warm < this.warmup) this.warm++;
    else this.samples.push(performance.now() - t);
  };
}
