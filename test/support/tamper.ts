/**
 * A MAC, token or sealed value with one character changed: always different from the
 * original, and never in the last character, whose low bits a base64url decoder may
 * ignore (replacing the last two characters with `AA` left the value unchanged whenever
 * it already ended that way: a test that failed about one run in a few hundred).
 */
export function tampered(text: string, at = Math.floor(text.length / 2)): string {
  if (at < 0 || at >= text.length - 1) throw new RangeError(`tampered: position ${at} is not inside "${text}" (the last character is left alone)`);
  return `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
}
