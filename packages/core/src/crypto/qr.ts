/**
 * QR code images of TOTP key URIs, as PNG (SPEC 2.5).
 *
 * The text is a key URI that holds the user's secret: it is never logged, and never put in an
 * error.
 *
 * @since 0.0.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { PNG } from "pngjs"
import QRCode from "qrcode"

/**
 * The QR code could not be made (empty text, or too much of it for a QR code). The message does
 * not contain the text.
 * @since 0.0.0
 */
export class QrError extends Data.TaggedError("QrError")<{ readonly message: string }> {}

/** Error correction M (15%), the usual choice for screens; a quiet zone of 4 modules (ISO 18004). */
const ERROR_CORRECTION = "M"
const MARGIN = 4
/** The width aimed at, in pixels. */
const TARGET_WIDTH = 256

const failure = (text: string) =>
  new QrError({
    message:
      text.length === 0
        ? "There is no text to put in the QR code"
        : `The text (${text.length} characters) cannot be made into a QR code`
  })

/** Grey levels of the image: one byte per pixel. */
const DARK = 0
const LIGHT = 255

/**
 * The PNG of the QR code of `text`: black on white, error correction M, a 4-module quiet zone,
 * about 256 pixels wide. Each module is a whole number of pixels (a scale is chosen from the
 * symbol's size rather than forcing an exact width, which would make modules of unequal widths).
 *
 * The symbol is made once and drawn here as an 8-bit greyscale image encoded synchronously with
 * pngjs, without row filters: `QRCode.toBuffer` made the symbol a second time, drew RGBA pixels
 * and tried every PNG filter on every row through a stream and zlib's thread pool, about four
 * times the CPU for the same picture (11 ms against 2.5-3 ms here; docs/performance.md).
 * @since 0.0.0
 */
export const qrPng = (text: string): Effect.Effect<Uint8Array, QrError> =>
  Effect.try({
    try: () => {
      const modules = QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION }).modules
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
      return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8, filterType: 0 })
    },
    catch: () => failure(text)
  }).pipe(Effect.map((png) => new Uint8Array(png.buffer, png.byteOffset, png.byteLength)))

/**
 * The QR code of `text` as a `data:image/png;base64,...` URI (the `qrImage` of SPEC 2.5), so the
 * secret never travels in a URL of its own.
 * @since 0.0.0
 */
export const qrPngDataUri = (text: string): Effect.Effect<string, QrError> =>
  Effect.map(
    qrPng(text),
    (png) => `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64")}`
  )
