/**
 * The cryptography of the service: one-time passwords, key URIs, token encoding and hashing,
 * sealing of secrets at rest, and QR images.
 *
 * @since 0.0.0
 */
export {
  base32Decode,
  base32Encode,
  type HashAlgorithm,
  hotp,
  type OtpOptions,
  TOTP_DIGITS,
  TOTP_MIN_SECRET_BYTES,
  TOTP_PERIOD_SECONDS,
  totpAt,
  type TotpOptions,
  totpStep,
  verifyTotp
} from "./otp.js"
export { encodedKeyUriParts, totpKeyUri, type TotpKeyUriParts } from "./keyUri.js"
export { constantTimeEqual, encodeToken, hashToken, isWellFormedToken } from "./tokens.js"
export {
  type Keyring,
  type KeyedHash,
  KeyringError,
  makeSealer,
  parseKeyring,
  sealedKeyId,
  SealError,
  type SealFailure,
  layerSealer,
  Sealer,
  type SealerService,
  validateKeyring
} from "./Sealer.js"
export { type KeyUriPartNames, QrError, qrPng, qrPngDataUri, totpQrPng, totpQrPngDataUri } from "./qr.js"
export {
  formatRecoveryCode,
  isRecoveryCode,
  normalizeCode,
  RECOVERY_ALPHABET,
  RECOVERY_CODE_LENGTH,
  randomDigits,
  randomMatchNumbers,
  randomRecoveryCode
} from "./codes.js"
