/**
 * The whole sign-in journey in a real browser: Debian's chromium (`/usr/bin/chromium`) driven by
 * playwright-core, against the built demo with its development mailbox. Screenshots of every page
 * go to `test-output/screenshots/`.
 *
 * Without chromium the test is skipped (install it with `apt-get install chromium`), except in CI
 * (`CI` set), where it fails: CI must prove the journey.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { base32Decode, totpAt } from "@lagrello/core"
import type { Browser, Page } from "playwright-core"
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
  })
}
