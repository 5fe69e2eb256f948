/** Thrown by every codec for a payload or node it cannot decode or encode. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}
