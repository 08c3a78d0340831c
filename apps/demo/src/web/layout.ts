/**
 * The layout and headers of the sign-in pages: no inline script or style (the stylesheet is
 * `/web/style.css`), images only from the demo or `data:` (the authenticator's QR image).
 */
import { escapeHtml } from "../http/html.js"

export { escapeHtml }

export const contentSecurityPolicy =
  "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

/** Headers of every sign-in page. */
export const webPageHeaders: ReadonlyArray<readonly [string, string]> = [
  ["Content-Type", "text/html; charset=utf-8"],
  ["Cache-Control", "no-store"],
  ["Referrer-Policy", "no-referrer"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Content-Security-Policy", contentSecurityPolicy]
]

/** A whole page; `title` is escaped here, `body` must already be safe HTML. */
export const webPage = (title: string, body: string, tenantName: string): string =>
  [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="stylesheet" href="/web/style.css">',
    "</head>",
    "<body>",
    `<header><a class="brand" href="/">${escapeHtml(tenantName)}</a></header>`,
    '<main class="card">',
    body,
    "</main>",
    "</body>",
    "</html>",
    ""
  ].join("\n")

/** A form that POSTs to `action` with the session's CSRF token. `inner` must be safe HTML. */
export const form = (action: string, csrf: string, inner: string, className = ""): string =>
  [
    `<form method="post" action="${escapeHtml(action)}"${className === "" ? "" : ` class="${className}"`}>`,
    `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`,
    inner,
    "</form>"
  ].join("\n")

export const stylesheet = `
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
  background: #f3f5f9; line-height: 1.5; }
header { padding: 1rem 1.25rem; }
header .brand { font-weight: 600; color: #1d2330; text-decoration: none; }
.card { max-width: 30rem; margin: 1.5rem auto 3rem; background: #fff; border-radius: .75rem;
  padding: 1.5rem 1.5rem 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 4px 16px rgba(0,0,0,.04); }
@media (max-width: 34rem) { .card { margin: .5rem; padding: 1.25rem 1rem 1.5rem; } }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: .35rem; }
input[type=email], input[type=text] { width: 100%; font-size: 1.1rem; padding: .6rem .75rem;
  border: 1px solid #b8c0cc; border-radius: .4rem; margin-bottom: 1rem; }
input.code { letter-spacing: .3em; font-variant-numeric: tabular-nums; }
button { font-size: 1rem; padding: .65rem 1.25rem; border: 0; border-radius: .4rem; background: #2457d6;
  color: #fff; cursor: pointer; width: 100%; }
button.secondary { background: #e6eaf1; color: #1d2330; }
button.danger { background: #b3261e; }
form { margin: 0 0 .75rem; }
.notice { background: #e7f4ea; border-left: 4px solid #2e7d32; padding: .6rem .8rem; border-radius: .25rem; }
.error { background: #fdecea; border-left: 4px solid #b3261e; padding: .6rem .8rem; border-radius: .25rem; }
.muted { color: #5b6473; font-size: .95rem; }
.qr { display: block; width: 12rem; height: 12rem; margin: 0 auto 1rem; image-rendering: pixelated; }
.secret { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.05rem;
  background: #f3f5f9; padding: .5rem .75rem; border-radius: .4rem; display: block; margin-bottom: 1rem; }
.secret span { display: inline-block; margin-right: .6em; }
form.stack button { margin-bottom: .5rem; }
a { color: #2457d6; }
`
