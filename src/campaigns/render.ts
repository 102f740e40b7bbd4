/**
 * Personalisation: `{{firstName|there}}` placeholders in subject, HTML and
 * text. Values (and fallbacks) are HTML-escaped in the HTML part; the subject
 * and text part get them verbatim. Pure; no I/O.
 */
import { AppError } from '../platform/errors.ts';

/** Values known for every recipient; `custom.<key>` reads contact/lead custom fields. */
export const TEMPLATE_VARIABLES = ['firstName', 'lastName', 'name', 'email', 'phone', 'stage', 'score', 'source', 'unsubscribeUrl'] as const;

const PLACEHOLDER = /\{\{\s*([A-Za-z][\w.-]*)\s*(?:\|([^}]*))?\}\}/g;

export type RecipientVars = Record<string, unknown> & { custom?: Record<string, unknown> };

/** Throws TEMPLATE_VARIABLE_UNKNOWN when a template names a variable we cannot fill. */
export function validateTemplates(parts: Record<string, string | undefined>): void {
  for (const [part, template] of Object.entries(parts)) {
    if (!template) continue;
    for (const match of template.matchAll(PLACEHOLDER)) {
      const name = match[1];
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name) && !/^custom\.[\w-]+$/.test(name)) {
        throw new AppError('TEMPLATE_VARIABLE_UNKNOWN', {
          message: `Unknown variable {{${name}}} in ${part}; use ${TEMPLATE_VARIABLES.join(', ')} or custom.<field>`,
        });
      }
    }
  }
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function lookupVar(vars: RecipientVars, name: string): string | undefined {
  const value = name.startsWith('custom.') ? vars.custom?.[name.slice(7)] : vars[name];
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Fills placeholders; `html` escapes values and fallbacks. */
export function renderTemplate(template: string, vars: RecipientVars, html: boolean): string {
  return template.replace(PLACEHOLDER, (_all, name: string, fallback: string | undefined) => {
    const value = lookupVar(vars, name) ?? (fallback ?? '').trim();
    return html && name !== 'unsubscribeUrl' ? escapeHtml(value) : value;
  });
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderOptions {
  unsubscribeUrl: string;
  /** Rewrites an http(s) link to its signed tracking redirect (undefined: no click tracking). */
  trackLink?: (url: string) => string;
  /** Open-tracking pixel URL (undefined: no pixel). */
  openPixelUrl?: string;
}

/** Renders one recipient's message: personalisation, tracked links, open pixel, a visible unsubscribe link. */
export function renderEmail(templates: { subject: string; html: string; text: string }, vars: RecipientVars, options: RenderOptions): RenderedEmail {
  const all = { ...vars, unsubscribeUrl: options.unsubscribeUrl };
  const subject = renderTemplate(templates.subject, all, false).replace(/[\r\n]+/g, ' ');
  let html = templates.html ? renderTemplate(templates.html, { ...all, unsubscribeUrl: escapeHtml(options.unsubscribeUrl) }, true) : '';
  let text = templates.text ? renderTemplate(templates.text, all, false) : htmlToText(html);
  if (html) {
    if (options.trackLink) {
      const track = options.trackLink;
      html = html.replace(/(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi, (_m, head: string, quote: string, url: string) => {
        return `${head}${quote}${escapeHtml(track(unescapeHtml(url)))}${quote}`;
      });
    }
    if (!templates.html.includes('{{unsubscribeUrl')) {
      html += `\n<p style="font-size:12px;color:#666"><a href="${escapeHtml(options.unsubscribeUrl)}">Unsubscribe</a></p>`;
    }
    if (options.openPixelUrl) html += `\n<img src="${escapeHtml(options.openPixelUrl)}" width="1" height="1" alt="" style="display:none">`;
  }
  if (!templates.text.includes('{{unsubscribeUrl') || !templates.text) text += `\n\nUnsubscribe: ${options.unsubscribeUrl}`;
  return { subject, html, text };
}

function unescapeHtml(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** A plain-text alternative for HTML-only templates. */
export function htmlToText(html: string): string {
  return unescapeHtml(html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<a\b[^>]*href=["']([^"']+)["'][^>]*>([\s\S]*?)<\/a>/gi, '$2 ($1)')
    .replace(/<br\s*\/?>|<\/(p|div|h\d|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim());
}
