/**
 * The MIME encodings the SMTP transport's messages need, and nothing more: quoted-printable
 * bodies (RFC 2045 6.7) and RFC 2047 encoded-words for header text. Written here instead of
 * using nodemailer's MailComposer because the composer (a MIME tree, header normalisation,
 * address parsing, and a stream per part written to the socket in small chunks) was most of the
 * transport's CPU: building a sign-in message took about 200 us with it and 7-10 us with these, and
 * the transport's whole send against a local server fell from 440-600 to 240-290 us of CPU
 * (docs/performance.md, "Outbox message building (issue 18)"). Pure functions of strings, tested
 * against mailparser's decoding and nodemailer's output.
 *
 * @since 0.0.0
 */

/** A C0 control character or DEL: never allowed in a header value (CR and LF would start a new header). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * Whether a header value is free of control characters (so of CR and LF: no header injection).
 * @since 0.0.0
 */
export const isSafeHeaderValue = (value: string): boolean => !CONTROL.test(value)

/** Printable ASCII and space only. */
const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/

/**
 * Whether text can go into a header as it is: printable ASCII, and nothing a reader would take
 * for the start of an encoded-word.
 */
const isPlainHeaderText = (value: string): boolean => PRINTABLE_ASCII.test(value) && !value.includes("=?")

// The quoted-printable form of each byte inside a line: itself when it is printable ASCII other
// than "=", "=XX" otherwise (tab and space are handled apart: literal unless they end a line).
const QP_BYTE: ReadonlyArray<string> = Array.from({ length: 256 }, (_, b) =>
  b >= 33 && b <= 126 && b !== 61 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, "0")}`
)

/** An encoded line holds at most 76 characters, its soft line break "=" included. */
const QP_LINE = 76

/**
 * Quoted-printable (RFC 2045 6.7) of the UTF-8 of `text`. Line breaks (LF or CRLF) become CRLF
 * hard breaks; encoded lines are at most 76 characters, longer ones broken with soft line breaks
 * ("=" at the end), never inside an escape; a space or tab that would end a line is escaped.
 * @since 0.0.0
 */
export const quotedPrintable = (text: string): string => {
  const lines = text.split(/\r?\n/)
  let out = ""
  for (let l = 0; l < lines.length; l++) {
    if (l > 0) out += "\r\n"
    const bytes = Buffer.from(lines[l]!, "utf8")
    let length = 0
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!
      const last = i === bytes.length - 1
      const token = b === 32 || b === 9 ? (last ? QP_BYTE[b]! : String.fromCharCode(b)) : QP_BYTE[b]!
      // Room for the token and, unless it ends the line, a soft break after it.
      if (length + token.length > (last ? QP_LINE : QP_LINE - 1)) {
        out += "=\r\n"
        length = 0
      }
      out += token
      length += token.length
    }
  }
  return out
}

/**
 * UTF-8 bytes per encoded-word: 39 bytes are 52 base64 characters, 64 with "=?UTF-8?B?" and "?="
 * (RFC 2047: a word at most 75, a line holding one at most 76, so "Subject: " and a word fit).
 */
const WORD_BYTES = 39

/**
 * RFC 2047 "B" encoded-words of `text` (UTF-8), each at most 64 characters and never splitting a
 * character, joined by folding whitespace (CRLF and a space) so that every header line stays
 * short. Readers join adjacent encoded-words without the whitespace between them.
 * @since 0.0.0
 */
export const encodedWords = (text: string): string => {
  const words: Array<string> = []
  let chunk: Array<Buffer> = []
  let size = 0
  const flush = () => {
    words.push(`=?UTF-8?B?${Buffer.concat(chunk, size).toString("base64")}?=`)
    chunk = []
    size = 0
  }
  for (const c of text) {
    const bytes = Buffer.from(c, "utf8")
    if (size + bytes.length > WORD_BYTES) flush()
    chunk.push(bytes)
    size += bytes.length
  }
  if (size > 0) flush()
  return words.join("\r\n ")
}

/** A header line should stay within 78 characters (RFC 5322 2.1.1). */
const HEADER_LINE = 78

/**
 * Unstructured header text (a subject) for the header `name`: as it is when it is short printable
 * ASCII, folded at spaces when it is long printable ASCII, else as encoded-words. The value must
 * be safe ({@link isSafeHeaderValue}); this does not check it.
 * @since 0.0.0
 */
export const unstructuredHeader = (name: string, value: string): string => {
  // A word too long for a header line (998 characters at most) is encoded, and so folded.
  if (!isPlainHeaderText(value) || value.split(" ").some((word) => word.length > 900)) {
    return `${name}: ${encodedWords(value)}`
  }
  const line = `${name}: ${value}`
  if (line.length <= HEADER_LINE) return line
  // Fold before a space once the line is long; unfolding (removing the CRLF) gives the text back.
  // A word longer than 78 characters stays whole (lines may be up to 998).
  let out = ""
  let length = 0
  for (const [i, word] of line.split(" ").entries()) {
    if (i === 0) {
      out = word
      length = word.length
    } else if (length + 1 + word.length > HEADER_LINE) {
      out += `\r\n ${word}`
      length = 1 + word.length
    } else {
      out += ` ${word}`
      length += 1 + word.length
    }
  }
  return out
}

/** atext (RFC 5322 3.2.3) and spaces: a display name that needs no quotes. */
const ATOMS = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/

/**
 * A mailbox for an address header: `address` alone, or `name <address>` with the display name as
 * atoms, a quoted string (backslash-escaped) when it has specials, or encoded-words when it is
 * not printable ASCII. Both must be safe ({@link isSafeHeaderValue}); this does not check them.
 * @since 0.0.0
 */
export const mailbox = (name: string | undefined, address: string): string => {
  if (name === undefined || name === "") return address
  const display = !isPlainHeaderText(name)
    ? encodedWords(name)
    : ATOMS.test(name)
    ? name
    : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
  // The address goes on a line of its own when the encoded name's last line has no room for it
  // (a line holding an encoded-word: at most 76 characters, "From: " included).
  const lastLine = display.slice(display.lastIndexOf("\n") + 1)
  const room = display === lastLine ? 76 - "From: ".length : 76
  return `${display}${display.includes("=?") && lastLine.length + address.length + 3 > room ? "\r\n " : " "}<${address}>`
}
