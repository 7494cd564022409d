// Browser checks of the public portal: axe-core (WCAG 2.1 A/AA) on every page type of
// two tenants, reflow at 320 px, visible focus, and a keyboard-only search journey.
// Usage: node a11y.mjs http://127.0.0.1:PORT   (exit code 0 = all good)
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.argv[2];
if (!base) {
  console.error("usage: node a11y.mjs BASE_URL");
  process.exit(2);
}
const port = new URL(base).port;

const tenants = [
  { slug: "moorbrueck", leistung: "meldebescheinigung", unit: "mb-buergerbuero", contact: null },
  { slug: "landkreis-heidekamp", leistung: "kfz-neuzulassung", unit: "lk-zulassung", contact: "lk-schroeder" },
];
const pages = ["/o/moorbrueck/seiten/barrierefreiheit", "/o/moorbrueck/seiten/leichte-sprache", "/", "/leistungen/", "/leistungen/meldebescheinigung", "/suche?q=Perso", "/suche?q=xyzzy", "/ort?ort=29399", "/ort?ort=Hamburg", "/gibt-es-nicht"];
for (const t of tenants) {
  pages.push(`/o/${t.slug}/`, `/o/${t.slug}/leistungen/`, `/o/${t.slug}/leistungen/${t.leistung}`, `/o/${t.slug}/organisation/`, `/o/${t.slug}/organisation/${t.unit}`, `/o/${t.slug}/kontakte/`);
  if (t.contact) pages.push(`/o/${t.slug}/kontakte/${t.contact}`);
}

const failures = [];
const fail = (msg) => { failures.push(msg); console.error("FAIL " + msg); };

// Nothing here may hang CI: give up after ten minutes.
setTimeout(() => {
  console.error("a11y.mjs: gave up after 10 minutes");
  process.exit(3);
}, 600_000).unref();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP *.localhost 127.0.0.1"],
});

async function audit(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) {
    fail(`${label}: axe ${v.id} (${v.impact}): ${v.help} – ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }
  const h1 = await page.locator("h1").count();
  if (h1 !== 1) fail(`${label}: ${h1} h1 elements`);
  const lang = await page.getAttribute("html", "lang");
  if (lang !== "de") fail(`${label}: lang=${lang}`);
}

async function checkAll(context, suffix) {
  const page = await context.newPage();
  const cspErrors = [];
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
  for (const path of pages) {
    const resp = await page.goto(base + path);
    if (!resp) { fail(`${path}: no response`); continue; }
    await audit(page, path + suffix);
    // Reflow: no horizontal scrolling at 320 CSS px (WCAG 1.4.10).
    await page.setViewportSize({ width: 320, height: 640 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) fail(`${path}${suffix}: horizontal scrolling at 320 px (${overflow} px)`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  if (cspErrors.length) fail(`CSP violations: ${cspErrors.slice(0, 3).join(" | ")}`);
  await page.close();
}

// Without a place, then with a place chosen (responsibility notices are shown).
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await checkAll(context, "");
const withPlace = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const p0 = await withPlace.newPage();
await p0.goto(base + "/ort?ort=Birkhusen&zurueck=/");
await p0.close();
await checkAll(withPlace, " (Ort Birkhusen)");

// A tenant on its own host name.
{
  const page = await context.newPage();
  await page.goto(`http://moorbrueck.localhost:${port}/`);
  const h1 = await page.textContent("h1");
  if (!h1 || !h1.includes("Moorbrück")) fail(`host-based tenant shows "${h1}"`);
  await audit(page, "moorbrueck.localhost /");
  await page.close();
}

// Keyboard only: skip link, search, open a result.
{
  const page = await context.newPage();
  await page.goto(base + "/");
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
  if (first !== "skip-link") fail(`first Tab stop is "${first}", not the skip link`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (outline === "none") fail("focused skip link has no visible outline");
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === "suche-kopf");
  }
  if (!reached) fail("search field not reachable with Tab");
  await page.keyboard.type("Perso");
  await Promise.all([page.waitForURL(/\/suche\?q=Perso/), page.keyboard.press("Enter")]);
  const resultLink = page.locator("ol.results a").first();
  const title = await resultLink.textContent();
  if (!title || !title.includes("Personalausweis")) fail(`first result for Perso is "${title}"`);
  // Tab to the first result and follow it with Enter.
  let onResult = false;
  for (let i = 0; i < 40 && !onResult; i++) {
    await page.keyboard.press("Tab");
    onResult = await page.evaluate(() => !!document.activeElement && !!document.activeElement.closest("ol.results"));
  }
  if (!onResult) fail("search results not reachable with Tab");
  await Promise.all([page.waitForURL(/\/leistungen\//), page.keyboard.press("Enter")]);
  const h1 = await page.textContent("h1");
  if (!h1 || !h1.includes("Personalausweis")) fail(`keyboard journey ended on "${h1}"`);
  await page.close();
}

// The back office: every page state, and a keyboard-only sign-in.
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
{
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(base + "/verwaltung/anmelden");
  await audit(page, "/verwaltung/anmelden");
  await page.goto(base + "/verwaltung/passwort-vergessen");
  await audit(page, "Passwort vergessen");
  await page.goto(base + "/verwaltung/anmelden");
  await page.fill("#email", "niemand@example.org");
  await page.fill("#password", "falsch-falsch");
  await page.click("button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("login error summary not shown");
  await audit(page, "/verwaltung/anmelden (Fehler)");
  // Administrator: password, then the second factor.
  await page.fill("#email", "admin@moorbrueck.example");
  await page.fill("#password", DEMO_PASSWORD);
  await Promise.all([page.waitForURL(/\/verwaltung\/anmelden\/code/), page.click("button[type=submit]")]);
  await audit(page, "/verwaltung/anmelden/code");
  await page.fill("#code", "000000");
  await page.click("button[type=submit]");
  await audit(page, "/verwaltung/anmelden/code (Fehler)");
  await page.fill("#code", totp("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"));
  await Promise.all([page.waitForURL(/\/verwaltung\/$/), page.click("button[type=submit]")]);
  await audit(page, "/verwaltung/");
  await page.goto(base + "/verwaltung/protokoll/");
  await audit(page, "/verwaltung/protokoll/");
  // Editing: list, form, error state, preview, history, new service.
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/leistungen/");
  await audit(page, "/verwaltung/…/leistungen/");
  await page.click("text=Geburtsurkunde beantragen");
  await audit(page, "Leistung bearbeiten");
  const editUrl = page.url();
  await page.fill("#feld-name", "");
  await page.fill("#feld-leika", "12");
  await page.click("button[value=speichern]");
  if (!(await page.isVisible(".error-summary"))) fail("editor error summary not shown");
  await audit(page, "Leistung bearbeiten (Fehler)");
  await page.goto(editUrl + "/vorschau");
  await audit(page, "Vorschau");
  await page.goto(editUrl + "/versionen");
  await audit(page, "Versionen");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/leistungen/neu");
  await audit(page, "Neue Leistung");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/stellen/");
  await audit(page, "Ämter und Ansprechpartner");
  await page.click("main ul a");
  await audit(page, "Amt bearbeiten");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/kontakte/neu");
  await page.click("form.stack-form button[type=submit]");
  await audit(page, "Ansprechpartner anlegen (Fehler)");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/standorte/");
  await audit(page, "Standorte");
  await page.click("table.data a");
  await audit(page, "Standort bearbeiten");
  await page.fill("#feld-mo", "19:00-07:00");
  await page.click("form.stack-form button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("location error summary not shown");
  await audit(page, "Standort bearbeiten (Fehler)");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/seiten/");
  await audit(page, "Pflichtseiten");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache");
  await audit(page, "Seite bearbeiten");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache/versionen");
  await audit(page, "Seite: Versionen");
  await page.goto(base + "/verwaltung/bibliothek/");
  await audit(page, "Verbund-Bibliothek");
  await page.click("table.data a");
  await audit(page, "Bibliothekseintrag");
  // Adopt it linked, with the keyboard only, and check the editor of the adopted service.
  await page.focus("form[action$='/uebernehmen'] input[value=linked]");
  await page.keyboard.press("Tab"); // out of the radio group to the submit button
  await Promise.all([page.waitForURL(/hinweis=uebernommen/), page.keyboard.press("Enter")]);
  await audit(page, "Übernommene Leistung (verknüpft)");
  if (!(await page.isVisible("#hinweis-verknuepft"))) fail("linked-service notice not shown");
  if (!(await page.$eval("#feld-description", (e) => e.readOnly))) fail("shared text of a linked service is editable");
  if (await page.$eval("#feld-fees", (e) => e.readOnly)) fail("fees of a linked service are read-only");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/einladen");
  await audit(page, "Einladen");
  await page.goto(base + "/verwaltung/einladung/ungueltig");
  await audit(page, "Link ungültig");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/darstellung");
  await audit(page, "Darstellung");
  await page.fill("#feld-primary_color", "#ffff00");
  await page.click("form.stack-form button[type=submit]");
  await audit(page, "Darstellung (Fehler)");
  // Online appointments: rules with an added question, a calendar and its error state,
  // the counter's day list, its print view, booking for a caller and the figures.
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/termine/");
  await audit(page, "Termine");
  await page.click("form#feld-regeln button[value=frage]");
  await audit(page, "Termine: Regeln mit neuer Frage");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/termine/");
  await page.click("main table a[href$='/kalender']");
  await audit(page, "Terminkalender");
  await page.fill("#feld-slot_minutes", "zehn");
  await page.click("form#feld-kalender button[value=speichern]");
  if (!(await page.isVisible(".error-summary"))) fail("calendar error summary not shown");
  await audit(page, "Terminkalender (Fehler)");
  if (await page.isVisible("h1:has-text('Kalender einrichten')")) {
    // No demo calendar in this Verbund: set one up through the form.
    await page.fill("#feld-slot_minutes", "10");
    await page.check("#feld-active");
    await page.selectOption("#feld-s0_leika", { index: 1 });
    await page.fill("#feld-s0_minutes", "20");
    await Promise.all([page.waitForURL(/hinweis=kalender/), page.click("form#feld-kalender button[value=speichern]")]);
    await audit(page, "Termine (Kalender gespeichert)");
  }
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/termine/");
  const dayList = await page.$("a[href*='/tag?tag=']");
  if (!dayList) fail("no day list link after setting up a calendar");
  else {
    await Promise.all([page.waitForURL(/\/tag\?tag=/), dayList.click()]);
    await audit(page, "Tagesliste");
    const dayUrl = page.url();
    await page.goto(dayUrl + "&druck=1");
    await audit(page, "Tagesliste (Druckansicht)");
    await page.goto(dayUrl.replace(/\/tag\?tag=.*/, "/buchen"));
    await page.click("main form[method=get] input[name=leistung]");
    await page.click("main form[method=get] button[type=submit]");
    await audit(page, "Termin für Anrufende buchen");
    await page.goto(dayUrl.replace(/\/tag\?tag=.*/, "/zahlen"));
    await audit(page, "Termine: Zahlen");
  }
  // Payments: the overview, a new invoice account with a wrong IBAN (error state),
  // the settings, statements, reconciliation, an activation letter and the claims.
  const payments = base + "/verwaltung/behoerden/moorbrueck/zahlungen/";
  await page.goto(payments);
  await audit(page, "Zahlungen");
  await page.goto(payments + "?art=rechnung");
  await audit(page, "Zahlungen: neue Verbindung");
  await page.fill("#name", "Stadtkasse");
  await page.fill("#re_empfaenger", "Stadtkasse Moorbrück");
  await page.fill("#re_iban", "DE03 1203 0000 0000 2020 51");
  await page.click("form[action$='/zahlungen/verbindungen'] button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("payment connector error summary not shown");
  await audit(page, "Zahlungen: neue Verbindung (Fehler)");
  await page.goto(payments + "einstellungen");
  await audit(page, "Zahlungen: Einstellungen");
  await page.goto(payments + "kontoauszuege");
  await audit(page, "Zahlungen: Kontoauszüge");
  await page.goto(payments + "abgleich");
  await audit(page, "Zahlungen: Abgleich");
  await page.goto(payments + "aktivierungscodes");
  await audit(page, "Zahlungen: Aktivierungscodes");
  await page.fill("#feld-konto", "MB-10042");
  await page.click("form[action$='/aktivierungscodes'] button[type=submit]");
  if (!(await page.isVisible("article.letter"))) fail("activation letter not shown");
  await audit(page, "Zahlungen: Brief mit Aktivierungscode");
  await page.goto(payments + "forderungen");
  await audit(page, "Zahlungen: Forderungen");
  // Form editor: list, new form, editor, fields, rules, preview, JSON, publish, versions, XDatenfelder.
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/formulare/");
  await audit(page, "Formulare");
  await page.click("form[action$='/formulare/neu'] button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("form list error summary not shown");
  await audit(page, "Neues Formular (Fehler)");
  await page.fill("#feld-title", "Barrierefreiheit prüfen");
  await Promise.all([page.waitForURL(/hinweis=angelegt/), page.click("form[action$='/formulare/neu'] button[type=submit]")]);
  await audit(page, "Formular-Editor (neu)");
  const formEditor = page.url().split("?")[0];
  // The editor is an outline plus one editing pane: the form's own pane (title, new
  // steps, publishing, JSON), a step's pane (?schritt=<id>: new fields and groups,
  // deleting the step), and pages of their own for each field and group.
  const openDetails = async (sel) => {
    if (!(await page.$eval(sel, (d) => d.open))) await page.click(`${sel} > summary`);
  };
  const stepPane = formEditor + "?schritt=angaben";
  await Promise.all([page.waitForURL(stepPane), page.click("#schritte a[href$='?schritt=angaben']")]);
  await audit(page, "Formular-Editor (Schritt)");
  await page.fill("#neu-label-angaben", "Art des Anliegens");
  await page.selectOption("#neu-art-angaben", "radio");
  await Promise.all([page.waitForURL(/\/felder\/art_des_anliegens\?hinweis=neu$/), page.click("#pane-feld-neu button[value=feld_neu]")]);
  await audit(page, "Formularfeld (Auswahl)");
  const saveField = (key) => `form[action$='/felder/${key}'] button[type=submit]`;
  await page.fill("#feld-optionen", "a = Eins\na = Zwei");
  await page.click(saveField("art_des_anliegens"));
  if (!(await page.isVisible(".error-summary"))) fail("form field error summary not shown");
  await audit(page, "Formularfeld (Fehler)");
  await page.fill("#feld-optionen", "a = Eins\nb = Zwei");
  await Promise.all([page.waitForURL(/\/felder\/art_des_anliegens\?hinweis=gespeichert$/), page.click(saveField("art_des_anliegens"))]);
  // Keyboard only: Enter in the label input adds a field, which the outline then lists.
  await page.goto(stepPane);
  await page.focus("#neu-label-angaben");
  await page.keyboard.type("Beschreibung");
  await Promise.all([page.waitForURL(/[?&]schritt=angaben\b.*#element-beschreibung$/), page.keyboard.press("Enter")]);
  if ((await page.locator("#element-beschreibung a[href$='/felder/beschreibung']").count()) !== 1) fail("field added with Enter is not in the outline");
  await Promise.all([page.waitForURL(/\/felder\/beschreibung$/), page.click("#element-beschreibung a[href$='/felder/beschreibung']")]);
  await page.selectOption("#feld-sichtbar", "art_des_anliegens=b");
  await Promise.all([page.waitForURL(/\/felder\/beschreibung\?hinweis=gespeichert$/), page.click(saveField("beschreibung"))]);
  await page.goto(stepPane);
  await page.fill("#neu-label-angaben", "Beginn");
  await page.selectOption("#neu-art-angaben", "date");
  await Promise.all([page.waitForURL(/#element-beginn$/), page.click("#pane-feld-neu button[value=feld_neu]")]);
  await audit(page, "Formular-Editor (mit Feldern)");
  await openDetails("#pane-schritt-loeschen");
  await page.click("#pane-schritt-loeschen button[value=schritt_loeschen]");
  if (!(await page.isVisible(".error-summary"))) fail("form editor error summary not shown");
  else if (!(await page.isVisible(".error-summary a[href='#loeschen-angaben']")) || !(await page.isVisible("#loeschen-angaben"))) fail("step delete error does not lead to its confirmation");
  await audit(page, "Formular-Editor (Fehler)");
  await page.goto(formEditor + "/regeln");
  await audit(page, "Formular: Regeln");
  await page.click("button[value=frist]");
  if (!(await page.isVisible(".error-summary"))) fail("rules error summary not shown");
  await audit(page, "Formular: Regeln (Fehler)");
  // Groups and computed amounts without JSON: add-group error, the new group's pane,
  // its delete confirmation, the group's page (error, new field, delete confirmation),
  // the computed-amount builder (error, list, edit).
  await page.goto(stepPane);
  await openDetails("#pane-gruppe-neu");
  await page.fill("#neu-gruppe-angaben", "Elternteil");
  await page.check("#neu-gruppe-mehrfach-angaben");
  await page.fill("#neu-gruppe-min-angaben", "3");
  await page.fill("#neu-gruppe-max-angaben", "2");
  await page.click("#pane-gruppe-neu button[value=gruppe_neu]");
  if (!(await page.isVisible(".error-summary"))) fail("add-group error summary not shown");
  await audit(page, "Formular-Editor (Gruppe, Fehler)");
  await page.fill("#neu-gruppe-min-angaben", "1");
  await page.fill("#neu-gruppe-feld-angaben", "Name");
  await Promise.all([page.waitForURL(/\/gruppen\/elternteil\?hinweis=gruppe$/), page.click("#pane-gruppe-neu button[value=gruppe_neu]")]);
  await audit(page, "Formular-Editor (mit Gruppe)");
  if ((await page.locator("#element-elternteil > a[aria-current=page]").count()) !== 1) fail("new group not selected in the outline");
  await openDetails("#gruppe-loeschen-elternteil");
  await page.click("#gruppe-loeschen-elternteil button[value=loeschen]");
  if (!(await page.isVisible(".error-summary"))) fail("group delete confirmation not asked");
  await audit(page, "Formular-Editor (Gruppe löschen, Fehler)");
  await page.goto(formEditor + "/gruppen/elternteil");
  await audit(page, "Formular: Gruppe");
  await page.fill("#feld-min", "4");
  await page.click("button[value=speichern]");
  if (!(await page.isVisible(".error-summary"))) fail("group page error summary not shown");
  await audit(page, "Formular: Gruppe (Fehler)");
  await page.fill("#feld-min", "1");
  await page.fill("#feld-max", "3");
  await Promise.all([page.waitForURL(/\/gruppen\/elternteil\?hinweis=gespeichert$/), page.click("button[value=speichern]")]);
  await page.goto(formEditor + "/gruppen/elternteil");
  await page.fill("#feld-neu-label", "Geburtsdatum");
  await page.selectOption("#feld-neu-art", "birth_date");
  await Promise.all([page.waitForURL(/hinweis=feld#felder$/), page.click("button[value=feld_neu]")]);
  await audit(page, "Formular: Gruppe (Feld hinzugefügt)");
  await openDetails("#gruppe-loeschen-elternteil");
  await page.click("#gruppe-loeschen-elternteil button[value=loeschen]");
  if (!(await page.isVisible(".error-summary"))) fail("group page delete confirmation not asked");
  await audit(page, "Formular: Gruppe löschen (Fehler)");
  await page.goto(formEditor + "/regeln");
  await page.fill("#feld-berechnet_label", "Gebühr");
  await page.selectOption("#feld-je_gruppe", "elternteil");
  await page.click("button[value=berechnet_neu]");
  if (!(await page.isVisible(".error-summary"))) fail("computed amount error summary not shown");
  await audit(page, "Formular: Berechneter Betrag (Fehler)");
  await page.fill("#feld-grundbetrag", "25");
  await page.fill("#feld-je_betrag", "10,50");
  await page.selectOption("#feld-wenn", "art_des_anliegens=b");
  await page.fill("#feld-dann_betrag", "40");
  await page.fill("#feld-sonst_betrag", "20");
  await Promise.all([page.waitForURL(/\/regeln#berechnet$/), page.click("button[value=berechnet_neu]")]);
  await audit(page, "Formular: Regeln (mit berechnetem Betrag)");
  await Promise.all([page.waitForURL(/berechnet=0/), page.click("#berechnet-0 a[href*='berechnet=0']")]);
  if (!(await page.isVisible("button[value=berechnet_aendern]"))) fail("computed amount not open for editing");
  await audit(page, "Formular: Berechneten Betrag ändern");
  await page.goto(formEditor + "/vorschau");
  await audit(page, "Formular: Vorschau");
  await page.goto(formEditor);
  await page.click("#json summary");
  await page.fill("#feld-json", "{");
  await page.click("#json button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("JSON error summary not shown");
  await audit(page, "Formular-Editor (JSON-Fehler)");
  await page.goto(formEditor);
  await Promise.all([page.waitForURL(/hinweis=veroeffentlicht/), page.click("form[action$='/veroeffentlichen'] button")]);
  await audit(page, "Formular veröffentlicht");
  await page.goto(base + "/o/moorbrueck/antrag/barrierefreiheit-pruefen/");
  if (!(await page.isVisible("#g-elternteil-0"))) fail("published group shows no row");
  await audit(page, "Formular mit Gruppe im Portal");
  await page.goto(formEditor);
  await page.goto(formEditor + "/versionen");
  await audit(page, "Formular: Versionen");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/formulare/");
  await page.setInputFiles("#feld-datei", new URL("../../crates/xdf/tests/fixtures/xdf1/sondernutzung.xml", import.meta.url).pathname);
  await page.click("form[action$='/xdatenfelder'] button[type=submit]");
  if (!(await page.isVisible("#bericht"))) fail("XDatenfelder import report not shown");
  await audit(page, "XDatenfelder importiert");
  await page.click("#bericht a");
  await audit(page, "Importierter Formular-Entwurf");
  await page.goto(base + "/verwaltung/behoerden/moorbrueck/formulare/");
  await page.setInputFiles("#feld-datei", new URL("../../crates/xdf/tests/fixtures/xdf1/broken-halfway.xml", import.meta.url).pathname);
  await page.click("form[action$='/xdatenfelder'] button[type=submit]");
  if (!(await page.isVisible(".error-summary"))) fail("XDatenfelder import error not shown");
  await audit(page, "XDatenfelder abgelehnt");
  // The Verbund administrator's pages.
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const v = await vctx.newPage();
  await v.goto(base + "/verwaltung/anmelden");
  await v.fill("#email", "verbund-admin@landkreis-heidekamp.example");
  await v.fill("#password", DEMO_PASSWORD);
  await Promise.all([v.waitForURL(/\/code/), v.click("button[type=submit]")]);
  await v.fill("#code", totp("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"));
  await Promise.all([v.waitForURL(/\/verwaltung\/$/), v.click("button[type=submit]")]);
  await v.goto(base + "/verwaltung/verbund/behoerden/");
  await audit(v, "Behörden im Verbund");
  await v.goto(base + "/verwaltung/verbund/behoerden/neu");
  await audit(v, "Behörde hinzufügen");
  await v.fill("#feld-ars", "123");
  await v.click("form.stack-form button[type=submit]");
  if (!(await v.isVisible(".error-summary"))) fail("authority form error summary not shown");
  await audit(v, "Behörde hinzufügen (Fehler)");
  await v.goto(base + "/verwaltung/verbund/zustaendigkeiten/");
  await audit(v, "Zuständigkeiten");
  await vctx.close();
  for (const p of ["/verwaltung/", "/verwaltung/protokoll/"]) {
    await page.goto(base + p);
    await page.setViewportSize({ width: 320, height: 640 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) fail(`${p}: horizontal scrolling at 320 px (${overflow} px)`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  await ctx.close();

  // Keyboard only: an editor signs in and signs out.
  const kctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const k = await kctx.newPage();
  await k.goto(base + "/verwaltung/anmelden");
  let onEmail = false;
  for (let i = 0; i < 10 && !onEmail; i++) {
    await k.keyboard.press("Tab");
    onEmail = await k.evaluate(() => document.activeElement && document.activeElement.id === "email");
  }
  if (!onEmail) fail("e-mail field not reachable with Tab");
  await k.keyboard.type("redaktion@moorbrueck.example");
  await k.keyboard.press("Tab");
  await k.keyboard.type(DEMO_PASSWORD);
  await Promise.all([k.waitForURL(/\/verwaltung\/$/), k.keyboard.press("Enter")]);
  const h1 = await k.textContent("h1");
  if (h1 !== "Übersicht") fail(`keyboard sign-in ended on "${h1}"`);
  // Keyboard only: edit a service, preview, publish, find it in search.
  const tabTo = async (test, max = 80) => {
    for (let i = 0; i < max; i++) {
      await k.keyboard.press("Tab");
      if (await k.evaluate(test)) return true;
    }
    return false;
  };
  if (!(await tabTo(() => document.activeElement.textContent.includes("Leistungen bearbeiten")))) fail("edit link not reachable with Tab");
  await Promise.all([k.waitForURL(/\/leistungen\/$/), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.textContent === "Hund anmelden (Hundesteuer)"))) fail("service link not reachable with Tab");
  await Promise.all([k.waitForURL(/\/leistungen\/\d+$/), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.id === "feld-keywords"))) fail("keywords field not reachable with Tab");
  await k.keyboard.press("End");
  await k.keyboard.type(", Tastaturwort");
  if (!(await tabTo(() => document.activeElement.value === "vorschau"))) fail("preview button not reachable with Tab");
  await Promise.all([k.waitForURL(/\/vorschau$/), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.textContent === "Zurück zur Bearbeitung"))) fail("back link not reachable with Tab");
  await Promise.all([k.waitForURL(/\/leistungen\/\d+$/), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.value === "veroeffentlichen"))) fail("publish button not reachable with Tab");
  await Promise.all([k.waitForURL(/hinweis=veroeffentlicht/), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.textContent === "Zum Portal"))) fail("portal link not reachable with Tab");
  await Promise.all([k.waitForURL(base + "/"), k.keyboard.press("Enter")]);
  if (!(await tabTo(() => document.activeElement.id === "suche-kopf"))) fail("search not reachable with Tab");
  await k.keyboard.type("Tastaturwort");
  await Promise.all([k.waitForURL(/\/suche\?q=Tastaturwort/), k.keyboard.press("Enter")]);
  const hit = await k.locator("ol.results a").first().textContent().catch(() => null);
  if (!hit || !hit.includes("Hund anmelden")) fail(`published keyword not found in search (first hit: ${hit})`);
  await k.goto(base + "/verwaltung/");
  if (!(await tabTo(() => document.activeElement.textContent === "Abmelden"))) fail("sign-out button not reachable with Tab");
  await Promise.all([k.waitForURL(/\/verwaltung\/anmelden/), k.keyboard.press("Enter")]);
  await kctx.close();
}

// The citizen account: every page state, and a keyboard-only sign-in that reads a message.
{
  const cctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const c = await cctx.newPage();
  await c.goto(base + "/konto/registrieren");
  await audit(c, "Konto anlegen");
  await c.fill("#email", "neu@example.org");
  await c.fill("#password", "password1");
  await c.fill("#password2", "password1");
  await c.click("form.stack-form button[type=submit]");
  if (!(await c.isVisible(".error-summary"))) fail("registration error summary not shown");
  await audit(c, "Konto anlegen (Fehler)");
  await c.goto(base + "/konto/passwort-vergessen");
  await audit(c, "Konto: Passwort vergessen");
  await c.goto(base + "/konto/anmelden");
  await audit(c, "Konto: Anmelden");
  const tabTo = async (test, max = 60) => {
    for (let i = 0; i < max; i++) {
      await c.keyboard.press("Tab");
      if (await c.evaluate(test)) return true;
    }
    return false;
  };
  if (!(await tabTo(() => document.activeElement.id === "email"))) fail("account e-mail field not reachable with Tab");
  await c.keyboard.type("buergerin@example.org");
  await c.keyboard.press("Tab");
  await c.keyboard.type("Mein Rad steht im Keller");
  await Promise.all([c.waitForURL(/\/konto\/$/), c.keyboard.press("Enter")]);
  await audit(c, "Konto: Übersicht");
  if (!(await tabTo(() => document.activeElement.textContent === "Postfach"))) fail("Postfach link not reachable with Tab");
  await Promise.all([c.waitForURL(/\/konto\/postfach\/$/), c.keyboard.press("Enter")]);
  await audit(c, "Konto: Postfach");
  if (!(await tabTo(() => document.activeElement.tagName === "A" && document.activeElement.textContent.includes("Ihre Meldebescheinigung")))) fail("message not reachable with Tab");
  await Promise.all([c.waitForURL(/\/konto\/postfach\/\d+$/), c.keyboard.press("Enter")]);
  await audit(c, "Konto: Nachricht");
  if (!(await c.textContent("main")).includes("anbei Ihre Meldebescheinigung")) fail("message text not shown");
  await c.click("form[enctype] button[type=submit]");
  await audit(c, "Konto: Antwort (Fehler)");
  await c.goto(base + "/konto/profil");
  await audit(c, "Konto: Meine Daten");
  await c.fill("#feld-plz", "123");
  await c.click("form.stack-form button[type=submit]");
  if (!(await c.isVisible(".error-summary"))) fail("profile error summary not shown");
  await audit(c, "Konto: Meine Daten (Fehler)");
  await c.goto(base + "/konto/sicherheit");
  await audit(c, "Konto: Sicherheit");
  await c.click("button[value=einrichten]");
  await audit(c, "Konto: zweiten Faktor einrichten");
  await c.goto(base + "/konto/vertrauensniveau?benoetigt=hoch&weiter=/");
  await audit(c, "Konto: Vertrauensniveau");
  await c.goto(base + "/konto/antraege/");
  await audit(c, "Konto: Meine Anträge");
  await c.goto(base + "/konto/termine/");
  await audit(c, "Konto: Meine Termine");
  await c.goto(base + "/konto/finanzen/");
  await audit(c, "Konto: Meine Finanzen");
  if (!(await c.textContent("main")).includes("Grundsteuer 2026, 2. Quartal")) fail("linked claims not listed");
  // A wrong activation code: the error summary leads to the field.
  await c.fill("#code", "ABCD-EFGH-JKLM");
  await c.click("form[action='/konto/finanzen/verknuepfen'] button[type=submit]");
  if (!(await c.isVisible(".error-summary a[href='#code']"))) fail("activation error summary not shown");
  await audit(c, "Konto: Meine Finanzen (Fehler)");
  // One claim: notice, bank details and GiroCode; reflows at 320 px.
  await c.click("table.claims a");
  await c.waitForURL(/\/konto\/finanzen\/\d+$/);
  await audit(c, "Konto: Forderung");
  if (!(await c.isVisible(".girocode svg"))) fail("claim page shows no GiroCode");
  await c.setViewportSize({ width: 320, height: 640 });
  const claimOverflow = await c.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (claimOverflow > 1) fail(`Konto: Forderung: horizontal scrolling at 320 px (${claimOverflow} px)`);
  await c.setViewportSize({ width: 1280, height: 900 });
  await cctx.close();
}

// Applications, JavaScript off and keyboard only: every page state of two demo
// forms (Briefwahlunterlagen with a condition; Osterfeuer with a repeating group and
// an upload) — first page, error summary, each step, check page, saved, receipt.
// The journey runs with JavaScript disabled; axe needs JavaScript, so each state's
// HTML is audited in a second page (same styles through a <base> element).
let applicationStates = 0;
{
  const actx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const a = await actx.newPage();
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const v = await vctx.newPage();
  const check = async (label) => {
    const html = (await a.content()).replace(/<head>/i, `<head><base href="${a.url()}">`);
    await v.setContent(html, { waitUntil: "load" });
    await audit(v, "Antrag: " + label);
    applicationStates++;
  };
  // Focus checks without JavaScript in the page: Playwright's own selector engine.
  const focused = async () => {
    const f = a.locator(":focus");
    if ((await f.count()) === 0) return { id: "", text: "" };
    return { id: (await f.first().getAttribute("id")) || "", text: (await f.first().textContent()) || "" };
  };
  const tabUntil = async (test, max = 80) => {
    for (let i = 0; i < max; i++) {
      await a.keyboard.press("Tab");
      if (test(await focused())) return true;
    }
    return false;
  };
  const type = async (sel, text) => { await a.focus(sel); await a.keyboard.type(text); };
  const press = async (sel, key = "Space") => { await a.focus(sel); await a.keyboard.press(key); };
  // Waits for the new document even when the URL stays the same (a page shown
  // again with its errors).
  const submit = async (sel, url) => { await a.focus(sel); await Promise.all([a.waitForNavigation({ url }), a.keyboard.press("Enter")]); };
  const next = 'button[value="weiter"]';

  // Briefwahlunterlagen.
  await a.goto(base + "/o/moorbrueck/leistungen/briefwahl");
  if (!(await tabUntil((f) => f.text.includes("jetzt online beantragen")))) fail("apply link not reachable with Tab");
  await Promise.all([a.waitForURL(/\/antrag\/briefwahl\/$/), a.keyboard.press("Enter")]);
  await check("Briefwahl Schritt 1");
  // Tab order: the first field comes before the buttons.
  if (!(await tabUntil((f) => f.id === "f-vorname"))) fail("first field not reachable with Tab");
  await a.keyboard.type("Erika");
  await submit(next, /\/antrag\/briefwahl\/$/);
  if (!(await a.isVisible(".error-summary"))) fail("application error summary not shown");
  await check("Briefwahl Schritt 1 (Fehler)");
  // The summary's link leads to the field.
  await a.focus('.error-summary a[href="#f-familienname"]');
  await a.keyboard.press("Enter");
  if (new URL(a.url()).hash !== "#f-familienname") fail("error summary link does not lead to the field");
  await type("#f-familienname", "Musterfrau");
  await type("#f-geburtsdatum", "12.03.1980");
  await type("#f-strasse", "Am Markt 1");
  await type("#f-plz", "29391");
  await type("#f-ort", "Moorbrück");
  await submit(next, /\/versand$/);
  await check("Briefwahl Versand");
  await press("#f-versand-2");
  await submit(next, /\/versand$/);
  await check("Briefwahl Versand (Fehler: andere Anschrift fehlt)");
  await type("#f-versandanschrift", "Hotel Seeblick, Zimmer 4, 29399 Ellerloh");
  await submit(next, /\/erklaerung$/);
  await check("Briefwahl Erklärung");
  await submit(next, /\/erklaerung$/);
  await check("Briefwahl Erklärung (Fehler)");
  await press("#f-versicherung-ja");
  await submit(next, /\/pruefen$/);
  await check("Briefwahl Angaben prüfen");
  const checkText = await a.textContent("main");
  if (!checkText.includes("Hotel Seeblick") || !checkText.includes("Musterfrau")) fail("check page misses answers");
  await submit('form[action$="/gespeichert"] button, a[href$="/gespeichert"]', /\/gespeichert$/);
  await check("Briefwahl gespeichert");
  await type("#email", "kein-at");
  await submit('form.stack-form button[type=submit]', /\/gespeichert$/);
  await check("Briefwahl gespeichert (Fehler)");
  await a.goto(a.url().replace(/gespeichert$/, "pruefen"));
  await submit('form[action$="/absenden"] button[type=submit]', /\/eingang\//);
  await check("Briefwahl Eingangsbestätigung");
  if (!/[A-Z]{3}-\d{4}-\d{6}/.test(await a.textContent(".receipt-number"))) fail("no receipt number on the receipt page");

  // Osterfeuer: repeating group and upload.
  await a.goto(base + "/o/moorbrueck/antrag/osterfeuer/");
  await check("Osterfeuer Schritt 1");
  await type("#f-name", "Schützenverein Moorbrück");
  await type("#f-telefon", "05191 12345");
  await type("#f-email", "feuer@example.org");
  await submit(next, /\/feuer$/);
  await check("Osterfeuer Feuer");
  await type("#f-datum", "24.12.2099");
  await type("#f-ort", "Festwiese am Moor");
  await press("#f-art-1");
  await a.setInputFiles("#f-lageplan", { name: "lageplan.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n%%EOF\n") });
  await type("#g-brandwache-0-name", "Ida Wache");
  await type("#g-brandwache-0-telefon", "0151 1234567");
  await submit('button[value="zeile_hinzufuegen:brandwache"]', /\/feuer(#.*)?$/);
  await check("Osterfeuer Feuer (zweite Brandwache)");
  if ((await a.locator("#g-brandwache-1-name").count()) !== 1) fail("second row not added");
  if (!(await a.textContent("main")).includes("lageplan.pdf")) fail("uploaded file not shown");
  await submit(next, /\/feuer$/);
  await check("Osterfeuer Feuer (Fehler: zweite Brandwache leer)");
  await submit('button[value="zeile_entfernen:brandwache:1"]', /\/feuer(#.*)?$/);
  await submit(next, /\/erklaerung$/);
  await check("Osterfeuer Erklärung");
  await press("#f-versicherung-ja");
  await submit(next, /\/pruefen$/);
  await check("Osterfeuer Angaben prüfen");
  await submit('form[action$="/absenden"] button[type=submit]', /\/eingang\//);
  await check("Osterfeuer Eingangsbestätigung");

  // Hundesteuer: billed by invoice — the receipt's payment part with the bank
  // details and the GiroCode.
  await a.goto(base + "/o/moorbrueck/antrag/hundesteuer/");
  await type("#f-name", "Erika Musterfrau");
  await type("#f-email", "hund@example.org");
  await submit(next, /\/hunde$/);
  await type("#g-hunde-0-rufname", "Bello");
  await type("#g-hunde-0-rasse", "Mischling");
  await type("#g-hunde-0-seit", "01.03.2024");
  await submit(next, /\/zahlung$/);
  await press("#f-versicherung-ja");
  await submit(next, /\/pruefen$/);
  await submit('form[action$="/absenden"] button[type=submit]', /\/eingang\//);
  await check("Hundesteuer Eingangsbestätigung (Rechnung mit GiroCode)");
  const invoice = await a.textContent("main");
  if (!invoice.includes("DE02 1203 0000 0000 2020 51") || (await a.locator(".girocode svg").count()) !== 1) fail("invoice receipt without bank details or GiroCode");
  await actx.close();
  await vctx.close();
}

// BundID (SAML) sign-in against the test IdP: from the sign-in page with JavaScript
// (the hand-over form submits itself), and without JavaScript at level
// "substanziell" (the citizen presses the button).
if (process.argv.includes("--bundid")) {
  // The hand-over page itself, kept from leaving (axe needs JavaScript).
  {
    const actx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Served as is, except that it does not submit itself.
    await actx.route((url) => url.pathname === "/konto/saml/anmelden", async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace("data-autosubmit", "data-kept");
      await route.fulfill({ response, body });
    });
    const a = await actx.newPage();
    await a.goto(base + "/konto/saml/anmelden?niveau=substanziell&weiter=/konto/");
    if ((await a.locator("form[data-kept] button").count()) === 1) await audit(a, "Konto: Weiter zur BundID");
    else fail("BundID hand-over page without its button");
    await actx.close();
  }
  for (const javaScriptEnabled of [true, false]) {
    const bctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled });
    const b = await bctx.newPage();
    b.setDefaultTimeout(15_000);
    if (javaScriptEnabled) {
      await b.goto(base + "/konto/anmelden");
      const link = b.locator("a", { hasText: "Anmelden mit BundID" });
      if ((await link.count()) !== 1) fail("BundID button missing on the sign-in page");
      await link.click();
    } else {
      await b.goto(base + "/konto/saml/anmelden?niveau=substanziell&weiter=/konto/");
      await b.click("form[data-autosubmit] button[type=submit]");
    }
    // The test IdP's answer page: its button posts the response to our ACS.
    await b.waitForSelector("input[name=SAMLResponse]", { state: "attached" });
    await Promise.all([b.waitForURL(/\/konto\/$/), b.click("button, input[type=submit]")]);
    const main = await b.textContent("main");
    const expected = javaScriptEnabled ? "normal" : "substanziell";
    if (!main.includes("Mustermann") || !main.includes(expected)) fail(`BundID sign-in (JavaScript ${javaScriptEnabled}) ended at: ${main.slice(0, 300)}`);
    if (javaScriptEnabled) await audit(b, "Konto nach BundID-Anmeldung");
    await bctx.close();
  }
}

// Case work (after the application journeys above left submissions): the inbox, a
// submission, its error state, and the authority's interfaces page.
let caseStates = 0;
{
  const wctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const w = await wctx.newPage();
  await w.goto(base + "/verwaltung/anmelden");
  await w.fill("#email", "sachbearbeitung@moorbrueck.example");
  await w.fill("#password", DEMO_PASSWORD);
  await Promise.all([w.waitForURL(/\/verwaltung\/$/), w.click("button[type=submit]")]);
  await w.goto(base + "/verwaltung/antraege/?stand=alle");
  await audit(w, "Anträge"); caseStates++;
  const first = w.locator("table.data tbody a").first();
  if ((await first.count()) !== 1) fail("the inbox lists no submission");
  else {
    await Promise.all([w.waitForURL(/\/verwaltung\/antraege\/\d+/), first.click()]);
    await audit(w, "Antrag (Sachbearbeitung)"); caseStates++;
    if ((await w.locator("#feld-stand").count()) === 1) {
      await w.selectOption("#feld-stand", "rueckfrage");
      await w.click("form[action$='/stand'] button[type=submit]");
      if (!(await w.isVisible(".error-summary"))) fail("status change error summary not shown");
      await audit(w, "Antrag: Rückfrage ohne Text (Fehler)"); caseStates++;
    }
  }
  await wctx.close();
  const sctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const s = await sctx.newPage();
  await s.goto(base + "/verwaltung/anmelden");
  await s.fill("#email", "admin@moorbrueck.example");
  await s.fill("#password", DEMO_PASSWORD);
  await Promise.all([s.waitForURL(/\/verwaltung\/anmelden\/code/), s.click("button[type=submit]")]);
  await s.fill("#code", totp("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"));
  await Promise.all([s.waitForURL(/\/verwaltung\/$/), s.click("button[type=submit]")]);
  await s.goto(base + "/verwaltung/behoerden/moorbrueck/schnittstellen/");
  await audit(s, "Schnittstellen"); caseStates++;
  // A new connector in two steps: its type, then only that type's settings.
  await s.check("#art-webhook");
  await Promise.all([s.waitForURL(/[?&]art=webhook/), s.click("form:has(#art-webhook) button[type=submit]")]);
  await audit(s, "Schnittstellen: Webhook einrichten"); caseStates++;
  if ((await s.locator("#email_to, #fit_api, #xdomea_directory").count()) !== 0) fail("connector form shows the fields of other types");
  if ((await s.getAttribute("#webhook_secret", "type")) !== "password") fail("connector secret is not masked");
  await s.fill("#name", "Fachverfahren");
  await s.fill("#webhook_url", "http://fachverfahren.example/eingang");
  await s.click("form[action$='/verbindungen'] button[type=submit]");
  if (!(await s.isVisible(".error-summary"))) fail("connector error summary not shown");
  await audit(s, "Schnittstellen (Fehler)"); caseStates++;
  await s.fill("#client-name", "Wahlamt");
  await s.click("form[action$='/zugaenge'] button[type=submit]");
  if (!(await s.isVisible("#neuer-zugang"))) fail("new API client not shown");
  await audit(s, "Schnittstellen: neuer Zugang"); caseStates++;
  await sctx.close();
}

// Online appointments, JavaScript off and keyboard only (the demo's calendars): from
// the service page through the services (and their error), the triage question (and
// its error), the month, the day (and its error), the held time with the contact
// form (and its error), the booking, moving, cancelling, and an unknown link.
let bookingStates = 0;
{
  const bctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const b = await bctx.newPage();
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const v = await vctx.newPage();
  const check = async (label) => {
    const html = (await b.content()).replace(/<head>/i, `<head><base href="${b.url()}">`);
    await v.setContent(html, { waitUntil: "load" });
    await audit(v, "Termin: " + label);
    bookingStates++;
  };
  const go = async (sel, url) => { await b.focus(sel); await Promise.all([b.waitForNavigation({ url }), b.keyboard.press("Enter")]); };
  const space = async (sel) => { await b.focus(sel); await b.keyboard.press("Space"); };
  const summary = async (what) => { if (!(await b.isVisible(".error-summary"))) fail(`booking: ${what} error summary not shown`); };
  await b.goto(base + "/o/moorbrueck/leistungen/personalausweis");
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await b.keyboard.press("Tab");
    const f = b.locator(":focus");
    reached = (await f.count()) === 1 && ((await f.textContent()) || "").includes("Termin online vereinbaren");
  }
  if (!reached) fail("booking link not reachable with Tab");
  await Promise.all([b.waitForURL(/\/termine\/\?leistung=/), b.keyboard.press("Enter")]);
  await check("Anliegen");
  await space("input[name=leistung]:checked");
  const submitButton = "main form button[type=submit]";
  await go(submitButton, /\/termine\/fragen/);
  await summary("services");
  await check("Anliegen (Fehler)");
  const ausweis = await b.getAttribute("label:has-text('Personalausweis')", "for");
  await space(`#${ausweis}`);
  await go(submitButton, /\/termine\/fragen/);
  await check("Fragen");
  await go(submitButton, /\/termine\/standort/);
  await summary("triage");
  await check("Fragen (Fehler)");
  await space("input[name='a_ausweis-verloren'][value=nein]");
  await go(submitButton, /\/termine\/kalender/);
  await check("Monat");
  await go("a[href*='/termine/tag?']", /\/termine\/tag/);
  await check("Tag");
  await go(submitButton, /\/termine\/halten/);
  await summary("time");
  await check("Tag (Fehler)");
  await space("input[name=beginn]");
  await go(submitButton, /\/termin\/[A-Za-z0-9_-]{43}$/);
  await check("Angaben");
  const manage = b.url();
  await go("form[action$='/bestaetigen'] button[type=submit]", /\/termin\//);
  await summary("contact");
  await check("Angaben (Fehler)");
  await b.focus("#name"); await b.keyboard.type("Erika Musterfrau");
  await b.focus("#email"); await b.keyboard.type("erika@example.org");
  await go("form[action$='/bestaetigen'] button[type=submit]", /neu=1/);
  if (!((await b.textContent("h1")) || "").includes("gebucht")) fail("booking not confirmed");
  await check("Gebucht");
  await go("a[href$='/verschieben']", /\/verschieben$/);
  await check("Verschieben");
  await b.goto(manage);
  await go("form[action$='/absagen'] button[type=submit]", /\/termin\//);
  await check("Abgesagt");
  await b.goto(base + "/termin/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await check("Unbekannter Link");
  await bctx.close();
  await vctx.close();
}

await browser.close();
console.log(`${pages.length * 2 + 2} portal page checks, 61 back-office page states, ${caseStates} case-work page states, 16 account page states, ${applicationStates} application page states, ${bookingStates} booking page states, ${failures.length} failures`);
if (failures.length) process.exit(1);
