/** The command line as a user runs it: a child process with a config file, stopped by SIGTERM. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI_NODE_ARGS, CliProcess } from '../support/cli-process';
import { MqttProbe } from '../support/mqtt-probe';
import { freeTcpPort, freeUdpPort } from '../support/ports';
import { TestDevice } from '../support/test-device';

const ROOT = path.resolve(__dirname, '../..');
const NODE_ARGS = CLI_NODE_ARGS;


function runCli(args: string[]) {
  return spawnSync(process.execPath, [...NODE_ARGS, '--', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
}

describe('lwm2m-gateway command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--help and --version', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--config FILE/);
    const version = runCli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('refuses a bad configuration with a message naming the key (exit 2)', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'lwm2m:\n  lifetime_mn: 10\n');
    const r = runCli(['--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`lwm2m-gateway: invalid configuration: ${file}: lwm2m.lifetime_mn: unknown key\n`);
    // Every problem at once, one line each under a count; still exit 2.
    fs.writeFileSync(file, 'lwm2m:\n  lifetime_mn: 10\n  mountpoint: "lwm2m/${endpoint}/"\n  max_command_size: 4XB\nlog:\n  level: loud\n');
    const several = runCli(['--config', file]);
    expect(several.status).toBe(2);
    expect(several.stderr.split('\n')).toEqual([
      `lwm2m-gateway: invalid configuration: ${file}: 4 errors:`,
      `  ${file}: lwm2m.lifetime_mn: unknown key`,
      `  ${file}: lwm2m.mountpoint: unknown placeholder \${endpoint} (known: \${endpoint_name}, \${clientid}, \${username}, \${peerhost}, \${device_id}, \${client_attrs.NAME})`,
      `  ${file}: lwm2m.max_command_size: must be a size: bytes or a string such as "64KB", "4MB", "1GB" (KB = 1024 bytes)`,
      `  ${file}: log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"`,
      '',
    ]);
    const missing = runCli(['--config', path.join(dir, 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml/);
    const unknownArg = runCli(['--frobnicate']);
    expect(unknownArg.status).toBe(2);
  });

  it('serves LwM2M with the embedded broker, and SIGTERM stops it cleanly', async () => {
    const udpPort = await freeUdpPort();
    const mqttPort = await freeTcpPort();
    const file = path.join(dir, 'gw.yaml');
    fs.writeFileSync(file, `store:\n  dir: "${path.join(dir, `store-${udpPort}`)}"\nhttp:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:${mqttPort}"\nlisteners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"\nlog:\n  level: info\n`);
    const cli = CliProcess.start(file);
    try {
      await cli.until('lwm2m-gateway ready');
      const probe = await MqttProbe.connect(`mqtt://127.0.0.1:${mqttPort}`, 'lwm2m/#');
      const device = await TestDevice.start({ endpoint: 'cli-dev', gateway: { host: '127.0.0.1', port: udpPort } });
      try {
        expect((await device.register()).code).toBe('2.01');
        const reg = await probe.waitOn('lwm2m/cli-dev/up/register');
        expect(reg.json.data).toMatchObject({ ep: 'cli-dev' });
        await probe.publish('lwm2m/cli-dev/dn', { reqID: 1, msgType: 'read', data: { path: '/3/0/0' } });
        const r = await probe.waitOn('lwm2m/cli-dev/up/resp', { reqID: 1 });
        expect(r.json.data).toMatchObject({ code: '2.05', content: [{ path: '/3/0/0', value: 'Open Mobile Alliance' }] });
      } finally {
        await device.close();
        await probe.close();
      }
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      expect(cli.output).toMatch(/"msg":"stopped"/);
    } finally {
      cli.kill();
    }
  });

  it('SIGHUP re-reads the PSK file: a device added to it connects over DTLS without a restart', async () => {
    const udpPort = await freeUdpPort();
    const dtlsPort = await freeUdpPort();
    const mqttPort = await freeTcpPort();
    const pskFile = path.join(dir, 'psk.yaml');
    fs.writeFileSync(pskFile, `- identity: first\n  key: "${Buffer.from('first-key').toString('hex')}"\n`);
    const file = path.join(dir, 'gw-dtls.yaml');
    fs.writeFileSync(
      file,
      `store:\n  dir: "${path.join(dir, `store-${udpPort}`)}"\nhttp:\n  bind: "127.0.0.1:0"\nembedded_broker:\n  bind: "127.0.0.1:${mqttPort}"\nlisteners:\n  udp:\n    bind: "127.0.0.1:${udpPort}"\n  dtls:\n    enable: true\n    bind: "127.0.0.1:${dtlsPort}"\n    psk_file: "${pskFile}"\nlog:\n  level: info\n`,
    );
    const cli = CliProcess.start(file);
    try {
      await cli.until('lwm2m-gateway ready');
      expect(cli.output).toMatch(/"msg":"LwM2M over DTLS listening"/);
      const gateway = { host: '127.0.0.1', port: dtlsPort };
      await expect(TestDevice.start({ endpoint: 'second', gateway, dtls: { identity: 'second', key: 'second-key' } })).rejects.toThrow();
      fs.writeFileSync(pskFile, `- identity: first\n  key: "${Buffer.from('first-key').toString('hex')}"\n- identity: second\n  key: "${Buffer.from('second-key').toString('hex')}"\n`);
      cli.child.kill('SIGHUP');
      await cli.until('"msg":"PSK file reloaded"');
      const device = await TestDevice.start({ endpoint: 'second', gateway, dtls: { identity: 'second', key: 'second-key' } });
      try {
        expect((await device.register()).code).toBe('2.01');
      } finally {
        await device.close();
      }
      expect(cli.output).not.toContain(Buffer.from('second-key').toString('hex'));
      cli.child.kill('SIGTERM');
    } finally {
      cli.kill();
    }
  });
});

describe('npm start', () => {
  // `npm start` builds with tsconfig.build.json (src, bench, test/support, Node types only) before it
  // runs: a file there that needs jest's types would break the README's first command.
  it('compiles what it builds', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noEmit'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 130_000);
});
