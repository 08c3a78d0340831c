/**
 * QR code images of TOTP key URIs, as PNG (SPEC 2.5).
 *
 * The text is a key URI that holds the user's secret: it is never logged, and never put in an
 * error.
 *
 * A QR code holds at most 2,331 bytes (version 40, error correction M), or 3,391 characters of the
 * alphanumeric set that percent-encoding mostly produces. The limits of the v1 inputs allow more:
 * a tenant name (written twice), a user id and a secret of 128 characters each, each character up
 * to 9 once percent-encoded (18 for a secret, whose upper case can be three characters), make key
 * URIs of up to about 5,800 characters. Those are refused as a 400 {@link InvalidPayload} that
 * says which parts take the room; they are never a 5xx.
 *
 * @since 0.0.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { PNG } from "pngjs"
import QRCode from "qrcode"
import { InvalidPayload } from "../domain/errors.js"
import { encodedKeyUriParts, totpKeyUri, type TotpKeyUriParts } from "./keyUri.js"

/**
 * No longer raised: a text that cannot be made into a QR code is an {@link InvalidPayload} (400).
 * @deprecated since the QR functions fail with `InvalidPayload`.
 * @since 0.0.0
 */
export class QrError extends Data.TaggedError("QrError")<{ readonly message: string }> {}

/** Error correction M (15%), the usual choice for screens; a quiet zone of 4 modules (ISO 18004). */
const ERROR_CORRECTION = "M"
const MARGIN = 4
/** The width aimed at, in pixels. */
const TARGET_WIDTH = 256

/** The symbol of `text`, or undefined when it does not fit (the only way `create` fails on a non-empty string). */
const symbolOf = (text: string) => {
  try {
    return QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION }).modules
  } catch {
    return undefined
  }
}

const tooLong = (text: string) =>
  new InvalidPayload({
    message:
      text.length === 0
        ? "There is no text to put in the QR code"
        : `The text (${text.length} characters) is too long for a QR code`
  })

/** Grey levels of the image: one byte per pixel. */
const DARK = 0
const LIGHT = 255

/** Draws a symbol as a greyscale PNG (a failure here is a bug, not bad input). */
const draw = (modules: QRCode.BitMatrix): Uint8Array => {
  const size = modules.size
  const scale = Math.max(1, Math.round(TARGET_WIDTH / (size + 2 * MARGIN)))
  const width = (size + 2 * MARGIN) * scale
  const pixels = Buffer.alloc(width * width, LIGHT)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!modules.get(y, x)) continue
      const left = (x + MARGIN) * scale
      for (let row = (y + MARGIN) * scale, end = row + scale; row < end; row++) {
        pixels.fill(DARK, row * width + left, row * width + left + scale)
      }
    }
  }
  // Not `new PNG({ width, height })`: it would allocate (and zero) an RGBA buffer never used.
  const png = new PNG()
  png.width = width
  png.height = width
  png.data = pixels
  const encoded = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8, filterType: 0 })
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength)
}

/**
 * The PNG of the QR code of `text`: black on white, error correction M, a 4-module quiet zone,
 * about 256 pixels wide. Each module is a whole number of pixels (a scale is chosen from the
 * symbol's size rather than forcing an exact width, which would make modules of unequal widths).
 * An empty text, or one too long for a QR code, is an {@link InvalidPayload}.
 *
 * The symbol is made once and drawn here as an 8-bit greyscale image encoded synchronously with
 * pngjs, without row filters: `QRCode.toBuffer` made the symbol a second time, drew RGBA pixels
 * and tried every PNG filter on every row through a stream and zlib's thread pool, about four
 * times the CPU for the same picture (11 ms against 2.5-3 ms here; docs/performance.md).
 * @since 0.0.0
 */
export const qrPng = (text: string): Effect.Effect<Uint8Array, InvalidPayload> =>
  Effect.suspend(() => {
    const modules = text.length === 0 ? undefined : symbolOf(text)
    return modules === undefined ? Effect.fail(tooLong(text)) : Effect.succeed(draw(modules))
  })

/**
 * The QR code of `text` as a `data:image/png;base64,...` URI (the `qrImage` of SPEC 2.5), so the
 * secret never travels in a URL of its own.
 * @since 0.0.0
 */
export const qrPngDataUri = (text: string): Effect.Effect<string, InvalidPayload> =>
  Effect.map(qrPng(text), dataUri)

const dataUri = (png: Uint8Array) =>
  `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64")}`

/**
 * How the parts of a key URI are named in an error: by default as the query parameters of
 * `GET /v1/images/totp`.
 * @since 0.0.0
 */
export interface KeyUriPartNames {
  readonly issuer: string
  readonly account: string
  readonly secret: string
}

const queryNames: KeyUriPartNames = { issuer: "tenantName", account: "userId", secret: "userSecret" }

const keyUriTooLong = (parts: TotpKeyUriParts, names: KeyUriPartNames, uriLength: number) => {
  const encoded = encodedKeyUriParts(parts)
  const n = (x: number) => x.toLocaleString("en-US")
  return new InvalidPayload({
    message:
      `The key URI is too long for a QR code (${n(uriLength)} characters): once percent-encoded, ` +
      `${names.issuer} takes ${n(encoded.issuer.length)} (written twice), ${names.account} ${n(encoded.account.length)} ` +
      `and ${names.secret} ${n(encoded.secret.length)}; shorten them (ASCII letters and digits take the least room)`
  })
}

/**
 * The PNG of the QR code of a TOTP key URI ({@link totpKeyUri}). A key URI too long for a QR code
 * is an {@link InvalidPayload} whose message says how long each part is once encoded (named as
 * `names` says; never quoted).
 * @since 0.0.0
 */
export const totpQrPng = (
  parts: TotpKeyUriParts,
  names: KeyUriPartNames = queryNames
): Effect.Effect<Uint8Array, InvalidPayload> =>
  Effect.suspend(() => {
    const uri = totpKeyUri(parts)
    const modules = symbolOf(uri)
    return modules === undefined ? Effect.fail(keyUriTooLong(parts, names, uri.length)) : Effect.succeed(draw(modules))
  })

/**
 * {@link totpQrPng} as a `data:image/png;base64,...` URI (the `qrImage` of SPEC 2.5).
 * @since 0.0.0
 */
export const totpQrPngDataUri = (
  parts: TotpKeyUriParts,
  names: KeyUriPartNames = queryNames
): Effect.Effect<string, InvalidPayload> => Effect.map(totpQrPng(parts, names), dataUri)
