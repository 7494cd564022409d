// Signing in on a member authority's own host in a real browser (issue 17, item 2):
// the sign-in runs on the central host and hands the session back to the member host;
// Chromium applies `form-action` to every redirect after a form is sent, so each hop
// must be allowed. Also: signing out there, and the step-up page there.
// Usage: node hosts.mjs http://127.0.0.1:PORT EMAIL PASSWORD   (exit code 0 = all good)
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const [base, email, password] = process.argv.slice(2);
if (!base || !email || !password) {
  console.error("usage: node hosts.mjs BASE_URL EMAIL PASSWORD");
  process.exit(2);
}
const port = new URL(base).port;
const member = `http://moorbrueck.localhost:${port}`;
const central = new URL(base).host;

const failures = [];
const fail = (msg) => { failures.push(msg); console.error("FAIL " + msg); };
setTimeout(() => { console.error("hosts.mjs: gave up after 5 minutes"); process.exit(3); }, 300_000).unref();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP *.localhost 127.0.0.1"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const cspErrors = [];
page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy|form-action/i.test(m.text())) cspErrors.push(m.text()); });
const text = async () => (await page.locator("main").innerText()).replace(/\s+/g, " ");
// axe-core (WCAG 2.1 A/AA) on the pages of this journey.
async function audit(label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) {
    fail(`${label}: axe ${v.id} (${v.impact}): ${v.help} – ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }
}

try {
  // 1. On the member host, "Mein Konto" leads to the central sign-in, which says
  //    where the citizen signs in and where they will come back to.
  await page.goto(`${member}/konto/`);
  const signIn = new URL(page.url());
  if (signIn.host !== central || signIn.pathname !== "/konto/anmelden") fail(`sign-in page at ${page.url()}`);
  const hint = await text();
  if (!hint.includes(`moorbrueck.localhost:${port}`) || !hint.includes("Stadt Moorbrück")) fail(`the sign-in page does not name the member portal: ${hint.slice(0, 400)}`);
  await audit("central sign-in with hand-over");

  // 2. Signing in there lands, signed in, back on the member host.
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([
    page.waitForURL((u) => u.host === `moorbrueck.localhost:${port}`, { timeout: 15_000 }).catch(() => {}),
    page.click("main button[type=submit]"),
  ]);
  await page.waitForLoadState("load");
  const landed = new URL(page.url());
  if (landed.host !== `moorbrueck.localhost:${port}` || landed.pathname !== "/konto/") {
    fail(`after signing in the browser is at ${page.url()}, not on the member host's account page`);
  } else {
    const t = await text();
    if (!t.includes(`Angemeldet als ${email}`)) fail(`not signed in on the member host: ${t.slice(0, 300)}`);
    if (!t.includes(`moorbrueck.localhost:${port}`) || !t.includes("zentral")) fail(`the account page does not say where the citizen is signed in: ${t.slice(0, 400)}`);
    await audit("account page on the member host");
  }

  // 3. A page of the member host that needs the account opens directly now.
  const r = await page.goto(`${member}/konto/postfach/`);
  if (!r || r.status() !== 200 || new URL(page.url()).host !== `moorbrueck.localhost:${port}`) fail(`Postfach on the member host: ${r && r.status()} at ${page.url()}`);

  // 4. The step-up page on the member host offers the other ways, and no way back
  //    into the form (which would send the citizen here again).
  await page.goto(`${member}/antrag/meldebescheinigung/`);
  if (!page.url().includes("/konto/vertrauensniveau")) fail(`Meldebescheinigung did not ask for a higher level: ${page.url()}`);
  const links = await page.locator("main a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  if (links.some((h) => h && h.includes("/antrag/meldebescheinigung"))) fail(`the step-up page links back to the form: ${links.join(", ")}`);
  if (!links.some((h) => h && h.endsWith("/leistungen/meldebescheinigung"))) fail(`the step-up page does not link the service page: ${links.join(", ")}`);
  await audit("step-up page without a provider");

  // 5. Signing out on the member host says so there, and the session is gone.
  await page.goto(`${member}/konto/`);
  await Promise.all([page.waitForLoadState("load"), page.click("nav.account-nav button[type=submit]")]);
  await page.waitForTimeout(300);
  const out = new URL(page.url());
  const t = await text();
  if (out.host !== `moorbrueck.localhost:${port}` || !t.includes("Sie sind abgemeldet")) fail(`after signing out: ${page.url()} – ${t.slice(0, 200)}`);
  await audit("signed out on the member host");
  await page.goto(`${member}/konto/`);
  if (new URL(page.url()).pathname !== "/konto/anmelden") fail(`still signed in after signing out: ${page.url()}`);
} catch (e) {
  fail(`journey broke: ${e.stack || e}`);
}
if (cspErrors.length) fail(`CSP violations: ${cspErrors.slice(0, 3).join(" | ")}`);
await browser.close();
if (failures.length) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log("hosts.mjs: member-host sign-in, step-up page and sign-out work");
