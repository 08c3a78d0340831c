// The CPU of building one sign-in message's text, without SMTP: the transport's buildRawMessage
// against nodemailer's MailComposer (compile + build, what sendMail did per message before).
// node tools/bench/experiments/mail-build-micro.mjs <a core dist folder with RawMessage.js>
// Prints microseconds per message of 3 rounds of 5,000 each.
import { randomUUID } from "node:crypto"
const d = (await import("node:path")).resolve(process.argv[2])
const core = await import(`${d}/index.js`)
const { buildRawMessage, makeSender } = await import(`${d}/mail/smtp/RawMessage.js`)
const { Either } = await import("effect")
const MailComposer = (await import("nodemailer/lib/mail-composer")).default
const msg = core.magicLinkMessage({ to: "someone@example.com", link: "https://app.example.com/login/" + "A".repeat(43), tenantName: "Acme", lifetimeMinutes: 15 })
const from = "Acme Sign-in <login@acme.example>"
const sender = Either.getOrThrow(makeSender("Acme Sign-in", "login@acme.example"))
const N = 5000
const ours = () => { for (let i = 0; i < N; i++) Either.getOrThrow(buildRawMessage(sender, msg, { dateMillis: Date.now(), id: randomUUID().replaceAll("-", "") })) }
const theirs = async () => { for (let i = 0; i < N; i++) await new MailComposer({ from, ...msg }).compile().build() }
for (let r = 0; r < 3; r++) {
  let t = process.cpuUsage(); ours(); let c = process.cpuUsage(t); const a = (c.user + c.system) / N
  t = process.cpuUsage(); await theirs(); c = process.cpuUsage(t); const b = (c.user + c.system) / N
  console.log(`round ${r}: buildRawMessage ${a.toFixed(1)} us, MailComposer compile+build ${b.toFixed(1)} us`)
}
