import fs from 'node:fs';
import type { Logger } from 'pino';
import { isMapping } from '../config-text/config-keys';
import { parseYamlDocument } from '../config-text/yaml-values';
import type { Translator } from '../gateway/answer-publisher';
import type { Lwm2mMqttGateway } from '../gateway/gateway';
import type { DeviceProfile } from '../gateway/profiles/device-profile';
import { DeviceProfiles } from '../gateway/profiles/device-profiles';
import { loadProfilesFile, parseProfiles } from '../gateway/profiles/profile-config';
import { ProfileProblems } from '../gateway/profiles/profile-config-error';
import { configFileOf, type GatewayConfig } from './config';

/** The device profiles of a gateway and their SIGHUP reload. */
export interface ProfilesPlane {
  readonly profiles: DeviceProfiles;
  /** Re-reads profiles_file (or the configuration file's profiles:); a bad file leaves the profiles in use, with an error logged. */
  reload(gateway: Lwm2mMqttGateway): void;
}

/** The profiles at start: profiles_file's (its problems refuse the start) or the configuration's own. */
export function startProfiles(config: GatewayConfig, log: Logger): ProfilesPlane {
  const file = config.profiles_file;
  const configFile = configFileOf(config);
  const t = config.lwm2m.translators;
  const translators: { telemetry: Translator; attributes: Translator; status: Translator } = { telemetry: t.telemetry, attributes: t.attributes, status: t.status };
  const profiles = new DeviceProfiles(file !== undefined ? loadProfilesFile(file) : config.profiles, translators);
  if (profiles.profiles.length > 0) log.info({ profiles: profiles.profiles.map((p) => p.name), file }, 'device profiles loaded');
  return {
    profiles,
    reload: (gateway) => {
      let next: readonly DeviceProfile[];
      try {
        if (file !== undefined) next = loadProfilesFile(file);
        else if (configFile !== undefined) next = profilesOfConfigFile(configFile);
        else return;
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'device profiles not reloaded; the previous ones stay in use');
        return;
      }
      gateway.replaceProfiles(next);
      log.info({ profiles: next.map((p) => p.name), file: file ?? configFile }, 'device profiles reloaded');
    },
  };
}

/** The profiles: key of the configuration file as it is now (its other keys apply at the next start). */
function profilesOfConfigFile(configFile: string): readonly DeviceProfile[] {
  // The same reader as profiles_file: duplicate keys reported, no prototype keys, aliases bounded.
  const problems = new ProfileProblems();
  const doc = parseYamlDocument(fs.readFileSync(configFile, 'utf8'), problems);
  problems.throwIfAny(configFile);
  const raw = isMapping(doc) ? doc.profiles : undefined;
  return parseProfiles(raw, { source: configFile, baseDir: process.cwd() });
}
