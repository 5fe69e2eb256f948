import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering (README "Layout"): files under src/<dir> may not import the top-level src folders in
 * `forbidden`. Relative paths only: `(../)+<folder>` matches however deep the importing file is; no
 * subfolder may share a name with a top-level src folder.
 */
function layer(dir, forbidden, why) {
  const regex = `^(\\.\\./)+(${forbidden.join('|')})(/|$)`;
  const message = `layering: src/${dir} may not import src/{${forbidden.join(',')}} (${why})`;
  return { files: [`src/${dir}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] } };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/lwm2m/model/builtin-objects.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer('transport', ['coap', 'lwm2m', 'gateway', 'mqtt', 'app', 'auth', 'http', 'management', 'bootstrap-config'], 'datagrams only'),
  layer('coap', ['lwm2m', 'gateway', 'mqtt', 'app', 'auth', 'http', 'management', 'bootstrap-config'], 'it may use transport and limits'),
  layer('lwm2m', ['mqtt', 'gateway', 'app', 'auth', 'http', 'management', 'bootstrap-config'], 'it may use coap, transport and limits'),
  layer('mqtt', ['coap', 'transport', 'lwm2m', 'gateway', 'app', 'auth', 'http', 'management', 'bootstrap-config'], 'the broker side knows no device'),
  layer('gateway', ['app', 'transport', 'coap', 'http', 'management', 'bootstrap-config'], 'it speaks to devices through lwm2m'),
  layer('limits', ['transport', 'coap', 'lwm2m', 'gateway', 'mqtt', 'app', 'auth', 'package-root', 'http', 'management', 'bootstrap-config'], 'a base utility: it imports no other src folder'),
  layer('http', ['transport', 'coap', 'lwm2m', 'gateway', 'mqtt', 'app', 'auth', 'management', 'bootstrap-config'], 'the HTTP server knows no device: routes are the management translator\'s'),
  layer('management', ['app', 'transport', 'coap', 'mqtt', 'auth', 'bootstrap-config'], 'the HTTP translator: it reaches devices through lwm2m and the gateway\'s commands'),
  layer('auth', ['transport', 'coap', 'gateway', 'mqtt', 'app', 'package-root', 'bootstrap-config'], 'an admission plugin: lwm2m and limits only'),
  layer('bootstrap-config', ['transport', 'coap', 'gateway', 'mqtt', 'app', 'package-root', 'http', 'management'], 'where bootstrap configurations come from: lwm2m, limits and the auth hook\'s helpers only'),
  layer('config-text', ['transport', 'coap', 'lwm2m', 'gateway', 'mqtt', 'app', 'auth', 'package-root', 'http', 'management', 'bootstrap-config'], 'reading configuration text (YAML, keys in problem reports): limits only'),
  {
    // The web console: browser ES modules served as they are (console/).
    files: ['console/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', console: 'readonly' },
    },
  },
);
