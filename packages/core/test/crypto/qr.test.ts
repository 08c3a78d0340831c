/**
 * QR images (src/crypto/qr.ts). No QR decoder is installed, so the PNG is decoded here (node:zlib
 * and the PNG filters) and its pixels are compared with the module matrix of the text.
 */
import { crc32, inflateSync } from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import QRCode from "qrcode"
import { TotpImageParams } from "../../src/contract/params.js"
import { encodedKeyUriParts, totpKeyUri } from "../../src/crypto/keyUri.js"
import { qrPng, qrPngDataUri, totpQrPng, totpQrPngDataUri } from "../../src/crypto/qr.js"

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

interface Chunk {
  readonly type: string
  readonly data: Buffer
}

/** The chunks of a PNG, checking each one's CRC. */
const chunksOf = (png: Uint8Array): Array<Chunk> => {
  const buffer = Buffer.from(png)
  expect([...buffer.subarray(0, 8)]).toEqual(PNG_SIGNATURE)
  const chunks: Array<Chunk> = []
  let offset = 8
  while (offset < buffer.length) {
    const length = buffer.readUInt32BE(offset)
    const type = buffer.subarray(offset + 4, offset + 8).toString("latin1")
    const data = buffer.subarray(offset + 8, offset + 8 + length)
    expect(buffer.readUInt32BE(offset + 8 + length)).toBe(crc32(buffer.subarray(offset + 4, offset + 8 + length)))
    chunks.push({ type, data })
    offset += 12 + length
  }
  expect(offset).toBe(buffer.length)
  return chunks
}

/** Decodes an 8-bit, non-interlaced PNG into rows of grey levels (alpha ignored). */
const decodePng = (png: Uint8Array) => {
  const chunks = chunksOf(png)
  expect(chunks[0]!.type).toBe("IHDR")
  expect(chunks.at(-1)!.type).toBe("IEND")
  const ihdr = chunks[0]!.data
  const width = ihdr.readUInt32BE(0)
  const height = ihdr.readUInt32BE(4)
  const [bitDepth, colorType, , , interlace] = [...ihdr.subarray(8, 13)]
  expect(bitDepth).toBe(8)
  expect(interlace).toBe(0)
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType!]!
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)))
  const stride = width * channels
  expect(raw.length).toBe(height * (stride + 1))
  const rows: Array<Uint8Array> = []
  let previous = new Uint8Array(stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const row = new Uint8Array(stride)
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? row[x - channels]! : 0
      const b = previous[x]!
      const c = x >= channels ? previous[x - channels]! : 0
      const p = a + b - c
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)]
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!
      row[x] = (line[x]! + predictor) & 0xff
    }
    rows.push(row)
    previous = row
  }
  const grey = (x: number, y: number) => rows[y]![x * channels]!
  return { width, height, grey }
}

const uri = totpKeyUri({ issuer: "ACME Co", account: "alice@example.com", secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" })

describe("qrPng", () => {
  it.effect("is a valid PNG of about 256 px, with whole-pixel modules", () =>
    Effect.gen(function* () {
      const png = yield* qrPng(uri)
      expect(png).toBeInstanceOf(Uint8Array)
      expect(png.byteLength).toBeGreaterThan(200)
      expect(png.byteLength).toBeLessThan(20_000)
      const { height, width } = decodePng(png)
      expect(width).toBe(height)
      expect(width).toBeGreaterThanOrEqual(200)
      expect(width).toBeLessThanOrEqual(320)
      const modules = QRCode.create(uri, { errorCorrectionLevel: "M" }).modules.size
      expect(width % (modules + 8)).toBe(0)
    })
  )

  it.effect("its pixels are the QR symbol of the text (error correction M, 4-module quiet zone)", () =>
    Effect.gen(function* () {
      const { grey, width } = decodePng(yield* qrPng(uri))
      const qr = QRCode.create(uri, { errorCorrectionLevel: "M" })
      expect(qr.errorCorrectionLevel.bit).toBe(QRCode.create("x", { errorCorrectionLevel: "M" }).errorCorrectionLevel.bit)
      const size = qr.modules.size
      const scale = width / (size + 8)
      for (let y = 0; y < size + 8; y++) {
        for (let x = 0; x < size + 8; x++) {
          const inSymbol = x >= 4 && y >= 4 && x < size + 4 && y < size + 4
          const dark = inSymbol && qr.modules.get(y - 4, x - 4) === 1
          // Every pixel of the module has the module's colour.
          for (const [dx, dy] of [[0, 0], [scale - 1, 0], [0, scale - 1], [scale - 1, scale - 1]] as const) {
            expect(grey(x * scale + dx, y * scale + dy)).toBe(dark ? 0 : 255)
          }
        }
      }
    })
  )

  it.effect("fails with an InvalidPayload (400) that does not contain the text", () =>
    Effect.gen(function* () {
      const empty = yield* Effect.flip(qrPng(""))
      expect(empty._tag).toBe("InvalidPayload")
      const secretText = `otpauth://totp/x?secret=${"A".repeat(5000)}`
      const tooLong = yield* Effect.flip(qrPng(secretText))
      expect(tooLong._tag).toBe("InvalidPayload")
      expect(tooLong.message).not.toContain("AAAA")
      expect(tooLong.message).toContain(`${secretText.length} characters`)
    })
  )
})

describe("qrPngDataUri", () => {
  it.effect("is data:image/png;base64, then the PNG", () =>
    Effect.gen(function* () {
      const dataUri = yield* qrPngDataUri(uri)
      const prefix = "data:image/png;base64,"
      expect(dataUri.startsWith(prefix)).toBe(true)
      const body = dataUri.slice(prefix.length)
      expect(body).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
      const png = new Uint8Array(Buffer.from(body, "base64"))
      expect(png).toEqual(yield* qrPng(uri))
      expect(decodePng(png).width).toBeGreaterThanOrEqual(200)
    })
  )

  it.effect("fails with an InvalidPayload on empty text", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(qrPngDataUri("")))._tag).toBe("InvalidPayload")
    })
  )
})

/**
 * Characters by the room they take in a key URI: ASCII (lower case is byte mode in the QR code,
 * upper case and digits alphanumeric), 2, 3 and 4 bytes of UTF-8 (each byte 3 characters once
 * percent-encoded), a lone surrogate (written as U+FFFD), and, for the secret, characters whose
 * upper case is three characters of 2 bytes ("ΐ": 18 characters once encoded).
 */
const kinds = ["a", "Z9", "é", "中", "😀", "\uD800", "ΐ", " "]
/** The longest string of `kind` that 128 characters (UTF-16 code units, as the schema counts) allow. */
const longest = (kind: string) => kind.repeat(Math.floor(128 / kind.length))

describe("totpQrPng: the largest inputs the contract allows", () => {
  it.effect("every combination at the length limits is a PNG or a 400 naming the parts, never anything else", () =>
    Effect.gen(function* () {
      const outcomes = { png: 0, refused: 0 }
      for (const issuerKind of kinds) {
        for (const accountKind of kinds) {
          for (const secretKind of kinds) {
            const query = { tenantName: longest(issuerKind), userId: longest(accountKind), userSecret: longest(secretKind) }
            // Allowed by the query's schema: these are requests the endpoint must answer.
            expect(Either.isRight(Schema.decodeUnknownEither(TotpImageParams)(query))).toBe(true)
            const parts = { issuer: query.tenantName, account: query.userId, secret: query.userSecret }
            const result = yield* Effect.either(totpQrPng(parts))
            if (Either.isRight(result)) {
              expect(chunksOf(result.right)[0]!.type).toBe("IHDR")
              outcomes.png++
              continue
            }
            outcomes.refused++
            const error = result.left
            expect(error._tag).toBe("InvalidPayload")
            expect(error.message.length).toBeLessThanOrEqual(300)
            for (const name of ["tenantName", "userId", "userSecret"]) expect(error.message).toContain(name)
            const encoded = encodedKeyUriParts(parts)
            for (const value of [...Object.values(parts), ...Object.values(encoded)]) {
              if (value.length >= 8) expect(error.message).not.toContain(value.slice(0, 8))
            }
          }
        }
      }
      // The limits allow both.
      expect(outcomes.png).toBeGreaterThan(0)
      expect(outcomes.refused).toBeGreaterThan(0)
    }), 120_000)

  it.effect("a tenant name and a user id of 128 CJK characters are too long together, with an ordinary secret", () =>
    Effect.gen(function* () {
      const parts = { issuer: longest("中"), account: longest("中"), secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" }
      const error = yield* Effect.flip(totpQrPngDataUri(parts, { issuer: "the tenant's name", account: "userId", secret: "the secret" }))
      expect(error).toMatchObject({ _tag: "InvalidPayload" })
      expect(error.message).toBe(
        "The key URI is too long for a QR code (3,554 characters): once percent-encoded, the tenant's name takes 1,152 " +
          "(written twice), userId 1,152 and the secret 32; shorten them (ASCII letters and digits take the least room)"
      )
    }))

  it.effect("at their limits, ASCII parts and 2-byte characters fit", () =>
    Effect.gen(function* () {
      for (const kind of ["a", "é", "😀"]) {
        const parts = { issuer: longest(kind), account: longest(kind), secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" }
        const png = yield* totpQrPng(parts)
        // The same image as the QR code of the key URI.
        expect(png).toEqual(yield* qrPng(totpKeyUri(parts)))
      }
      expect(yield* totpQrPngDataUri({ issuer: "ACME Co", account: "alice@example.com", secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" })).toBe(
        yield* qrPngDataUri(uri)
      )
    }))
})
