import { ContentFormat, isSupportedFormat } from '../../../src/lwm2m/codec';
import { preferredFormat } from '../../../src/lwm2m/registration/preferred-format';

const senmlCborOr = (fallback: number) => (isSupportedFormat(ContentFormat.SENML_CBOR) ? ContentFormat.SENML_CBOR : fallback);

describe('preferredFormat (writes and creates without data.contentFormat)', () => {
  it('LwM2M 1.0 without an announcement: TLV', () => {
    expect(preferredFormat({ lwm2mVersion: '1.0', contentFormats: [] })).toBe(ContentFormat.TLV);
  });

  it('LwM2M 1.1 and 1.2 without an announcement: SenML CBOR (TLV until the codec exists)', () => {
    expect(preferredFormat({ lwm2mVersion: '1.1', contentFormats: [] })).toBe(senmlCborOr(ContentFormat.TLV));
    expect(preferredFormat({ lwm2mVersion: '1.2', contentFormats: [] })).toBe(senmlCborOr(ContentFormat.TLV));
  });

  it('LwM2M CBOR only for a 1.2 device that announces it', () => {
    expect(preferredFormat({ lwm2mVersion: '1.2', contentFormats: [ContentFormat.LWM2M_CBOR, ContentFormat.TLV] })).toBe(ContentFormat.LWM2M_CBOR);
    expect(preferredFormat({ lwm2mVersion: '1.1', contentFormats: [ContentFormat.LWM2M_CBOR, ContentFormat.TLV] })).toBe(ContentFormat.TLV);
  });

  it('an announcement decides: compact formats first, unsupported ones skipped', () => {
    expect(preferredFormat({ lwm2mVersion: '1.0', contentFormats: [ContentFormat.OMA_JSON] })).toBe(ContentFormat.OMA_JSON);
    expect(preferredFormat({ lwm2mVersion: '1.1', contentFormats: [ContentFormat.SENML_JSON, ContentFormat.TLV] })).toBe(ContentFormat.TLV);
    expect(preferredFormat({ lwm2mVersion: '1.1', contentFormats: [ContentFormat.SENML_JSON] })).toBe(ContentFormat.SENML_JSON);
    expect(preferredFormat({ lwm2mVersion: '1.1', contentFormats: [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON] })).toBe(senmlCborOr(ContentFormat.SENML_JSON));
    // Nothing usable announced: the version's default.
    expect(preferredFormat({ lwm2mVersion: '1.0', contentFormats: [65000] })).toBe(ContentFormat.TLV);
  });
});
