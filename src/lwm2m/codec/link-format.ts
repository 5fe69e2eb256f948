import { CodecError } from './codec-error';

/** One CoRE link (RFC 6690): `</3/0>;ver=1.1` -> { uri: '/3/0', attributes: { ver: '1.1' } }. */
export interface Link {
  uri: string;
  /** Quoted values unquoted; a parameter without "=" is `true`. Numbers stay strings. */
  attributes: Record<string, string | true>;
}

const PARAM_NAME = /[A-Za-z0-9!#$&+\-.^_`|~*]/;

/**
 * Parses an application/link-format body (register payloads, discover responses).
 * Whitespace and newlines around separators are tolerated, as is a trailing comma.
 */
export function parseLinkFormat(text: string): Link[] {
  return new LinkParser(text).links();
}

class LinkParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  links(): Link[] {
    const links: Link[] = [];
    this.skipSpace();
    while (this.pos < this.text.length) {
      links.push(this.link());
      this.skipSpace();
      if (this.pos >= this.text.length) break;
      this.expect(',');
      this.skipSpace();
    }
    return links;
  }

  private link(): Link {
    this.expect('<');
    const close = this.text.indexOf('>', this.pos);
    if (close < 0) this.fail('unterminated "<"');
    const uri = this.text.slice(this.pos, close);
    if (/[\s<]/.test(uri)) this.fail('invalid character in URI');
    this.pos = close + 1;
    const attributes: Record<string, string | true> = {};
    this.skipSpace();
    while (this.text[this.pos] === ';') {
      this.pos++;
      this.skipSpace();
      const name = this.paramName();
      this.skipSpace();
      let value: string | true = true;
      if (this.text[this.pos] === '=') {
        this.pos++;
        this.skipSpace();
        value = this.text[this.pos] === '"' ? this.quoted() : this.token();
      }
      // Device-supplied names must not reach the prototype.
      if (name !== '__proto__') attributes[name] = value;
      this.skipSpace();
    }
    return { uri, attributes };
  }

  private paramName(): string {
    const start = this.pos;
    while (this.pos < this.text.length && PARAM_NAME.test(this.text[this.pos])) this.pos++;
    if (this.pos === start) this.fail('expected a parameter name');
    return this.text.slice(start, this.pos);
  }

  /** An unquoted value runs to the next separator. */
  private token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !/[,;\s"<>]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private quoted(): string {
    this.pos++;
    let value = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (c === '"') return value;
      if (c === '\\' && this.pos < this.text.length) value += this.text[this.pos++];
      else value += c;
    }
    return this.fail('unterminated quoted string');
  }

  private expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(`expected "${c}"`);
    this.pos++;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private fail(reason: string): never {
    const found = this.pos < this.text.length ? JSON.stringify(this.text.slice(this.pos, this.pos + 10)) : 'end of text';
    throw new CodecError(`invalid link format at ${this.pos} (${found}): ${reason}`);
  }
}

/** RFC 6690 defines these as quoted-string; LwM2M examples quote them (rt="oma.lwm2m"). */
const QUOTED_PARAMS = new Set(['rt', 'if', 'rel', 'rev', 'anchor', 'title', 'type']);
const PTOKEN = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]+$/;

/** `</3/0>;ver=1.1`, in the attributes' insertion order. */
export function formatLink(link: Link): string {
  let out = `<${link.uri}>`;
  for (const [name, value] of Object.entries(link.attributes)) {
    if (value === true) out += `;${name}`;
    else if (QUOTED_PARAMS.has(name) || !PTOKEN.test(value)) out += `;${name}="${value.replace(/(["\\])/g, '\\$1')}"`;
    else out += `;${name}=${value}`;
  }
  return out;
}
