// The metric names a PromQL expression reads, so dashboards and alert rules can be held against
// the metric catalog (METRIC_NAMES). Not a parser: it strips what cannot be a metric name
// (strings, label matchers, ranges, grouping labels, numbers, Grafana variables) and keeps the
// identifiers that are not PromQL functions or keywords. An unknown function or a typo therefore
// comes out as a "metric", which is what a check against the catalog wants.
import { Registry, collectDefaultMetrics } from 'prom-client';

/** PromQL functions, aggregation operators and keywords (Prometheus 3). */
export const PROMQL_WORDS: ReadonlySet<string> = new Set([
  // aggregations
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'],
  // keywords and binary operators spelled as words
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'start', 'end', 'inf', 'nan'],
  // functions
  ...['abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min'],
  ...['cos', 'cosh', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv', 'double_exponential_smoothing', 'exp'],
  ...['floor', 'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters'],
  ...['hour', 'idelta', 'increase', 'info', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time'],
  ...['min_over_time', 'minute', 'month', 'pi', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn'],
  ...['sin', 'sinh', 'sort', 'sort_by_label', 'sort_by_label_desc', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh'],
  ...['time', 'timestamp', 'vector', 'year'],
]);

/** The metric names `expr` selects, sorted and unique. */
export function promqlMetricNames(expr: string): string[] {
  let s = expr
    // Grafana variables: ${x}, ${x:fmt}, [[x]], $x and $__rate_interval
    .replace(/\$\{[^}]*\}/g, ' ')
    .replace(/\[\[[^\]]*\]\]/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/#[^\n]*/g, ' ');
  const names = new Set<string>();
  // A selector may name its metric as a label: {__name__="x"}.
  for (const m of s.matchAll(/__name__\s*=\s*(["'`])([^"'`]+)\1/g)) names.add(m[2]);
  s = s
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // numbers, durations (5m, 1h30m), exponents (1e-9), hex
    .replace(/(?<![\w:])\d[\w.]*(?:[eE][+-]?\d+)?/g, ' ');
  for (const m of s.matchAll(/[A-Za-z_:][\w:]*/g)) {
    if (!PROMQL_WORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names].sort();
}

/**
 * What a fillstream process exports besides its own catalog: prom-client's default metrics
 * (process_*, nodejs_*, as scraped: histograms with their series suffixes), and `up`, which
 * Prometheus adds per target.
 */
export function defaultMetricNames(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const out = ['up'];
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type === 'histogram') out.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
    else out.push(name);
  }
  return out;
}
