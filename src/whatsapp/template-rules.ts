/**
 * Template parameter rules, pure: how many parameters each component of a
 * template takes (derived at sync) and whether a send's components match.
 */
import { AppError } from '../platform/errors.ts';

export interface ParameterCounts {
  /** TEXT header placeholders, or 1 for a media/location header (with its format). */
  header?: { count: number; format: string };
  body: number;
  /** Body placeholder names for NAMED templates, in order. */
  bodyNames?: string[];
  /** Button index → placeholders (URL buttons with {{1}}); quick replies take an optional payload. */
  buttons: Record<string, { type: string; count: number }>;
}

function placeholders(text: unknown): string[] {
  if (typeof text !== 'string') return [];
  return [...new Set([...text.matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/gi)].map((m) => m[1]))];
}

/** Counts a template's parameters from its components (Meta's list shape). */
export function parameterCounts(components: Array<Record<string, unknown>>): ParameterCounts {
  const counts: ParameterCounts = { body: 0, buttons: {} };
  for (const component of components) {
    const type = String(component.type ?? '').toUpperCase();
    if (type === 'HEADER') {
      const format = String(component.format ?? 'TEXT').toUpperCase();
      counts.header = { format, count: format === 'TEXT' ? placeholders(component.text).length : 1 };
    } else if (type === 'BODY') {
      const names = placeholders(component.text);
      counts.body = names.length;
      if (names.some((n) => !/^\d+$/.test(n))) counts.bodyNames = names;
    } else if (type === 'BUTTONS' && Array.isArray(component.buttons)) {
      (component.buttons as Array<Record<string, unknown>>).forEach((button, index) => {
        const buttonType = String(button.type ?? '').toUpperCase();
        counts.buttons[String(index)] = { type: buttonType, count: buttonType === 'URL' ? placeholders(button.url).length : 0 };
      });
    }
  }
  return counts;
}

export interface SendComponent {
  type: string;
  sub_type?: string;
  index?: string | number;
  parameters?: Array<Record<string, unknown>>;
}

const MEDIA_FORMATS: Record<string, string> = { IMAGE: 'image', VIDEO: 'video', DOCUMENT: 'document', LOCATION: 'location' };
const BODY_TYPES = new Set(['text', 'currency', 'date_time']);

function mismatch(message: string, details: Record<string, unknown>): AppError {
  return new AppError('TEMPLATE_PARAMETER_MISMATCH', { message, details });
}

/** Throws TEMPLATE_PARAMETER_MISMATCH naming the first component that does not fit the template. */
export function checkTemplateParameters(name: string, counts: ParameterCounts, components: SendComponent[]): void {
  const byType = (t: string) => components.filter((c) => c.type.toLowerCase() === t);
  const body = byType('body').flatMap((c) => c.parameters ?? []);
  if (body.length !== counts.body) {
    throw mismatch(`Template ${name} expects ${counts.body} body parameter(s), got ${body.length}`, { component: 'body', expected: counts.body, got: body.length });
  }
  body.forEach((p, i) => {
    if (!BODY_TYPES.has(String(p.type))) throw mismatch(`Template ${name}: body parameter ${i + 1} has type ${String(p.type)}; expected text, currency or date_time`, { component: 'body', index: i });
    if (p.type === 'text' && (typeof p.text !== 'string' || p.text.length === 0)) throw mismatch(`Template ${name}: body parameter ${i + 1} needs a non-empty text`, { component: 'body', index: i });
  });
  const header = byType('header').flatMap((c) => c.parameters ?? []);
  const wantHeader = counts.header?.count ?? 0;
  if (header.length !== wantHeader) {
    throw mismatch(`Template ${name} expects ${wantHeader} header parameter(s)${counts.header && counts.header.format !== 'TEXT' ? ` (${counts.header.format.toLowerCase()})` : ''}, got ${header.length}`, { component: 'header', expected: wantHeader, got: header.length });
  }
  if (counts.header && header.length) {
    const want = MEDIA_FORMATS[counts.header.format] ?? 'text';
    header.forEach((p) => {
      if (p.type !== want) throw mismatch(`Template ${name}: header parameter has type ${String(p.type)}; the template's header is ${want}`, { component: 'header', expected: want, got: p.type });
    });
  }
  for (const button of byType('button')) {
    const index = String(button.index ?? '');
    const spec = counts.buttons[index];
    if (!spec) throw mismatch(`Template ${name} has no button at index ${index}`, { component: 'button', index });
    const got = button.parameters?.length ?? 0;
    if (spec.type === 'URL' && got !== spec.count) throw mismatch(`Template ${name}: URL button ${index} expects ${spec.count} parameter(s), got ${got}`, { component: 'button', index, expected: spec.count, got });
  }
  for (const [index, spec] of Object.entries(counts.buttons)) {
    if (spec.type === 'URL' && spec.count > 0 && !byType('button').some((b) => String(b.index) === index)) {
      throw mismatch(`Template ${name}: URL button ${index} needs its ${spec.count} parameter(s)`, { component: 'button', index, expected: spec.count, got: 0 });
    }
  }
}

/** Turns plain variables into a body component (named templates get parameter names). */
export function bodyFromVariables(counts: ParameterCounts, variables: string[]): SendComponent[] {
  if (variables.length === 0) return [];
  return [{
    type: 'body',
    parameters: variables.map((text, i) => (counts.bodyNames?.[i] ? { type: 'text', parameter_name: counts.bodyNames[i], text } : { type: 'text', text })),
  }];
}
