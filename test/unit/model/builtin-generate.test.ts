import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readBuiltinObjects } from '../../../src/lwm2m/model/builtin-generate';

/** The OMA registry copy in this repository (models/oma/README.md). */
const REGISTRY_DIR = path.resolve(__dirname, '../../../models/oma');
const CORE_FILES = ['0', '1', '2', '3', '4', '5', '6', '7', '9', '19'].map((id) => `${id}.xml`);

function object(id: number, name: string): string {
  return `<Object><Name>${name}</Name><ObjectID>${id}</ObjectID><Resources/></Object>`;
}

describe('readBuiltinObjects', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwm2m-registry-'));
    for (const name of CORE_FILES) fs.copyFileSync(path.join(REGISTRY_DIR, name), path.join(dir, name));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes every <id>.xml in id order and ignores the registry files that are not objects', () => {
    fs.writeFileSync(path.join(dir, '10241.xml'), `<LWM2M>${object(10241, 'Host')}</LWM2M>`);
    fs.copyFileSync(path.join(REGISTRY_DIR, 'Common.xml'), path.join(dir, 'Common.xml'));
    fs.copyFileSync(path.join(REGISTRY_DIR, 'LWM2M.xsd'), path.join(dir, 'LWM2M.xsd'));
    const { objects, skipped } = readBuiltinObjects(dir);
    expect(objects.map((o) => o.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 19, 10241]);
    expect(skipped).toEqual([]);
  });

  it('skips, with the reason, a file that does not parse and objects not in the file named after them', () => {
    fs.writeFileSync(path.join(dir, '20.xml'), '<LWM2M><Object><Name>Broken');
    // 21.xml also defines 3: a second definition of an id is never taken, the one of 3.xml stays.
    fs.writeFileSync(path.join(dir, '21.xml'), `<LWM2M>${object(21, 'Mine')}${object(3, 'Impostor')}</LWM2M>`);
    fs.writeFileSync(path.join(dir, '22.xml'), `<LWM2M>${object(23, 'Elsewhere')}</LWM2M>`);
    const { objects, skipped } = readBuiltinObjects(dir);
    expect(objects.map((o) => o.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 19, 21]);
    expect(objects.find((o) => o.id === 3)?.name).toBe('Device');
    expect(skipped).toEqual([
      { file: '20.xml', reason: expect.stringMatching(/^20\.xml: not well-formed XML/) },
      { file: '21.xml', reason: '21.xml: object 3 is not taken from a file named after object 21' },
      { file: '22.xml', reason: '22.xml: object 23 is not taken from a file named after object 22' },
      { file: '22.xml', reason: '22.xml: does not define object 22' },
    ]);
  });

  it('throws when a core object is missing or unreadable: the directory is not a registry', () => {
    fs.rmSync(path.join(dir, '5.xml'));
    fs.writeFileSync(path.join(dir, '9.xml'), 'not xml');
    expect(() => readBuiltinObjects(dir)).toThrow(/core object\(s\) missing or unreadable: 5\.xml, 9\.xml/);
  });
});
