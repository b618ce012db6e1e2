/**
 * Label selectors: the string form of the API (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) and the
 * object form (matchLabels + matchExpressions), both compiled to one list of requirements.
 */
import { ApiError } from './errors.ts';

type LabelOperator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = readonly LabelRequirement[];

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

const keyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function invalid(selector: string, why: string): ApiError {
  return new ApiError('BadRequest', `unable to parse requirement: invalid label selector "${selector}": ${why}`);
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

export function parseLabelSelector(text: string): LabelSelector {
  const requirements: LabelRequirement[] = [];
  for (const term of splitTerms(text)) {
    let match: RegExpMatchArray | null;
    let requirement: LabelRequirement;
    if ((match = term.match(/^!\s*(\S+)$/))) {
      requirement = { key: match[1]!, operator: 'DoesNotExist', values: [] };
    } else if ((match = term.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = match[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      requirement = { key: match[1]!, operator: match[2] === 'in' ? 'In' : 'NotIn', values };
    } else if ((match = term.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      requirement = { key: match[1]!, operator: match[2] === '!=' ? 'NotEquals' : 'Equals', values: [match[3]!] };
    } else if ((match = term.match(/^([^=!\s(),]+)$/))) {
      requirement = { key: match[1]!, operator: 'Exists', values: [] };
    } else {
      throw invalid(text, `cannot understand "${term}"`);
    }
    if (!keyPattern.test(requirement.key) || requirement.key.length > 317)
      throw invalid(text, `bad key "${requirement.key}"`);
    for (const value of requirement.values) {
      if (!valuePattern.test(value) || value.length > 63) throw invalid(text, `bad value "${value}"`);
    }
    requirements.push(requirement);
  }
  return requirements;
}

export function selectorFromObject(selector: LabelSelectorObject | undefined): LabelSelector {
  if (selector === undefined) return [];
  const requirements: LabelRequirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: 'Equals',
    values: [value],
  }));
  for (const expression of selector.matchExpressions ?? []) {
    requirements.push({ key: expression.key, operator: expression.operator, values: expression.values ?? [] });
  }
  return requirements;
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  return selector.every((r) => {
    const present = Object.hasOwn(have, r.key);
    const value = have[r.key];
    switch (r.operator) {
      case 'Equals':
        return present && value === r.values[0];
      case 'NotEquals':
        return !present || value !== r.values[0];
      case 'In':
        return present && r.values.includes(value!);
      case 'NotIn':
        return !present || !r.values.includes(value!);
      case 'Exists':
        return present;
      case 'DoesNotExist':
        return !present;
    }
  });
}

export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      switch (r.operator) {
        case 'Equals':
          return `${r.key}=${r.values[0]}`;
        case 'NotEquals':
          return `${r.key}!=${r.values[0]}`;
        case 'In':
          return `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(',');
}
