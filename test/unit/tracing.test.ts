// Trace sampling: the standard OTEL_TRACES_SAMPLER settings, and the keep-or-drop decision made as
// the OpenTelemetry SDK's TraceIdRatioBasedSampler makes it, so every process agrees per intent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceIdRatioBasedSampler, SamplingDecision } from '@opentelemetry/sdk-trace';
import { context } from '@opentelemetry/api';
import { traceIdForIntent } from '../../src/domain/trace.js';
import { samplingRatio, traceIdBucket } from '../../src/ops/tracing.js';

describe('trace sampling', () => {
  it('reads the standard sampler variables and refuses what it cannot honour', () => {
    assert.equal(samplingRatio({}), 1);
    assert.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'always_off' }), 0);
    assert.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), 0.25);
    assert.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }), 0.5);
    assert.throws(() => samplingRatio({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }), /between 0 and 1/);
    assert.throws(() => samplingRatio({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), /supports always_on/);
  });

  it('keeps exactly the intents the OpenTelemetry SDK would sample at the same ratio', () => {
    for (const ratio of [0.01, 0.1, 0.5, 0.9]) {
      const sdk = new TraceIdRatioBasedSampler(ratio);
      const bound = Math.floor(ratio * 0xffffffff);
      let kept = 0;
      for (let i = 0; i < 2_000; i++) {
        const traceId = traceIdForIntent(`intent-${i}`);
        const ours = traceIdBucket(traceId) < bound;
        const theirs = sdk.shouldSample(context.active(), traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
        assert.equal(ours, theirs, `${traceId} at ${ratio}`);
        if (ours) kept++;
      }
      assert.ok(Math.abs(kept / 2_000 - ratio) < 0.05, `${kept} of 2000 at ${ratio}`);
    }
  });
});
