import fs from 'node:fs';
import { ConfigError, configWarnings, defaultConfig, loadConfigFile, type GatewayConfig } from './config';
import { packageVersion, startGateway } from './app';
import { createLogger } from './logger';

const USAGE = `Usage: lwm2m-gateway [--config FILE]

LwM2M (CoAP over UDP) to MQTT gateway.

Options:
  -c, --config FILE   configuration file (YAML); default: gateway.yaml in the current directory if present
  -h, --help          show this help
  -v, --version       show the version
`;

interface CliArgs {
  config?: string;
  help: boolean;
  version: boolean;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') args.help = true;
    else if (a === '-v' || a === '--version') args.version = true;
    else if (a === '-c' || a === '--config') {
      const file = argv[++i];
      if (file === undefined) throw new Error(`${a} needs a file name`);
      args.config = file;
    } else if (a.startsWith('--config=')) args.config = a.slice('--config='.length);
    else throw new Error(`unknown argument "${a}"`);
  }
  return args;
}

/** The command line: exits 2 on bad arguments or configuration, 1 when the gateway cannot start. */
export async function main(argv: string[]): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`lwm2m-gateway: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  let config: GatewayConfig;
  try {
    if (args.config) config = loadConfigFile(args.config);
    else if (fs.existsSync('gateway.yaml')) config = loadConfigFile('gateway.yaml');
    else config = defaultConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`lwm2m-gateway: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.log.level);
  for (const warning of configWarnings(config)) log.warn(warning);
  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
    running = await startGateway(config, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start');
    log.flush();
    process.stderr.write(`lwm2m-gateway: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running
      .close()
      .then(() => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => running.reloadCredentials());
  // startGateway logged 'lwm2m-gateway ready' with the start-up summary.
}
