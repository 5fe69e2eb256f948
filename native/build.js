'use strict';
// Builds the DTLS addon (native/build/Release/lwm2m_dtls.node) with node-gyp; run by npm's
// install script and by `npm run build:native`. It never fails the install: without the addon
// the gateway serves plain UDP only, so on any failure it prints one line and exits 0.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;

function skip(reason) {
  console.warn(`lwm2m-gateway: DTLS addon not built (${reason}); the gateway will serve UDP only`);
  process.exit(0);
}

// The node-gyp npm puts on PATH for scripts (npm's node-gyp-bin), else npm's bundled copy.
function findNodeGyp() {
  const names = process.platform === 'win32' ? ['node-gyp.cmd', 'node-gyp.exe'] : ['node-gyp'];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return { cmd: file, args: [] };
      } catch {
        // not here
      }
    }
  }
  const candidates = ['node-gyp/bin/node-gyp.js', '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'];
  for (const candidate of candidates) {
    try {
      return { cmd: process.execPath, args: [require.resolve(candidate)] };
    } catch {
      // try the next one
    }
  }
  return undefined;
}

try {
  const gyp = findNodeGyp();
  if (!gyp) skip('node-gyp not found');
  const args = [...gyp.args, 'rebuild'];
  // Headers of the running node: without --nodedir node-gyp would download them.
  const nodedir = path.resolve(process.execPath, '../..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(nodedir, 'include/node/node_api.h'))) {
    args.push(`--nodedir=${nodedir}`);
  }
  const result = spawnSync(gyp.cmd, args, { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) skip(`node-gyp: ${result.error.message}`);
  if (result.status !== 0) skip(`node-gyp exited with ${result.status ?? result.signal}`);
  if (!fs.existsSync(path.join(here, 'build/Release/lwm2m_dtls.node'))) skip('no lwm2m_dtls.node after the build');
} catch (err) {
  skip(err instanceof Error ? err.message : String(err));
}
