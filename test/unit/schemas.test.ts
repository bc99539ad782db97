import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jsonSchemas } from '../../src/domain/schemas.js';
import { openApiDocument } from '../../src/ops/contract.js';

const DIR = resolve(import.meta.dirname, '../../schemas');

test('schemas/ matches the zod contracts (run `make schemas` after changing them)', () => {
  const want = jsonSchemas();
  const have = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  assert.deepEqual(have.sort(), [...Object.keys(want), 'openapi.json'].sort(), 'the set of schema files');
  const version = (JSON.parse(readFileSync(resolve(DIR, '../package.json'), 'utf8')) as { version: string }).version;
  for (const [name, schema] of Object.entries({ ...want, 'openapi.json': openApiDocument(version) })) {
    assert.equal(readFileSync(join(DIR, name), 'utf8'), JSON.stringify(schema, null, 2) + '\n', `${name} is stale`);
  }
});

test('the intent schema documents the contract fields', () => {
  const intent = jsonSchemas()['intent.schema.json'] as { properties: Record<string, unknown>; required: string[] };
  for (const f of ['intent_id', 'ts', 'account', 'instrument_id', 'side', 'size', 'constraints', 'labels', 'env']) assert.ok(f in intent.properties, f);
  assert.deepEqual([...intent.required].sort(), ['instrument_id', 'intent_id', 'side', 'size', 'ts']);
});
