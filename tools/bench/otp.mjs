// RFC 4226/6238 (SHA-1, 6 digits, 30 s) written out with node:crypto, shared by the bench runner
// (seeding, right codes) and the raw baseline handler, which must not go through the core.
import { createHmac } from "node:crypto"

export const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

export const b32decode = (s) => {
  let bits = 0, value = 0
  const out = []
  for (const c of s.replace(/=+$/, "")) {
    value = (value << 5) | B32.indexOf(c)
    bits += 5
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8 }
  }
  return Buffer.from(out)
}

export const hotp = (key, counter) => {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const h = createHmac("sha1", key).update(msg).digest()
  const o = h[19] & 15
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, "0")
}

export const totp = (secretB32, now = Date.now()) => hotp(b32decode(secretB32), Math.floor(now / 30_000))
