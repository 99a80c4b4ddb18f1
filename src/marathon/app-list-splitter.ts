/**
 * Splits Marathon's `GET /v2/apps` answer, `{"apps":[{…},{…},…]}`, into its apps while the body
 * arrives, so that pacer never holds the whole document: neither its bytes (about 55 MB at 10,000
 * apps × 10 tasks) nor its text nor the parsed tree of all apps at once. Each app's bytes are
 * collected until the app ends, parsed with `JSON.parse` and handed on; they are garbage before the
 * next app is read.
 *
 * Only the outer skeleton (the top-level object, its keys, the `apps` array and the commas between
 * its elements) is scanned here, byte by byte; every value is checked by `JSON.parse` itself. So a
 * document is accepted exactly when `JSON.parse` of the whole would accept it, with one exception:
 * two `apps` keys (where `JSON.parse` keeps the last) are refused. Multi-byte UTF-8 characters may
 * straddle chunks: an app's bytes are decoded once it is complete.
 */

/** The document is not `{"apps":[…]}` JSON; the message says where. */
export class AppListSyntaxError extends Error {
  override readonly name = 'AppListSyntaxError';
}

// Where the scanner is in the outer skeleton.
const DOC = 0; // before the top-level `{`
const FIRST_KEY = 1; // after `{`: a key or `}`
const KEY = 2; // after `,`: a key
const IN_KEY = 3; // inside a key string
const COLON = 4; // after a key
const VALUE = 5; // after `:`
const AFTER_VALUE = 6; // after a value: `,` or `}`
const FIRST_ELEMENT = 7; // after `apps: [`: an element or `]`
const ELEMENT = 8; // after `,` in the array: an element
const CAPTURE = 9; // inside a value (an app, or another top-level value)
const DONE = 10; // after the top-level `}`: whitespace only

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON_BYTE = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function describe(b: number): string {
  return b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

export class AppListSplitter {
  readonly #onApp: (json: unknown, index: number) => void;
  #state = DOC;
  /** Bytes consumed before the current chunk (for error positions). */
  #offset = 0;
  /** The key, once complete. */
  #key = '';
  #sawApps = false;
  #apps = 0;
  /** The bytes so far of the key or value being read (one at a time). */
  #parts: Uint8Array[] = [];
  // The value being captured: its nesting, string state, and whether it is an app.
  #nest = 0;
  #inString = false;
  #escaped = false;
  #isApp = false;

  constructor(onApp: (json: unknown, index: number) => void) {
    this.#onApp = onApp;
  }

  /** Apps handed on so far. */
  get apps(): number {
    return this.#apps;
  }

  /** Scan the next chunk of the body. Throws AppListSyntaxError (or what `onApp` throws). */
  write(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    // Where the current capture (or key) began in this chunk.
    let start = this.#state === CAPTURE || this.#state === IN_KEY ? 0 : -1;
    while (i < n) {
      const state = this.#state;
      if (state === CAPTURE || state === IN_KEY) {
        // Where the value (or key) ends in this chunk, if it does.
        const end = state === CAPTURE ? this.#scanValue(chunk, i) : this.#scanKey(chunk, i);
        if (end < 0) {
          this.#parts.push(chunk.subarray(start, n));
          break;
        }
        this.#parts.push(chunk.subarray(start, end));
        start = -1;
        if (state === CAPTURE) this.#endCapture(chunk[end]!, end);
        else this.#endKey(end);
        i = end + 1;
        continue;
      }
      const b = chunk[i]!;
      i++;
      if (isSpace(b)) continue;
      switch (state) {
        case DOC:
          if (b !== OPEN_BRACE) this.#fail(`the app list is not an object (it starts with ${describe(b)})`, i - 1);
          this.#state = FIRST_KEY;
          break;
        case FIRST_KEY:
        case KEY:
          if (b === QUOTE) {
            this.#state = IN_KEY;
            this.#parts = [];
            this.#escaped = false;
            start = i;
          } else if (b === CLOSE_BRACE && state === FIRST_KEY) this.#state = DONE;
          else this.#fail(`expected a key, found ${describe(b)}`, i - 1);
          break;
        case COLON:
          if (b !== COLON_BYTE) this.#fail(`expected ':' after "${this.#key.slice(0, 40)}", found ${describe(b)}`, i - 1);
          this.#state = VALUE;
          break;
        case VALUE:
          if (this.#key === 'apps') {
            if (this.#sawApps) this.#fail('two "apps" keys', i - 1);
            this.#sawApps = true;
            if (b !== OPEN_BRACKET) this.#fail(`"apps" is not an array (it starts with ${describe(b)})`, i - 1);
            this.#state = FIRST_ELEMENT;
            break;
          }
          start = this.#beginCapture(false, --i, b);
          break;
        case AFTER_VALUE:
          if (b === COMMA) this.#state = KEY;
          else if (b === CLOSE_BRACE) this.#state = DONE;
          else this.#fail(`expected ',' or '}', found ${describe(b)}`, i - 1);
          break;
        case FIRST_ELEMENT:
          if (b === CLOSE_BRACKET) {
            this.#state = AFTER_VALUE;
            break;
          }
          start = this.#beginCapture(true, --i, b);
          break;
        case ELEMENT:
          start = this.#beginCapture(true, --i, b);
          break;
        case DONE:
          this.#fail(`${describe(b)} after the end of the document`, i - 1);
      }
    }
    this.#offset += n;
  }

  /** The body ended: the document must be complete and have had an `apps` array. */
  end(): void {
    if (this.#state !== DONE) this.#fail('the document ends early', 0);
    if (!this.#sawApps) throw new AppListSyntaxError('the app list has no "apps" array');
  }

  /**
   * The hot loop: the bytes of an app (or other value) from `from`. Returns where it ends (the `,`
   * `}` or `]` outside any nesting and string), or -1 when the chunk ends first (the nesting and
   * string state are kept for the next chunk).
   */
  #scanValue(chunk: Uint8Array, from: number): number {
    let nest = this.#nest;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let end = -1;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) nest++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (nest === 0) {
          end = i;
          break;
        }
        nest--;
      } else if (b === COMMA && nest === 0) {
        end = i;
        break;
      }
    }
    this.#nest = nest;
    this.#inString = inString;
    this.#escaped = escaped;
    return end;
  }

  /** Where the key being read ends (its closing quote) from `from`, or -1 when the chunk ends first. */
  #scanKey(chunk: Uint8Array, from: number): number {
    let escaped = this.#escaped;
    let end = -1;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) {
        end = i;
        break;
      }
    }
    this.#escaped = escaped;
    return end;
  }

  /** Starts capturing the value whose first byte `b` is at `at` (scanned again by the capture loop); returns `at`. */
  #beginCapture(isApp: boolean, at: number, b: number): number {
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET) this.#fail(`expected a value, found ${describe(b)}`, at);
    this.#state = CAPTURE;
    this.#isApp = isApp;
    this.#parts = [];
    this.#nest = 0;
    this.#inString = false;
    this.#escaped = false;
    return at;
  }

  /** The capture ended at byte `terminator` (`,` `}` or `]` outside any nesting) at `at`. */
  #endCapture(terminator: number, at: number): void {
    const parts = this.#parts;
    this.#parts = [];
    const text = (parts.length === 1 ? Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength) : Buffer.concat(parts)).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const what = this.#isApp ? `apps[${this.#apps}]` : `"${this.#key.slice(0, 40)}"`;
      throw new AppListSyntaxError(`${what} is not JSON: ${(error as Error).message}`);
    }
    if (this.#isApp) {
      if (terminator === CLOSE_BRACE) this.#fail("expected ',' or ']' after an app, found '}'", at);
      this.#onApp(value, this.#apps++);
      this.#state = terminator === COMMA ? ELEMENT : AFTER_VALUE;
    } else {
      if (terminator === CLOSE_BRACKET) this.#fail("expected ',' or '}', found ']'", at);
      this.#state = terminator === COMMA ? KEY : DONE;
    }
  }

  #endKey(at: number): void {
    const raw = Buffer.concat(this.#parts).toString('utf8');
    this.#parts = [];
    try {
      this.#key = JSON.parse(`"${raw}"`) as string;
    } catch {
      this.#fail('a key is not a JSON string', at);
    }
    this.#state = COLON;
  }

  #fail(reason: string, at: number): never {
    throw new AppListSyntaxError(`${reason} at byte ${this.#offset + at}`);
  }
}
