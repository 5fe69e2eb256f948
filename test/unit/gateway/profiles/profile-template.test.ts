import { parseTemplate, renderTemplate, usesPlaceholder, type Template } from '../../../../src/gateway/profiles/profile-template';

const identity = { names: ['endpoint'], clientAttrs: true };
const metric = { names: ['name', 'path', 'endpoint', 'device_id'], clientAttrs: false };

function parsed(source: string, vocabulary = metric): Template {
  const t = parseTemplate(source, vocabulary);
  if ('problem' in t) throw new Error(t.problem);
  return t;
}

describe('profile templates', () => {
  it('renders placeholders and keeps a `$` not followed by `{` literal (Blockbax ingestion ids)', () => {
    const t = parsed('${endpoint}$${path}');
    expect(renderTemplate(t, { names: { endpoint: 'urn:dev:1', path: '/3303/0/5700' } })).toBe('urn:dev:1$/3303/0/5700');
    expect(renderTemplate(parsed('$$ cost $5 ${name}'), { names: { name: 't' } })).toBe('$$ cost $5 t');
    expect(renderTemplate(parsed('plain'), {})).toBe('plain');
    expect(renderTemplate(parsed(''), {})).toBe('');
  });

  it('renders client attributes, a missing one as empty, never from the prototype', () => {
    const t = parsed('${client_attrs.tenant}-${client_attrs.constructor}-${endpoint}', identity);
    expect(renderTemplate(t, { names: { endpoint: 'ep' }, clientAttrs: { tenant: 'acme' } })).toBe('acme--ep');
    expect(renderTemplate(t, { names: { endpoint: 'ep' } })).toBe('--ep');
  });

  it('refuses unknown and unclosed placeholders, control characters and long templates', () => {
    expect(parseTemplate('${client_attrs.x}', metric)).toEqual({ problem: 'has an unknown placeholder "${client_attrs.x}" (known: ${name}, ${path}, ${endpoint}, ${device_id})' });
    expect(parseTemplate('${client_attrs.}', identity)).toEqual({ problem: 'has an unknown placeholder "${client_attrs.}" (known: ${endpoint}, ${client_attrs.KEY})' });
    expect(parseTemplate('${}', identity)).toMatchObject({ problem: expect.stringContaining('"${}"') });
    expect(parseTemplate('a${endpoint', identity)).toEqual({ problem: 'has an unclosed "${" at character 2' });
    expect(parseTemplate('a\nb', identity)).toEqual({ problem: 'contains a control character' });
    expect(parseTemplate('x'.repeat(1025), identity)).toEqual({ problem: 'is 1025 characters, longer than 1024' });
  });

  it('tells which placeholders a template uses', () => {
    expect(usesPlaceholder(parsed('${endpoint}$${path}'), 'path')).toBe(true);
    expect(usesPlaceholder(parsed('${endpoint}$${path}'), 'name')).toBe(false);
  });
});
