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

/**
 * The PNG of the QR code of `text`: black on white, error correction M, a 4-module quiet zone,
 * about 256 pixels wide. Each module is a whole number of pixels (a scale is chosen from the
 * symbol's size rather than forcing an exact width, which would make modules of unequal widths).
 * @since 0.0.0
 */
export const qrPng = (text: string): Effect.Effect<Uint8Array, QrError> =>
  Effect.try({
    try: () => QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION }).modules.size,
    catch: () => failure(text)
  }).pipe(
    Effect.flatMap((size) =>
      Effect.tryPromise({
        try: () =>
          QRCode.toBuffer(text, {
            type: "png",
            errorCorrectionLevel: ERROR_CORRECTION,
            margin: MARGIN,
            scale: Math.max(1, Math.round(TARGET_WIDTH / (size + 2 * MARGIN)))
          }),
        catch: () => failure(text)
      })
    ),
    Effect.map((png) => new Uint8Array(png.buffer, png.byteOffset, png.byteLength))
  )

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
