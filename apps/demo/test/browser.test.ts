/**
 * The whole sign-in journey in a real browser: Debian's chromium (`/usr/bin/chromium`) driven by
 * playwright-core, against the built demo with its development mailbox. Screenshots of every page
 * go to `test-output/screenshots/`. Beyond v1 (SPEC 5): recovery codes made on the account page
 * and one used to sign in, the code from the mail used instead of the link, and the handoff: a
 * sign-in approved from a second browser context (a phone) with the right number, and one denied
 * with a wrong number.
 *
 * Without chromium the test is skipped (install it with `apt-get install chromium`), except in CI
 * (`CI` set), where it fails: CI must prove the journey.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { base32Decode, totpAt } from "@lagrello/core"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningDemo } from "./support/server.js"
import { startDemo } from "./support/server.js"

const executablePath = "/usr/bin/chromium"
const available = existsSync(executablePath)
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"
const screenshots = fileURLToPath(new URL("../test-output/screenshots/", import.meta.url))
const howTo = `install it with: apt-get update && apt-get install -y chromium (${executablePath})`

if (!available && inCi) {
  describe("the browser journey in CI", () => {
    it("needs chromium", () => {
      throw new Error(`${executablePath} is missing, and CI must run the browser test: ${howTo}`)
    })
  })
} else if (!available) {
  console.warn(`browser.test.ts: skipped, chromium is missing; ${howTo}`)
  describe.skip(`the browser journey (skipped: chromium is missing; ${howTo})`, () => {
    it("signs in with a link and an authenticator code", () => undefined)
  })
} else {
  describe("the sign-in journey in chromium", () => {
    let demo: RunningDemo
    let dir: string
    let browser: Browser
    let page: Page
    const cspViolations: Array<string> = []
    let shot = 0

    const screenshot = async (name: string, target: Page = page) => {
      shot += 1
      await target.screenshot({ path: join(screenshots, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true })
    }

    /** The newest link to `email` on the development mailbox page. */
    const linkFromMailbox = async (email: string): Promise<string> => {
      await page.goto(`${demo.url}/dev/mailbox`)
      const href = await page.locator("tbody tr", { hasText: email }).first().locator("a").first().getAttribute("href")
      expect(href).toMatch(/\/login\//)
      return href!
    }

    const submitEmail = async (email: string) => {
      await page.goto(`${demo.url}/`)
      await page.getByLabel("E-mail address").fill(email)
      await page.getByRole("button", { name: "Email me a sign-in link" }).click()
      await expect.poll(() => page.locator("h1").textContent()).toBe("Check your mail")
    }

    const enterCode = async (code: string, button: string) => {
      await page.getByLabel("6-digit code").fill(code)
      await page.getByRole("button", { name: button }).click()
      await page.waitForLoadState()
    }

    beforeAll(async () => {
      mkdirSync(screenshots, { recursive: true })
      dir = mkdtempSync(join(tmpdir(), "lagrello-demo-browser-"))
      demo = await startDemo(
        {
          DATABASE_URL: `sqlite:${join(dir, "browser.db")}`,
          LAGRELLO_ENCRYPTION_KEY: Buffer.alloc(32, 11).toString("base64"),
          LAGRELLO_TENANT_NAME: "Browser Demo"
        },
        { cwd: dir }
      )
      browser = await chromium.launch({
        executablePath,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run"
        ]
      })
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
      page.on("console", (message) => {
        if (/Content.Security.Policy|Refused to/i.test(message.text())) cspViolations.push(message.text())
      })
    }, 60_000)

    /** A new browser (its own cookies), whose CSP violations are collected too. */
    const newBrowserPage = async (options: { phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> => {
      const context = await browser.newContext(
        options.phone ? { viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 800 } }
      )
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: demo.url })
      const opened = await context.newPage()
      opened.on("console", (message) => {
        if (/Content.Security.Policy|Refused to/i.test(message.text())) cspViolations.push(message.text())
      })
      return { context, page: opened }
    }

    /** The row of the newest message to `email` on the development mailbox page. */
    const mailboxRow = async (target: Page, email: string) => {
      await target.goto(`${demo.url}/dev/mailbox`)
      return target.locator("tbody tr", { hasText: email }).first()
    }

    /** Asks for a link for `email` and opens it: signed in (no authenticator yet). */
    const signInWithLink = async (target: Page, email: string) => {
      await target.goto(`${demo.url}/`)
      await target.getByLabel("E-mail address").fill(email)
      await target.getByRole("button", { name: "Email me a sign-in link" }).click()
      await expect.poll(() => target.locator("h1").textContent()).toBe("Check your mail")
      const href = await (await mailboxRow(target, email)).locator("a").first().getAttribute("href")
      await target.goto(href!)
      await target.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => new URL(target.url()).pathname).toBe("/account")
    }

    /** Turns the authenticator on from the account page; answers its secret. */
    const setUpAuthenticator = async (target: Page) => {
      await target.getByRole("button", { name: "Set up authenticator" }).click()
      await expect.poll(() => new URL(target.url()).pathname).toBe("/account/totp")
      const text = (await target.locator("#totp-secret").textContent()) ?? ""
      const secret = base32Decode(text.replace(/\s+/g, ""))!
      await target.getByLabel("6-digit code").fill(totpAt(secret, Date.now() - 30_000))
      await target.getByRole("button", { name: "Turn on" }).click()
      await expect.poll(() => target.locator("#totp-status").textContent()).toBe("on")
      return secret
    }

    afterAll(async () => {
      await browser?.close()
      await demo?.stop()
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    })

    it("signs in with a link, sets up the authenticator, signs in with link and code, refuses replays", async () => {
      const email = "ada@example.test"

      // 1. Sign in: the e-mail address.
      await page.goto(`${demo.url}/`)
      await screenshot("sign-in")
      // The external stylesheet is applied (the CSP allows it; no inline style or script).
      const background = await page
        .getByRole("button", { name: "Email me a sign-in link" })
        .evaluate(
          (button) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(button)
              .backgroundColor
        )
      expect(background).toBe("rgb(36, 87, 214)")
      const phone = await browser.newPage({ viewport: { width: 390, height: 760 }, isMobile: true })
      await phone.goto(`${demo.url}/`)
      await screenshot("sign-in-phone", phone)
      await phone.close()

      await submitEmail(email)
      await screenshot("check-your-mail")

      // 2. The development mailbox, then the link: a confirmation page that changes nothing.
      const firstLink = await linkFromMailbox(email)
      await screenshot("mailbox")
      await page.locator("tbody tr", { hasText: email }).first().locator("a").first().click()
      await expect.poll(() => page.locator("h1").textContent()).toBe("Sign in to Browser Demo")
      expect(page.url()).toBe(firstLink)
      await screenshot("confirm")
      await page.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => new URL(page.url()).pathname).toBe("/account")
      await expect.poll(() => page.locator("#user-id").textContent()).toBe(email)
      expect(await page.locator("#totp-status").textContent()).toBe("off")
      await screenshot("account")

      // 3. Set up the authenticator: the QR image and the secret; confirm with a code.
      await page.getByRole("button", { name: "Set up authenticator" }).click()
      await expect.poll(() => new URL(page.url()).pathname).toBe("/account/totp")
      const qr = page.locator("img.qr")
      expect(await qr.getAttribute("src")).toMatch(/^data:image\/png;base64,/)
      expect(await qr.evaluate((element) => {
          const img = element as unknown as { complete: boolean; naturalWidth: number }
          return img.complete && img.naturalWidth > 0
        })).toBe(true)
      // Shown in groups of four; selecting and copying it gives the secret as one word.
      expect(await page.locator("#totp-secret span").count()).toBe(8)
      const copied = await page.locator("#totp-secret").evaluate((element) => {
        const g = globalThis as unknown as {
          document: { createRange(): { selectNodeContents(n: unknown): void } }
          getSelection(): { removeAllRanges(): void; addRange(r: unknown): void; toString(): string }
        }
        const range = g.document.createRange()
        range.selectNodeContents(element)
        const selection = g.getSelection()
        selection.removeAllRanges()
        selection.addRange(range)
        return selection.toString()
      })
      expect(copied).toMatch(/^[A-Z2-7]{32}$/)
      const secret = base32Decode(copied)
      expect(secret).toBeDefined()
      await screenshot("authenticator-setup")
      await enterCode("000000" === totpAt(secret!, Date.now()) ? "111111" : "000000", "Turn on")
      expect(await page.locator(".error").textContent()).toContain("wrong")
      await screenshot("authenticator-wrong-code")
      // One step back (accepted as drift), so that the steps after it are free for the codes below.
      const enrolmentCode = totpAt(secret!, Date.now() - 30_000)
      await enterCode(enrolmentCode, "Turn on")
      await expect.poll(() => new URL(page.url()).pathname).toBe("/account")
      expect(await page.locator("#totp-status").textContent()).toBe("on")
      await screenshot("authenticator-on")

      // 4. Sign out.
      await page.getByRole("button", { name: "Sign out" }).click()
      await expect.poll(() => new URL(page.url()).pathname).toBe("/")
      await expect.poll(() => page.getByLabel("E-mail address").count()).toBe(1)
      await screenshot("signed-out")
      await page.goto(`${demo.url}/account`)
      expect(new URL(page.url()).pathname).toBe("/")

      // 5. Sign in again: link, then the code page; the enrolment code (replayed) is refused.
      await submitEmail(email)
      const secondLink = await linkFromMailbox(email)
      expect(secondLink).not.toBe(firstLink)
      await page.goto(secondLink)
      await page.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => new URL(page.url()).pathname).toBe("/signin/code")
      await screenshot("code")
      await page.goto(`${demo.url}/account`)
      expect(new URL(page.url()).pathname).toBe("/")
      await page.goto(`${demo.url}/signin/code`)
      await enterCode(enrolmentCode, "Verify")
      expect(new URL(page.url()).pathname).toBe("/signin/code")
      expect(await page.locator(".error").textContent()).toContain("wait for the next code in your app")
      await screenshot("code-replayed")
      // The code of now: always after the enrolment's step.
      await enterCode(totpAt(secret!, Date.now()), "Verify")
      await expect.poll(() => new URL(page.url()).pathname).toBe("/account")
      expect(await page.locator("#user-id").textContent()).toBe(email)
      await screenshot("signed-in-with-code")

      // 6. A used link: its page still opens, but confirming is refused.
      await page.goto(firstLink)
      await page.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => page.locator("h1").textContent()).toBe("This sign-in link has expired or was already used")
      expect(await page.getByRole("link", { name: "Ask for a new sign-in link" }).count()).toBe(1)
      await screenshot("used-link")

      // 7. Turn the authenticator off (still signed in: the refused link changed nothing): it asks
      // for a current code first.
      await page.goto(`${demo.url}/account`)
      await page.getByRole("button", { name: "Turn off authenticator" }).click()
      await page.waitForLoadState()
      expect(await page.locator("#totp-status").textContent()).toBe("on")
      await screenshot("authenticator-off-needs-code")
      await page.getByLabel("Current code from your authenticator").fill(totpAt(secret!, Date.now() + 30_000))
      await page.getByRole("button", { name: "Turn off authenticator" }).click()
      await expect.poll(() => page.locator("#totp-status").textContent()).toBe("off")
      await screenshot("authenticator-off")

      expect(cspViolations).toEqual([])
    }, 90_000)

    it("recovery codes: made on the account page with a current code, shown once, copied and downloaded; one signs in", async () => {
      const email = "rosa@example.test"
      const { context, page: computer } = await newBrowserPage()
      await signInWithLink(computer, email)
      const secret = await setUpAuthenticator(computer)
      expect(await computer.locator("#recovery-status").textContent()).toBe("none yet")
      await screenshot("recovery-account", computer)

      // New codes need a current code from the authenticator (not just the session).
      await computer.getByLabel("Current code from your authenticator").fill(totpAt(secret, Date.now()))
      await computer.getByRole("button", { name: "Make new recovery codes" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/account/recovery-codes")
      const codes = await computer.locator("#recovery-codes li").allTextContents()
      expect(codes).toHaveLength(10)
      for (const code of codes) expect(code).toMatch(/^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$/)
      await screenshot("recovery-codes-shown-once", computer)

      // Copy: the script file's button puts them on the clipboard.
      await computer.getByRole("button", { name: "Copy" }).click()
      await expect.poll(() => computer.getByRole("button", { name: "Copied" }).count()).toBe(1)
      const clipboard = await computer.evaluate(() =>
        (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()
      )
      expect(clipboard.split(/\s+/).filter((line) => line !== "")).toEqual(codes)
      // Download: a text file holding them.
      const [download] = await Promise.all([
        computer.waitForEvent("download"),
        computer.getByRole("link", { name: "Download as a text file" }).click()
      ])
      expect(download.suggestedFilename()).toBe("recovery-codes.txt")
      const file = readFileSync((await download.path())!, "utf8")
      for (const code of codes) expect(file).toContain(code)
      // Shown once: the page does not show them again.
      await computer.goto(`${demo.url}/account/recovery-codes`)
      expect(new URL(computer.url()).pathname).toBe("/account")
      expect(await computer.locator("#recovery-status").textContent()).toBe("10 left")
      await computer.getByRole("button", { name: "Sign out" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/")

      // Sign in again: the link, then a recovery code in place of the authenticator's.
      await computer.getByLabel("E-mail address").fill(email)
      await computer.getByRole("button", { name: "Email me a sign-in link" }).click()
      await expect.poll(() => computer.locator("h1").textContent()).toBe("Check your mail")
      await computer.goto((await (await mailboxRow(computer, email)).locator("a").first().getAttribute("href"))!)
      await computer.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/signin/code")
      await computer.getByRole("link", { name: "Lost your authenticator? Use a recovery code" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/signin/recovery")
      await screenshot("recovery-sign-in", computer)
      await computer.getByLabel("Recovery code").fill("2222-2222-2222-2222")
      await computer.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => computer.locator(".error").textContent()).toContain("wrong or was already used")
      await screenshot("recovery-sign-in-wrong", computer)
      // Typed as people type them: lower case, spaces instead of dashes.
      await computer.getByLabel("Recovery code").fill(codes[3]!.toLowerCase().replaceAll("-", " "))
      await computer.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/account")
      expect(await computer.locator("#user-id").textContent()).toBe(email)
      expect(await computer.locator(".notice").textContent()).toContain("9 are left")
      expect(await computer.locator("#recovery-status").textContent()).toBe("9 left")
      await screenshot("recovery-signed-in", computer)
      await context.close()
    }, 90_000)

    it("the code from the mail signs in instead of the link, and uses the link up", async () => {
      const email = "mona@example.test"
      const { context, page: computer } = await newBrowserPage()
      await computer.goto(`${demo.url}/`)
      await computer.getByLabel("E-mail address").fill(email)
      await computer.getByRole("button", { name: "Email me a sign-in link" }).click()
      await expect.poll(() => computer.locator("h1").textContent()).toBe("Check your mail")
      await screenshot("mail-code-check-your-mail", computer)
      // The mail, read "on another device": its code.
      const { page: phone, context: phoneContext } = await newBrowserPage({ phone: true })
      const row = await mailboxRow(phone, email)
      const code = (await row.locator("td.code").textContent())?.trim() ?? ""
      const link = (await row.locator("a").first().getAttribute("href"))!
      expect(code).toMatch(/^\d{6}$/)
      await screenshot("mail-code-mailbox", phone)
      const wrong = code.replace(/^./, (d) => String((Number(d) + 1) % 10))
      await computer.getByLabel("Code from the mail").fill(wrong)
      await computer.getByRole("button", { name: "Sign in with the code" }).click()
      await expect.poll(() => computer.locator(".error").textContent()).toContain("wrong")
      await screenshot("mail-code-wrong", computer)
      await computer.getByLabel("Code from the mail").fill(code)
      await computer.getByRole("button", { name: "Sign in with the code" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/account")
      expect(await computer.locator("#user-id").textContent()).toBe(email)
      await screenshot("mail-code-signed-in", computer)
      // One challenge: the link is used up too.
      await phone.goto(link)
      await phone.getByRole("button", { name: "Sign in" }).click()
      await expect.poll(() => phone.locator("h1").textContent()).toBe("This sign-in link has expired or was already used")
      await phoneContext.close()
      await context.close()
    }, 60_000)

    it("a handoff approved on a phone with the right number signs the waiting computer in by itself; a wrong number refuses it", async () => {
      const { context: computerContext, page: computer } = await newBrowserPage()
      const { context: phoneContext, page: phone } = await newBrowserPage({ phone: true })

      const startHandoff = async (email: string) => {
        await computer.goto(`${demo.url}/`)
        await computer.getByLabel("E-mail address").fill(email)
        await computer.getByRole("button", { name: "Sign in here, confirm on my phone" }).click()
        await expect.poll(() => new URL(computer.url()).pathname).toBe("/signin/wait")
        const shown = Number(await computer.locator("#match-number").textContent())
        expect(shown).toBeGreaterThanOrEqual(10)
        expect(shown).toBeLessThanOrEqual(99)
        // The phone opens the mail's link: three numbers, one of them the computer's.
        await phone.goto((await (await mailboxRow(phone, email)).locator("a").first().getAttribute("href"))!)
        await expect.poll(() => phone.locator(".choices button").count()).toBe(3)
        const choices = (await phone.locator(".choices button").allTextContents()).map(Number)
        expect(choices).toContain(shown)
        return { shown, choices }
      }

      // Approved with the right number.
      const approved = await startHandoff("hana@example.test")
      await screenshot("handoff-waiting", computer)
      await screenshot("handoff-phone-choices", phone)
      // Opening the link again (a reload, a mail scanner) changes nothing: the same numbers.
      await phone.reload()
      expect((await phone.locator(".choices button").allTextContents()).map(Number)).toEqual(approved.choices)
      await phone.getByRole("button", { name: String(approved.shown), exact: true }).click()
      await expect.poll(() => phone.locator(".notice").textContent()).toContain("you can return to your other device")
      await screenshot("handoff-phone-approved", phone)
      // The waiting page moves on by itself (its script's long poll), to the account.
      await expect.poll(() => new URL(computer.url()).pathname, { timeout: 15_000 }).toBe("/account")
      expect(await computer.locator("#user-id").textContent()).toBe("hana@example.test")
      await screenshot("handoff-computer-signed-in", computer)
      await computer.getByRole("button", { name: "Sign out" }).click()
      await expect.poll(() => new URL(computer.url()).pathname).toBe("/")

      // Denied with a wrong number.
      const denied = await startHandoff("dora@example.test")
      const wrong = denied.choices.find((n) => n !== denied.shown)!
      await phone.getByRole("button", { name: String(wrong), exact: true }).click()
      await expect.poll(() => phone.locator("h1").textContent()).toBe("Sign-in refused")
      await screenshot("handoff-phone-refused", phone)
      await expect.poll(() => computer.locator("h1").textContent(), { timeout: 15_000 }).toBe("The sign-in was refused")
      expect(new URL(computer.url()).pathname).toBe("/signin/wait")
      await screenshot("handoff-computer-refused", computer)
      await computer.goto(`${demo.url}/account`)
      expect(new URL(computer.url()).pathname).toBe("/")
      // The burnt link no longer offers the numbers.
      await phone.reload()
      expect(await phone.locator(".choices button").count()).toBe(0)

      await phoneContext.close()
      await computerContext.close()
      expect(cspViolations).toEqual([])
    }, 90_000)
  })
}
