// The path(s) a router layer was mounted with, on Express 5 (router ≥ 2.3 keeps them) and Express 4 (read back from its regexp).

/** The paths a layer was mounted with (several for `use(['/a', '/b'], …)`), or why they cannot be told. */
export type MountPaths = string[] | { unproven: string };

/** A router layer as both Express majors build it; only what is read here. */
export interface MountLayer {
  /** Router 2.3 (Express 5): the path given to `use()`, a list flattened. */
  rawPath?: unknown;
  /** Express 4: path-to-regexp 0.1's regexp of that path, and the parameter keys it found. */
  regexp?: unknown;
  keys?: unknown;
}

/** The mount paths of `layer`; the string form of each is the one given to `use()` (up to a trailing slash). */
export function mountPathsOf(layer: MountLayer): MountPaths {
  if ('rawPath' in layer) return fromList(layer.rawPath);
  if (layer.regexp instanceof RegExp && Array.isArray(layer.keys)) return fromExpress4Regexp(layer.regexp, layer.keys);
  return { unproven: 'this version of the router package does not keep mount paths (Express 4 or router 2.3 do)' };
}

/** A mount path as `app.mountpath` or router 2.3's `rawPath` hold it: a string, a RegExp or a list of them. */
export function fromList(value: unknown): MountPaths {
  const list = Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
  if (list.length > 0 && list.every((path) => typeof path === 'string')) return list as string[];
  return { unproven: 'a mount path is a RegExp' };
}

// path-to-regexp 0.1 (Express 4) compiles `use('/users/:uid', …)` to /^\/users(?:\/([^\/]+?))\/?(?=\/|$)/i
// and a list to the alternation of each path's regexp. Reading one back accepts exactly the pieces it emits
// for literal segments and `/:name` / `/:name?` parameters; anything else (RegExp mounts, `*`, custom
// captures, `.:format`) is left unproven rather than guessed.
const END = String.raw`\/?(?=\/|$)`;
/** A `/:name` parameter (RegExp#source escapes `/` outside character classes only, engines differ inside). */
const PARAMS = [String.raw`(?:\/([^/]+?))`, String.raw`(?:\/([^\/]+?))`];
/** Characters path-to-regexp 0.1 copies into the regexp unchanged that are no regexp syntax either. */
const LITERAL = /^[A-Za-z0-9_~\-!$&'=@,;%]/;

function fromExpress4Regexp(regexp: RegExp, keys: unknown[]): MountPaths {
  const unproven = { unproven: `a mount path is a pattern this package cannot read back (${regexp.source})` };
  const source = regexp.source;
  const paths: string[] = [];
  let at = 0;
  let key = 0;
  while (at < source.length) {
    if (source[at] !== '^') return unproven;
    at++;
    let path = '';
    while (!source.startsWith(END, at)) {
      const param = PARAMS.find((form) => source.startsWith(form, at));
      if (param !== undefined) {
        const { name, optional } = (keys[key++] ?? {}) as { name?: unknown; optional?: unknown };
        if (typeof name !== 'string') return unproven;
        at += param.length;
        const marked = source[at] === '?';
        if (marked !== (optional === true)) return unproven;
        if (marked) at++;
        path += `/:${name}${marked ? '?' : ''}`;
      } else if (source.startsWith(String.raw`\/`, at)) {
        path += '/';
        at += 2;
      } else if (source.startsWith(String.raw`\.`, at)) {
        path += '.';
        at += 2;
      } else if (LITERAL.test(source.slice(at, at + 1))) {
        path += source[at];
        at++;
      } else {
        return unproven;
      }
    }
    at += END.length;
    paths.push(path);
    if (at < source.length && source[at++] !== '|') return unproven;
  }
  return paths.length > 0 && key === keys.length ? paths : unproven;
}
