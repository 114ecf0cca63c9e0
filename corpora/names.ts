// Member names. They become paths when someone runs `unzip` on a corpus, so only plain relative
// paths are allowed: segments of letters, digits and `._+-`, separated by single `/`.

/** The member that describes the corpus; written by the writer itself, last. */
export const MANIFEST_NAME = 'manifest.json';

const MAX_NAME_LENGTH = 255;
const SEGMENT = /^[A-Za-z0-9._+-]+$/;

/** Why `name` is not an acceptable member name, or undefined when it is. */
export function memberNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a member name must be a non-empty string';
  if (name.length > MAX_NAME_LENGTH) return `a member name must be at most ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith('/')) return 'a member name must be relative (no leading "/")';
  if (name.includes('\\')) return 'a member name must use "/" as separator (no "\\")';
  if (name.endsWith('/')) return 'a member name must name a file (no trailing "/")';
  for (const segment of name.split('/')) {
    if (segment === '') return 'a member name must not contain empty segments ("//")';
    if (segment === '.' || segment === '..') return `a member name must not contain "${segment}" segments`;
    if (!SEGMENT.test(segment)) return 'a member name may only use letters, digits, "._+-" and "/"';
  }
  return undefined;
}
