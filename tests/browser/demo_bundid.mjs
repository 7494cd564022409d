// Browser checks of the demo's simulated BundID ("Test-BundID – nur Demo") in a running
// `amtsweg demo`: axe-core (WCAG 2.1 A/AA) on its pages, reflow at 320 px, no CSP
// violations, and the sign-in at "hoch" without JavaScript and with it.
// Usage: node demo_bundid.mjs http://127.0.0.1:PORT   (exit code 0 = all good)
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.argv[2];
if (!base) {
  console.error("usage: node demo_bundid.mjs BASE_URL");
  process.exit(2);
}
const failures = [];
const fail = (msg) => { failures.push(msg); console.error("FAIL " + msg); };
setTimeout(() => { console.error("demo_bundid.mjs: gave up after 5 minutes"); process.exit(3); }, 300_000).unref();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function audit(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) {
    fail(`${label}: axe ${v.id} (${v.impact}): ${v.help} – ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }
  if ((await page.locator("h1").count()) !== 1) fail(`${label}: not exactly one h1`);
  if ((await page.getAttribute("html", "lang")) !== "de") fail(`${label}: lang is not de`);
  await page.setViewportSize({ width: 320, height: 640 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) fail(`${label}: horizontal scrolling at 320 px (${overflow} px)`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

// With JavaScript (axe needs it), the hand-over forms kept from sending themselves,
// so that every page can be audited; then without JavaScript, pressing the buttons;
// then with JavaScript as it is, where the hand-over forms send themselves.
for (const mode of ["audit", "no-js", "js"]) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: mode !== "no-js" });
  if (mode === "audit") {
    await ctx.route((url) => url.pathname === "/konto/saml/anmelden" || url.pathname === "/demo-bundid/antwort", async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace("data-autosubmit", "data-kept");
      await route.fulfill({ response, body });
    });
  }
  const p = await ctx.newPage();
  p.setDefaultTimeout(20_000);
  const csp = [];
  p.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/i.test(m.text())) csp.push(m.text()); });
  const form = mode === "audit" ? "form[data-kept]" : "form[data-autosubmit]";
  if (mode === "audit") {
    await p.goto(base + "/demo-bundid/");
    await audit(p, "Test-BundID: Startseite");
  }
  if (mode === "js") {
    await p.goto(base + "/konto/anmelden");
    const link = p.locator("a", { hasText: "Anmelden mit Test-BundID – nur Demo" });
    if ((await link.count()) !== 1) fail("no Test-BundID button on the sign-in page");
    await Promise.all([p.waitForURL(/\/demo-bundid\/sso$/), link.click()]);
  } else {
    await p.goto(base + "/konto/saml/anmelden?niveau=hoch&weiter=/konto/");
    await Promise.all([p.waitForURL(/\/demo-bundid\/sso$/), p.click(`${form} button[type=submit]`)]);
  }
  if (!(await p.textContent("main")).includes("Simulation – keine echte BundID, nur für die Demo")) fail(`Test-BundID page without its banner (${mode})`);
  if (mode === "audit") await audit(p, "Test-BundID: Testperson und Vertrauensniveau");
  await p.check("#niveau-hoch");
  if (mode === "js") {
    await Promise.all([p.waitForURL(/\/konto\/$/), p.click("button[value=anmelden]")]);
  } else {
    await Promise.all([p.waitForURL(/\/demo-bundid\/antwort$/), p.click("button[value=anmelden]")]);
    if (mode === "audit") await audit(p, "Test-BundID: zurück zum Portal");
    await Promise.all([p.waitForURL(/\/konto\/$/), p.click(`${form} button[type=submit]`)]);
  }
  const main = await p.textContent("main");
  if (!main.includes("hoch")) fail(`Test-BundID sign-in (${mode}) ended at ${p.url()}: ${main.slice(0, 300)}`);
  if (csp.length) fail(`CSP violations (${mode}): ${csp.slice(0, 3).join(" | ")}`);
  await ctx.close();
}

await browser.close();
console.log(`Test-BundID: ${failures.length} failures`);
if (failures.length) process.exit(1);
