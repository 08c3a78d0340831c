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

/**
 * What a page may add to its head: the demo's script file (`/web/app.js`, the CSP allows scripts
 * from the demo only, never inline ones), and a refresh for browsers that run no script.
 */
export interface PageExtras {
  readonly script?: boolean | undefined
  readonly refreshWithoutScriptSeconds?: number | undefined
}

/** A whole page; `title` is escaped here, `body` must already be safe HTML. */
export const webPage = (title: string, body: string, tenantName: string, extras: PageExtras = {}): string =>
  [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="stylesheet" href="/web/style.css">',
    ...(extras.script ? ['<script src="/web/app.js" defer></script>'] : []),
    ...(extras.refreshWithoutScriptSeconds === undefined
      ? []
      : [`<noscript><meta http-equiv="refresh" content="${Math.max(1, Math.floor(extras.refreshWithoutScriptSeconds))}"></noscript>`]),
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
.match { font-size: 4rem; font-weight: 700; text-align: center; letter-spacing: .1em; margin: .5rem 0 1rem;
  font-variant-numeric: tabular-nums; }
.choices { display: flex; gap: .75rem; }
.choices button { font-size: 2rem; font-weight: 700; padding: 1rem 0; font-variant-numeric: tabular-nums; }
ol.recovery-codes { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.05rem; background: #f3f5f9;
  padding: .75rem .75rem .75rem 2.5rem; border-radius: .4rem; margin: 0 0 1rem; }
.actions { display: flex; gap: .75rem; margin-bottom: 1rem; }
.actions > * { flex: 1; text-align: center; }
a.button { display: inline-block; font-size: 1rem; padding: .65rem 1.25rem; border-radius: .4rem; background: #e6eaf1;
  color: #1d2330; text-decoration: none; }
hr { border: 0; border-top: 1px solid #e1e5ec; margin: 1.25rem 0; }
`

/**
 * The demo's one script file (no inline script: the CSP forbids it). It only enhances pages that
 * work without it: copy buttons (`data-copy` names the element whose text is copied), and the
 * handoff's waiting page, which long-polls `data-wait-url` and goes where its answer says once
 * the sign-in was decided (without script, the page refreshes itself).
 */
export const appScript = `"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.innerText.trim() + "\\n").then(function () {
        button.textContent = "Copied";
      });
    });
  });
  var waiting = document.querySelector("[data-wait-url]");
  if (!waiting) return;
  var url = waiting.getAttribute("data-wait-url");
  var poll = function () {
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (answer) {
        if (answer && typeof answer.next === "string") window.location.assign(answer.next);
        else poll();
      })
      .catch(function () { setTimeout(poll, 2000); });
  };
  poll();
});
`
