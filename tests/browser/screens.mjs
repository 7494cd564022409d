// Proof by looking: full-page screenshots of the key pages at 1280 and 320 CSS px,
// kept as test artefacts, with two checks on every screenshot:
//  - no visible interactive control (a, button, input, select, textarea, summary) is
//    smaller than 24 × 24 CSS px (WCAG 2.5.8), except links inside running text;
//  - at 320 px no text overflows its box (an element whose content is wider than the
//    element while its overflow is visible), the page does not scroll sideways, and
//    the header leaves at least half of the first screen (320 × 640) to the content.
// Usage: node screens.mjs http://127.0.0.1:PORT OUT_DIR   (exit code 0 = all good)
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { join } from "node:path";

const base = process.argv[2];
const out = process.argv[3];
if (!base || !out) {
  console.error("usage: node screens.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
setTimeout(() => {
  console.error("screens.mjs: gave up after 10 minutes");
  process.exit(3);
}, 600_000).unref();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--font-render-hinting=none", "--lang=de-DE"],
});

// For working on the styles: SCREENS_LIVE_CSS=crates/web/static/amtsweg.css serves
// that file instead of the one built into the server.
const liveCss = process.env.SCREENS_LIVE_CSS;
async function newContext(options) {
  const ctx = await browser.newContext(options);
  if (liveCss) await ctx.route(/\/static\/amtsweg\.css/, (route) => route.fulfill({ contentType: "text/css", body: readFileSync(liveCss, "utf8") }));
  return ctx;
}

const failures = [];
const fail = (msg) => { failures.push(msg); console.error("FAIL " + msg); };
const shots = [];


// Runs in the page: what breaks the two rules. Returns a list of plain-text findings.
function inspect(narrow) {
  const found = [];
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim()) d += "." + el.className.trim().split(/\s+/).join(".");
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || el.getAttribute("name") || "").replace(/\s+/g, " ").trim().slice(0, 50);
    return text ? `${d} „${text}“` : d;
  };
  const visible = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none" || Number(s.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    // Visually hidden helpers (1 × 1 px, clipped) are not visible targets.
    if (r.width <= 1 || r.height <= 1) return false;
    if (s.clip === "rect(0px, 0px, 0px, 0px)" || s.clipPath === "inset(50%)") return false;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const ps = getComputedStyle(p);
      if (ps.display === "none" || ps.visibility === "hidden") return false;
      if (p.tagName === "DETAILS" && !p.open && el.tagName !== "SUMMARY") {
        // Content of a closed <details> other than its summary is not shown.
        if (!el.closest("summary")) return false;
      }
    }
    return true;
  };
  // A link in running text: displayed inline, and its block holds text besides the link.
  const inlineInText = (el) => {
    if (el.tagName !== "A") return false;
    if (!getComputedStyle(el).display.startsWith("inline") || getComputedStyle(el).display === "inline-block" || getComputedStyle(el).display === "inline-flex") return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    if (!block) return false;
    const own = (el.textContent || "").replace(/\s+/g, "").length;
    const all = (block.textContent || "").replace(/\s+/g, "").length;
    return all - own >= 10;
  };
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (!visible(el)) continue;
    if (el.classList.contains("skip-link") && document.activeElement !== el) continue;
    const r = el.getBoundingClientRect();
    const w = r.width, h = r.height;
    if ((w < 24 || h < 24) && inlineInText(el)) continue;
    if (w < 24 - 0.5 || h < 24 - 0.5) found.push(`target ${Math.round(w)} × ${Math.round(h)} px: ${describe(el)}`);
  }
  if (narrow) {
    // The header (with navigation) leaves most of the first screen to the content.
    const main = document.querySelector("main");
    const top = main ? main.getBoundingClientRect().top + window.scrollY : 0;
    if (top > window.innerHeight / 2) found.push(`the header takes ${Math.round(top)} of ${window.innerHeight} px`);
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) found.push(`page scrolls sideways (${doc.scrollWidth - doc.clientWidth} px)`);
    for (const el of document.body.querySelectorAll("*")) {
      if (!visible(el)) continue;
      const s = getComputedStyle(el);
      if (s.display.startsWith("inline") && s.display !== "inline-block" && s.display !== "inline-flex") continue;
      if (s.overflowX !== "visible") continue;
      if (el.tagName === "svg" || el.closest("svg")) continue;
      // Inside a box that scrolls sideways (a table wrapper, a nav row) it is allowed.
      let scrolled = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === "auto" || o === "scroll") { scrolled = true; break; }
      }
      if (scrolled) continue;
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        found.push(`overflows its box by ${el.scrollWidth - el.clientWidth} px: ${describe(el)}`);
      }
    }
  }
  return found;
}

// Takes both screenshots of the page now open and checks each.
async function shoot(page, name, prepare) {
  for (const [width, height] of [[1280, 900], [320, 640]]) {
    await page.setViewportSize({ width, height });
    await page.evaluate(() => document.fonts && document.fonts.ready);
    if (prepare) await prepare(page);
    const file = join(out, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
    const problems = await page.evaluate(inspect, width <= 320);
    for (const p of problems.slice(0, 12)) fail(`${name} @${width}px: ${p}`);
    if (problems.length > 12) fail(`${name} @${width}px: … and ${problems.length - 12} more`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

function totp(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const h = createHmac("sha1", key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString().padStart(6, "0");
}
const DEMO_PASSWORD = "Heidekamp-Demo-2026";

// The citizen: start, a service, a form step with errors, the check page, the receipt.
{
  const ctx = await newContext({ viewport: { width: 1280, height: 900 }, locale: "de-DE" });
  const c = await ctx.newPage();
  c.setDefaultTimeout(15_000);
  await c.goto(base + "/");
  await shoot(c, "buerger-01-start");
  // On a phone the main navigation sits behind "Menü" and opens without JavaScript.
  await c.setViewportSize({ width: 320, height: 640 });
  if (await c.isVisible("nav.main-nav")) fail("320 px: the full navigation fills the header");
  await c.click(".menu-small > summary");
  if (!(await c.isVisible('.menu-small a[href="/konto/"]'))) fail("320 px: Menü does not open the navigation");
  await c.setViewportSize({ width: 1280, height: 900 });
  if (await c.isVisible(".menu-small")) fail("1280 px: the small-screen menu is shown");
  await c.goto(base + "/o/moorbrueck/");
  await shoot(c, "buerger-02-behoerde");
  await c.goto(base + "/o/moorbrueck/leistungen/briefwahl");
  await shoot(c, "buerger-03-leistung");
  await c.goto(base + "/o/moorbrueck/antrag/briefwahl/");
  await c.fill("#f-vorname", "Erika");
  await Promise.all([c.waitForNavigation(), c.click('button[value="weiter"]')]);
  if (!(await c.isVisible(".error-summary"))) fail("form step: no error summary after an incomplete step");
  await shoot(c, "buerger-04-schritt-mit-fehlern");
  await c.fill("#f-familienname", "Musterfrau");
  await c.fill("#f-geburtsdatum", "12.03.1980");
  await c.fill("#f-strasse", "Am Markt 1");
  await c.fill("#f-plz", "29391");
  await c.fill("#f-ort", "Moorbrück");
  await Promise.all([c.waitForURL(/\/versand$/), c.click('button[value="weiter"]')]);
  await c.check("#f-versand-1");
  await Promise.all([c.waitForURL(/\/erklaerung$/), c.click('button[value="weiter"]')]);
  await c.check("#f-versicherung-ja");
  await Promise.all([c.waitForURL(/\/pruefen$/), c.click('button[value="weiter"]')]);
  await shoot(c, "buerger-05-pruefen");
  await Promise.all([c.waitForURL(/\/eingang\//), c.click('form[action$="/absenden"] button[type=submit]')]);
  await shoot(c, "buerger-06-eingangsbestaetigung");
  await ctx.close();
}

// The clerk: inbox and a case (case worker), form editor and connectors (administrator).
{
  const ctx = await newContext({ viewport: { width: 1280, height: 900 }, locale: "de-DE" });
  const w = await ctx.newPage();
  w.setDefaultTimeout(15_000);
  await w.goto(base + "/verwaltung/anmelden");
  await w.fill("#email", "sachbearbeitung@moorbrueck.example");
  await w.fill("#password", DEMO_PASSWORD);
  await Promise.all([w.waitForURL(/\/verwaltung\/$/), w.click("main button[type=submit]")]);
  await shoot(w, "verwaltung-01-uebersicht");
  await w.goto(base + "/verwaltung/antraege/?stand=alle");
  await shoot(w, "verwaltung-02-antraege");
  const first = w.locator("main table tbody a[href*='/verwaltung/antraege/']").first();
  if ((await first.count()) !== 1) fail("the inbox lists no application");
  else {
    await Promise.all([w.waitForURL(/\/verwaltung\/antraege\/\d+/), first.click()]);
    await shoot(w, "verwaltung-03-antrag");
  }
  await ctx.close();

  const actx = await newContext({ viewport: { width: 1280, height: 900 }, locale: "de-DE" });
  const a = await actx.newPage();
  a.setDefaultTimeout(15_000);
  await a.goto(base + "/verwaltung/anmelden");
  await a.fill("#email", "admin@moorbrueck.example");
  await a.fill("#password", DEMO_PASSWORD);
  await Promise.all([a.waitForURL(/\/verwaltung\/anmelden\/code/), a.click("main button[type=submit]")]);
  await a.fill("#code", totp("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"));
  await Promise.all([a.waitForURL(/\/verwaltung\/$/), a.click("main button[type=submit]")]);
  await a.goto(base + "/verwaltung/behoerden/moorbrueck/formulare/");
  await shoot(a, "verwaltung-04-formulare");
  const editor = a.locator("main a[href*='/formulare/']").filter({ hasText: /Briefwahl/ }).first();
  if ((await editor.count()) !== 1) fail("the form list has no Briefwahl form");
  else {
    await Promise.all([a.waitForURL(/\/formulare\/\d+/), editor.click()]);
    await shoot(a, "verwaltung-05-formular-editor");
  }
  await a.goto(base + "/verwaltung/behoerden/moorbrueck/schnittstellen/");
  await shoot(a, "verwaltung-06-schnittstellen");
  await a.goto(base + "/verwaltung/behoerden/moorbrueck/termine/");
  await shoot(a, "verwaltung-07-termine");
  await Promise.all([a.waitForURL(/\/kalender$/), a.click("main table a[href$='/kalender']")]);
  await shoot(a, "verwaltung-08-terminkalender");
  await a.goto(base + "/verwaltung/behoerden/moorbrueck/termine/");
  const dayList = a.locator("main a[href*='/tag?tag=']").first();
  if ((await dayList.count()) === 1) {
    await Promise.all([a.waitForURL(/\/tag\?tag=/), dayList.click()]);
    await shoot(a, "verwaltung-09-tagesliste");
  }
  await actx.close();
}

await browser.close();
console.log(`${shots.length} screenshots in ${out}, ${failures.length} failures`);
if (failures.length) process.exit(1);
