// The Grafana dashboard and the Prometheus alert rules in deploy/ name only metrics the service exports (a renamed
// metric would leave a panel empty and an alert silent), every rule is complete, and the README explains each alert.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { enableProcessMetrics, registry } from '../src/metrics.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const METRIC = /\b(?:cloud_ops|process|nodejs)_[a-z0-9_]+\b/g;

/** Every series name a scrape of this service can hold (a histogram's _bucket, _count and _sum too). */
async function exportedNames(): Promise<Set<string>> {
  enableProcessMetrics();
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_count', '_sum']) names.add(metric.name + suffix);
  }
  return names;
}

describe('deploy/ monitoring files', () => {
  const rules = (parse(read('deploy/prometheus-alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
    (group) => group.rules,
  );
  const dashboard = JSON.parse(read('deploy/grafana-dashboard.json')) as {
    panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
  };

  it('every alert rule is complete and names only exported metrics', async () => {
    const names = await exportedNames();
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^CloudOps[A-Za-z]+$/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['info', 'warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      const used = rule.expr.match(METRIC) ?? [];
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it('every dashboard panel queries exported metrics', async () => {
    const names = await exportedNames();
    const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(20);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const used = target.expr.match(METRIC) ?? [];
        expect(used.length, panel.title).toBeGreaterThan(0);
        for (const name of used) expect(names.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });

  it('the README explains every alert', () => {
    const readme = read('README.md');
    for (const rule of rules) expect(readme, rule.alert).toContain(`\`${rule.alert}\``);
  });
});
