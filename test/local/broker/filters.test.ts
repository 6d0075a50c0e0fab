// Trigger filter semantics, pure: attributes exact match and the exact/prefix/suffix/all/any/not dialects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Attributes,
  compileAttributesFilter,
  compileExpression,
  compileFilters,
  compileTriggerFilter,
  type FilterExpression,
  FilterExpressionSchema,
} from '../../../local/broker/filters.ts';

const scored: Attributes = {
  specversion: '1.0',
  id: 'e-1',
  source: 'flywheel/score',
  type: 'dev.flywheel.score.computed',
  subject: 'c-1',
  riskband: 'high',
  flywheelmodel: 'risk',
};

const match = (expr: FilterExpression, attrs: Attributes = scored) => compileExpression(expr)(attrs);

describe('spec.filter.attributes', () => {
  it('passes when every listed attribute, extensions included, is equal', () => {
    const f = compileAttributesFilter({ type: 'dev.flywheel.score.computed', riskband: 'high' });
    assert.equal(f(scored), true);
    assert.equal(f({ ...scored, riskband: 'low' }), false);
  });

  it('is case-sensitive', () => {
    assert.equal(compileAttributesFilter({ riskband: 'HIGH' })(scored), false);
  });

  it('fails when the attribute is missing, even for an empty (match-any) value', () => {
    assert.equal(compileAttributesFilter({ segment: '' })(scored), false);
    assert.equal(compileAttributesFilter({ segment: '' })({ ...scored, segment: '3' }), true);
  });

  it('passes everything when no attribute is listed', () => {
    assert.equal(compileAttributesFilter({})(scored), true);
  });
});

describe('spec.filters dialects', () => {
  it('exact matches the whole value of a context attribute or extension', () => {
    assert.equal(match({ exact: { type: 'dev.flywheel.score.computed' } }), true);
    assert.equal(match({ exact: { type: 'dev.flywheel.score' } }), false);
    assert.equal(match({ exact: { flywheelmodel: 'risk' } }), true);
    assert.equal(match({ exact: { segment: 'risk' } }), false);
  });

  it('prefix matches the start of the value and fails on a missing attribute', () => {
    assert.equal(match({ prefix: { type: 'dev.flywheel.' } }), true);
    assert.equal(match({ prefix: { type: 'com.example.' } }), false);
    assert.equal(match({ prefix: { segment: '' } }), false);
  });

  it('suffix matches the end of the value', () => {
    assert.equal(match({ suffix: { type: '.computed' } }), true);
    assert.equal(match({ suffix: { type: '.updated' } }), false);
    assert.equal(match({ suffix: { source: '/score' } }), true);
  });

  it('all passes only when every nested expression passes', () => {
    const all = { all: [{ prefix: { type: 'dev.flywheel.' } }, { exact: { riskband: 'high' } }] };
    assert.equal(match(all), true);
    assert.equal(match(all, { ...scored, riskband: 'low' }), false);
  });

  it('any passes when at least one nested expression passes', () => {
    const any = { any: [{ exact: { riskband: 'medium' } }, { exact: { riskband: 'high' } }] };
    assert.equal(match(any), true);
    assert.equal(match(any, { ...scored, riskband: 'low' }), false);
  });

  it('not inverts its expression, a missing attribute included', () => {
    assert.equal(match({ not: { exact: { riskband: 'low' } } }), true);
    assert.equal(match({ not: { exact: { riskband: 'high' } } }), false);
    assert.equal(match({ not: { exact: { segment: '1' } } }), true);
  });

  it('nests: all of (prefix, any of (exact, not suffix))', () => {
    const nested: FilterExpression = {
      all: [
        { prefix: { type: 'dev.flywheel.' } },
        { any: [{ exact: { flywheelmodel: 'segment' } }, { not: { suffix: { type: '.rejected' } } }] },
      ],
    };
    assert.equal(match(nested), true);
    assert.equal(match(nested, { ...scored, type: 'dev.flywheel.model.rejected' }), false);
    assert.equal(
      match(nested, { ...scored, type: 'dev.flywheel.model.rejected', flywheelmodel: 'segment' }),
      true,
    );
  });

  it('a list of expressions is an AND, and an empty list passes everything', () => {
    const list = [{ exact: { type: 'dev.flywheel.score.computed' } }, { exact: { riskband: 'low' } }];
    assert.equal(compileFilters(list)(scored), false);
    assert.equal(compileFilters(list.slice(0, 1))(scored), true);
    assert.equal(compileFilters([])(scored), true);
  });
});

describe('compileTriggerFilter', () => {
  it('uses spec.filters over spec.filter when both are set (Knative precedence)', () => {
    const f = compileTriggerFilter({
      filter: { attributes: { riskband: 'low' } },
      filters: [{ exact: { riskband: 'high' } }],
    });
    assert.equal(f(scored), true);
  });

  it('falls back to spec.filter.attributes when spec.filters is empty, and passes all without either', () => {
    assert.equal(
      compileTriggerFilter({ filter: { attributes: { riskband: 'low' } }, filters: [] })(scored),
      false,
    );
    assert.equal(compileTriggerFilter({})(scored), true);
  });
});

describe('FilterExpressionSchema', () => {
  const issues = (value: unknown) => {
    const r = FilterExpressionSchema.safeParse(value);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts nested dialects', () => {
    assert.deepEqual(
      issues({ all: [{ exact: { type: 'a' } }, { not: { any: [{ suffix: { source: 'b' } }] } }] }),
      [],
    );
  });

  it('refuses CESQL with a message that says it is not supported', () => {
    const found = issues({ cesql: "type = 'a'" });
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^cesql: CESQL filters are not supported/);
  });

  it('refuses CESQL nested inside another dialect, naming the path', () => {
    assert.match(issues({ any: [{ cesql: 'true' }] })[0] ?? '', /^any\.0\.cesql: CESQL/);
  });

  it('refuses two dialects in one expression, an unknown dialect and an empty expression', () => {
    assert.match(
      issues({ exact: { type: 'a' }, prefix: { type: 'b' } })[0] ?? '',
      /exactly one dialect.*exact, prefix/,
    );
    assert.match(issues({ regex: { type: 'a' } }).join('\n'), /regex/);
    assert.match(issues({})[0] ?? '', /found none/);
  });

  it('refuses exact with two attributes, an empty value, a bad name and an empty all', () => {
    assert.match(issues({ exact: { type: 'a', source: 'b' } })[0] ?? '', /exactly one attribute, got 2/);
    assert.match(issues({ prefix: { type: '' } })[0] ?? '', /must not be empty/);
    assert.match(issues({ suffix: { Type: 'x' } })[0] ?? '', /invalid attribute name "Type"/);
    assert.match(issues({ all: [] })[0] ?? '', /at least one nested filter/);
  });
});
