import { hasControlCharacter } from '../../limits/control-characters';

/**
 * Templates of device ids, tenants and metric keys: literal text with `${name}` placeholders. A `$`
 * not followed by `{` is literal (Blockbax ingestion ids are `${endpoint}$${path}`), so no escape
 * syntax is needed. Parsed once, at configuration time: an unknown or unclosed placeholder is a
 * configuration error, never literal text in a device id.
 */

export type TemplatePart = { readonly text: string } | { readonly placeholder: string };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

const CLIENT_ATTRS = 'client_attrs.';
const MAX_TEMPLATE_CHARS = 1024;

/** The placeholders a template may use: fixed names, and `client_attrs.KEY` when `clientAttrs`. */
export interface TemplateVocabulary {
  readonly names: readonly string[];
  readonly clientAttrs: boolean;
}

/** The parsed template, or why it cannot be used. */
export function parseTemplate(source: string, vocabulary: TemplateVocabulary): Template | { problem: string } {
  if (source.length > MAX_TEMPLATE_CHARS) return { problem: `is ${source.length} characters, longer than ${MAX_TEMPLATE_CHARS}` };
  if (hasControlCharacter(source)) return { problem: 'contains a control character' };
  const parts: TemplatePart[] = [];
  let from = 0;
  while (from < source.length) {
    const open = source.indexOf('${', from);
    if (open < 0) {
      parts.push({ text: source.slice(from) });
      break;
    }
    if (open > from) parts.push({ text: source.slice(from, open) });
    const close = source.indexOf('}', open + 2);
    if (close < 0) return { problem: `has an unclosed "\${" at character ${open + 1}` };
    const name = source.slice(open + 2, close);
    if (!isKnown(name, vocabulary)) return { problem: `has an unknown placeholder "\${${name}}" (known: ${known(vocabulary)})` };
    parts.push({ placeholder: name });
    from = close + 1;
  }
  return Object.freeze({ source, parts: Object.freeze(parts.map((p) => Object.freeze(p))) });
}

function isKnown(name: string, vocabulary: TemplateVocabulary): boolean {
  if (vocabulary.names.includes(name)) return true;
  return vocabulary.clientAttrs && name.startsWith(CLIENT_ATTRS) && name.length > CLIENT_ATTRS.length;
}

function known(vocabulary: TemplateVocabulary): string {
  const names = vocabulary.names.map((n) => `\${${n}}`);
  if (vocabulary.clientAttrs) names.push('${client_attrs.KEY}');
  return names.join(', ');
}

export function usesPlaceholder(template: Template, name: string): boolean {
  return template.parts.some((p) => 'placeholder' in p && p.placeholder === name);
}

/** The placeholder values of one rendering: fixed names, and the client attributes. */
export interface TemplateValues {
  readonly names?: Readonly<Record<string, string>>;
  readonly clientAttrs?: Readonly<Record<string, string>>;
}

/** Renders a template; a placeholder without a value (a client attribute the hook did not return) renders empty. */
export function renderTemplate(template: Template, values: TemplateValues): string {
  let out = '';
  for (const part of template.parts) {
    if ('text' in part) out += part.text;
    else out += placeholderValue(part.placeholder, values) ?? '';
  }
  return out;
}

function placeholderValue(name: string, values: TemplateValues): string | undefined {
  if (name.startsWith(CLIENT_ATTRS)) {
    const attrs = values.clientAttrs;
    const key = name.slice(CLIENT_ATTRS.length);
    return attrs !== undefined && Object.hasOwn(attrs, key) ? attrs[key] : undefined;
  }
  const names = values.names;
  return names !== undefined && Object.hasOwn(names, name) ? names[name] : undefined;
}
