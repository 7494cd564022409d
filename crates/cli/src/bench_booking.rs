//! `amtsweg bench booking`: a month of appointment times for one location is released
//! at once and virtual citizens race for them through the real HTTP journey — `GET`
//! the day's free times, `POST` the chosen time (hold), follow the `303` to the contact
//! form, `POST` name and e-mail (confirm), follow the `303` to the confirmation — while
//! the same load against a bare handler that only parses a POST body is the baseline.
//! Afterwards the store is checked: no unit of time and counter is booked twice, and
//! every booking a citizen was told about exists and is confirmed.

use crate::bench_client::{Answer, Connection};
use crate::bench_submit::{Backend, cpu_seconds, open, peak_rss_mb, remove};
use crate::seed;
use amtsweg_domain::appointments::{BookingRules, Calendar, CalendarService, slots};
use amtsweg_store::Store;
use anyhow::{Context, anyhow, bail};
use hdrhistogram::Histogram;
use jiff::civil::Date;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const AUTHORITY: &str = "moorbrueck";
/// A service every demo town offers; booked for one person, one unit of time.
const SERVICE: &str = "meldebescheinigung";
const SLOT_MINUTES: u16 = 10;
/// Days ahead the calendar releases (a month).
const WINDOW_DAYS: u16 = 31;

/// The calendar the citizens race for.
struct Setup {
    slug: String,
    authority_id: i64,
    calendar_id: i64,
    leika: String,
    /// The bookable days of the window, in order.
    days: Vec<Date>,
    /// Bookable times (start × counter) when the run starts.
    released: usize,
}

impl Setup {
    fn day_path(&self, day: Date) -> String {
        format!(
            "/o/{}/termine/tag?tag={day}&leistung={}&personen=1&standort={}",
            self.slug, self.leika, self.calendar_id
        )
    }
}

/// Opening hours of the benchmark's office: weekdays 08:00–18:00.
fn office_hours() -> anyhow::Result<amtsweg_domain::OpeningHours> {
    let day = "08:00-18:00";
    Ok(amtsweg_domain::OpeningHours::from_day_map(
        [("mo", day), ("di", day), ("mi", day), ("do", day), ("fr", day)],
        Vec::new(),
    )?)
}

/// A location of the demo town with a calendar of `counters` counters, 10-minute
/// slots on weekdays 08–18 and a window of a month; the town's booking rules without
/// triage questions, double opt-in or a limit per person (the benchmark measures
/// booking, not those steps).
async fn seed_calendar(store: &Store, counters: u16) -> anyhow::Result<Setup> {
    let a = store.authority_by_slug(AUTHORITY).await?.ok_or_else(|| anyhow!("demo authority missing"))?;
    let leika = store
        .leistung(a.id, SERVICE)
        .await?
        .ok_or_else(|| anyhow!("the demo town offers no {SERVICE}"))?
        .leika
        .to_string();
    let hours = office_hours()?;
    let location = amtsweg_store::NewLocation {
        slug: "termin-benchmark".into(),
        name: "Bürgerbüro (Termin-Benchmark)".into(),
        street: "Markt 2".into(),
        plz: "29391".into(),
        city: "Moorbrück".into(),
        accessibility: String::new(),
        hours: hours.clone(),
    };
    let rules = BookingRules {
        hold_minutes: 10,
        double_opt_in: false,
        limit: None,
        triage: Vec::new(),
        ..BookingRules::default()
    };
    let calendar = Calendar {
        active: true,
        slot_minutes: SLOT_MINUTES,
        hours: None,
        counters,
        closed_days: Vec::new(),
        holidays: true,
        blocked: Vec::new(),
        earliest_days: 1,
        latest_days: WINDOW_DAYS,
        services: vec![CalendarService {
            leika: leika.clone(),
            minutes: SLOT_MINUTES,
            extra_person_minutes: SLOT_MINUTES,
            max_persons: 1,
        }],
    };
    let problems = calendar.validate();
    if !problems.is_empty() {
        bail!("the benchmark's calendar is invalid: {}", problems.join(" "));
    }
    let rules_version = store.appointment_rules(a.id).await?.map_or(0, |r| r.version);
    let mut tx = store.begin().await?;
    let location_id = tx.insert_location(a.id, &location).await?;
    tx.save_appointment_rules(a.id, &serde_json::to_string(&rules)?, rules_version)
        .await?
        .ok_or_else(|| anyhow!("the booking rules changed while seeding"))?;
    let (calendar_id, _) = tx
        .save_appointment_calendar(a.id, location_id, &serde_json::to_string(&calendar)?, 0)
        .await?
        .ok_or_else(|| anyhow!("the location already has a calendar"))?;
    tx.commit().await?;

    // What is released: every start time of every day of the window, on every counter.
    let now = amtsweg_portal::time::now_local();
    let (first, last) = slots::window(&calendar, &hours, now);
    let (mut days, mut released) = (Vec::new(), 0);
    let mut day = first;
    while day <= last {
        let free = slots::day_times(&calendar, &hours, day, 1, now, &|_, _| false).len();
        if free > 0 {
            days.push(day);
            released += free * usize::from(counters);
        }
        day = day.tomorrow()?;
    }
    Ok(Setup { slug: AUTHORITY.into(), authority_id: a.id, calendar_id, leika, days, released })
}

/// A browser: one keep-alive connection, its cookies, and the address it comes from
/// (sent as `X-Forwarded-For` through the trusted local proxy, so each virtual
/// citizen is a client of its own, as real citizens are).
struct Browser {
    conn: Connection,
    origin: String,
    forwarded: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn connect(addr: SocketAddr, n: usize) -> anyhow::Result<Self> {
        let conn = Connection::connect(addr).await?;
        Ok(Self { origin: conn.origin(), conn, forwarded: address(n), cookies: Vec::new() })
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> anyhow::Result<Answer> {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
        headers.push(("x-forwarded-for", &self.forwarded));
        if !cookie.is_empty() {
            headers.push(("cookie", &cookie));
        }
        if form.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
            headers.push(("origin", &self.origin));
        }
        let a = self.conn.send(method, path, &headers, form.map(str::as_bytes)).await?;
        for c in &a.cookies {
            let Some((k, v)) = c.split_once('=') else { continue };
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        Ok(a)
    }
}

/// The `n`th address of the network 10.0.0.0/8.
fn address(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// The fields of one form of a page, as a browser would send them.
#[derive(Debug, Default)]
struct PageForm {
    action: String,
    /// Hidden inputs and preset values, sent as they are.
    fixed: Vec<(String, String)>,
    /// Radio buttons and named submit buttons: (name, value); one is chosen.
    choices: Vec<(String, String)>,
    /// Text inputs the citizen types into: (type, name).
    typed: Vec<(String, String)>,
}

/// The value of attribute `key` in a tag (`key="…"`, preceded by white space).
fn attr<'a>(tag: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key}=\"");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&pat) {
        let at = from + i;
        if tag[..at].ends_with(char::is_whitespace) {
            let rest = &tag[at + pat.len()..];
            return rest.find('"').map(|end| &rest[..end]);
        }
        from = at + pat.len();
    }
    None
}

/// Whether a tag carries the boolean attribute `key`.
fn flag(tag: &str, key: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .any(|w| w == key || w.starts_with(&format!("{key}=")))
}

/// Undoes the escaping of the templates (`& < > " '`).
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The first form of `page` whose action contains `needle`.
fn find_form(page: &str, needle: &str) -> Option<PageForm> {
    let mut rest = page;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let head_end = after.find('>')?;
        let action = attr(&after[..head_end], "action").map(unescape).unwrap_or_default();
        if action.contains(needle) {
            let end = after.find("</form>").unwrap_or(after.len());
            return Some(read_form(action, &after[head_end..end]));
        }
        rest = &after[head_end..];
    }
    None
}

fn read_form(action: String, inner: &str) -> PageForm {
    let mut form = PageForm { action, ..PageForm::default() };
    for piece in inner.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        let kind = tag.split_whitespace().next().unwrap_or_default();
        let name = attr(tag, "name").map(unescape);
        let value = || attr(tag, "value").map(unescape).unwrap_or_default();
        match (kind, name) {
            ("input", Some(name)) => {
                let ty = attr(tag, "type").unwrap_or("text").to_ascii_lowercase();
                match ty.as_str() {
                    "hidden" => form.fixed.push((name, value())),
                    "radio" if !flag(tag, "disabled") => form.choices.push((name, value())),
                    "checkbox" if flag(tag, "checked") || flag(tag, "required") => form.fixed.push((name, value())),
                    "text" | "email" | "tel" if value().is_empty() => form.typed.push((ty, name)),
                    "text" | "email" | "tel" => form.fixed.push((name, value())),
                    _ => {}
                }
            }
            // Named submit buttons are choices too ("the next free times" as buttons).
            ("button", Some(name)) if !flag(tag, "disabled") => form.choices.push((name, value())),
            _ => {}
        }
    }
    form
}

/// A small, fast pseudo-random generator (SplitMix64): which day and time a citizen
/// picks needs no cryptographic quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        usize::try_from(z % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

fn encode(fields: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// What one virtual citizen did.
struct Citizen {
    /// The manage tokens of the bookings the citizen was shown as confirmed.
    tokens: Vec<String>,
    journeys_us: Histogram<u64>,
    holds_us: Histogram<u64>,
    confirms_us: Histogram<u64>,
    /// The GETs of the journey: day page, contact form, confirmation page.
    pages_us: Histogram<u64>,
    /// Holds refused because another citizen was faster.
    taken: u64,
    errors: u64,
    /// What went wrong first, for the summary.
    first_error: Option<String>,
}

impl Citizen {
    fn error(&mut self, step: &str, a: &Answer) {
        self.errors += 1;
        if self.first_error.is_none() {
            let body: String = a.body.chars().take(300).collect();
            self.first_error = Some(format!("{step}: {} {} {body}", a.status, a.location));
        }
    }
}

fn us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX).max(1)
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// The manage token in `/termin/<token>` (a redirect target).
fn token_of(location: &str) -> Option<&str> {
    let rest = location.split("/termin/").nth(1)?;
    let token = rest.split(['/', '?', '#']).next()?;
    (!token.is_empty()).then_some(token)
}

/// One citizen booking again and again until `until` or until no day has a free time
/// left (a new browser for each booking).
async fn citizen(addr: SocketAddr, setup: Arc<Setup>, n: usize, until: Instant) -> anyhow::Result<Citizen> {
    let mut out = Citizen {
        tokens: Vec::new(),
        journeys_us: histogram()?,
        holds_us: histogram()?,
        confirms_us: histogram()?,
        pages_us: histogram()?,
        taken: 0,
        errors: 0,
        first_error: None,
    };
    let mut rng = Rng(0x5eed_0000_0000 ^ (n as u64).wrapping_mul(0x1000_0000_01b3));
    let mut days = setup.days.clone();
    let mut browser = Browser::connect(addr, n).await?;
    let mut visit = 0_usize;
    'booking: while Instant::now() < until && !days.is_empty() {
        browser.cookies.clear();
        // Each booking is another citizen on another line: the per-client limits
        // (open holds, bookings per hour) must not count the load generator.
        visit += 1;
        browser.forwarded = address((visit << 8) | (n & 0xff));
        let start = Instant::now();
        let d = rng.below(days.len());
        let path = setup.day_path(days[d]);
        let page = browser.send("GET", &path, None).await?;
        out.pages_us.record(us(start))?;
        if page.status != 200 {
            out.error(&format!("GET {path}"), &page);
            continue;
        }
        let mut form = match find_form(&page.body, "/termine/halten") {
            Some(f) if !f.choices.is_empty() => f,
            _ => {
                // The day is booked out: this citizen no longer asks for it.
                days.swap_remove(d);
                continue;
            }
        };
        // Hold: a refusal ("just taken") shows the next free times; pick one of them.
        let manage = loop {
            let (name, value) = form.choices[rng.below(form.choices.len())].clone();
            let mut fields = form.fixed.clone();
            fields.push((name, value));
            let hold_start = Instant::now();
            let r = browser.send("POST", &form.action, Some(&encode(&fields))).await?;
            out.holds_us.record(us(hold_start))?;
            if r.status == 303 && token_of(&r.location).is_some() {
                break r.location;
            }
            // 409: someone else was faster; anything else is an error of the run.
            if r.status != 409 {
                out.error("Halten", &r);
                continue 'booking;
            }
            out.taken += 1;
            match find_form(&r.body, "/termine/halten") {
                Some(f) if !f.choices.is_empty() => form = f,
                _ => continue 'booking,
            }
        };
        // The contact form while the time is held.
        let page_start = Instant::now();
        let page = browser.send("GET", &manage, None).await?;
        out.pages_us.record(us(page_start))?;
        let Some(contact) = (page.status == 200).then(|| find_form(&page.body, "/bestaetigen")).flatten() else {
            out.error("Kontaktformular", &page);
            continue;
        };
        let mut fields = contact.fixed.clone();
        for (ty, name) in &contact.typed {
            let value = match ty.as_str() {
                "email" => format!("buerger{n}.{}@example.org", out.tokens.len()),
                "tel" => "05161 123456".to_owned(),
                _ => "Erika Musterfrau".to_owned(),
            };
            fields.push((name.clone(), value));
        }
        let confirm_start = Instant::now();
        let r = browser.send("POST", &contact.action, Some(&encode(&fields))).await?;
        out.confirms_us.record(us(confirm_start))?;
        let shown = match r.status {
            303 => {
                let page_start = Instant::now();
                let shown = browser.send("GET", &r.location, None).await?;
                out.pages_us.record(us(page_start))?;
                shown
            }
            _ => r,
        };
        let Some(token) = token_of(&manage) else { continue };
        if shown.status != 200 || !shown.body.contains("Ihr Termin ist gebucht") {
            out.error("Bestätigen", &shown);
            continue;
        }
        out.journeys_us.record(us(start))?;
        out.tokens.push(token.to_owned());
    }
    Ok(out)
}

/// The baseline: a contact form's POST body to a handler that only parses it.
async fn bare(addr: SocketAddr, n: usize, until: Instant) -> anyhow::Result<(u64, Histogram<u64>)> {
    let mut hist = histogram()?;
    let mut browser = Browser::connect(addr, n).await?;
    let mut ok = 0;
    let body = "csrf=x&name=Erika+Musterfrau&email=erika%40example.org&telefon=05161+123456&anmerkungen=";
    while Instant::now() < until {
        let start = Instant::now();
        let r = browser.send("POST", "/_bench/formular", Some(body)).await?;
        hist.record(us(start))?;
        if r.status == 200 {
            ok += 1;
        }
    }
    Ok((ok, hist))
}

/// What the store holds after the run.
struct Checked {
    /// Pairs of active bookings on one counter whose times overlap.
    double_bookings: usize,
    /// Standing bookings that do not own all their unit rows (time × counter): the
    /// primary key of `appointment_units` would not protect their times.
    unprotected: usize,
    /// Occupied unit rows that belong to no standing booking (times blocked for
    /// nothing; informational — a hold whose confirmation failed keeps its units until
    /// it runs out).
    orphan_units: usize,
    /// Bookings a citizen was shown as confirmed that are not confirmed in the store.
    missing: usize,
    confirmed: usize,
}

async fn check(
    store: &Store,
    portal: &amtsweg_portal::Portal,
    setup: &Setup,
    tokens: &[String],
) -> anyhow::Result<Checked> {
    let now = amtsweg_store::now_ms();
    let (from, to) = (now - 86_400_000, now + i64::from(WINDOW_DAYS + 7) * 86_400_000);
    let rows = store.appointments_between(setup.authority_id, setup.calendar_id, from, to).await?;
    let active = ["held", "preconfirmed", "confirmed", "attended", "missed"];
    let mut by_counter: std::collections::BTreeMap<i64, Vec<(i64, i64)>> = std::collections::BTreeMap::new();
    let mut confirmed = 0;
    for r in &rows {
        if r.status == "confirmed" {
            confirmed += 1;
        }
        if active.contains(&r.status.as_str()) {
            by_counter.entry(r.counter).or_default().push((r.starts_at, r.ends_at));
        }
    }
    let mut double_bookings = 0;
    for times in by_counter.values_mut() {
        times.sort_unstable();
        // Each booking against every later one that starts before it ends.
        for (i, (_, end)) in times.iter().enumerate() {
            double_bookings += times[i + 1..].iter().take_while(|(s, _)| s < end).count();
        }
    }
    // Every unit of every standing booking must be a row of its own, on the booking's
    // counter — whatever the counter number, also beyond today's `counters`.
    let mut occupied: std::collections::HashSet<(i64, i64)> =
        store.occupied_units(setup.calendar_id, from, to, now).await?.into_iter().collect();
    let slot_ms = i64::from(SLOT_MINUTES) * 60_000;
    let mut unprotected = 0;
    for r in rows.iter().filter(|r| active.contains(&r.status.as_str())) {
        let owned = (0..r.units).filter(|i| occupied.remove(&(r.starts_at + i * slot_ms, r.counter))).count();
        if r.units < 1 || i64::try_from(owned).unwrap_or(0) != r.units || r.ends_at != r.starts_at + r.units * slot_ms {
            unprotected += 1;
        }
    }
    let orphan_units = occupied.len();
    let mut missing = 0;
    for t in tokens {
        let found = amtsweg_portal::appointments::booking::by_token(portal, t).await?;
        if !found.is_some_and(|v| v.status == amtsweg_domain::appointments::AppointmentStatus::Confirmed) {
            missing += 1;
        }
    }
    Ok(Checked { double_bookings, unprotected, orphan_units, missing, confirmed })
}

pub async fn run(
    pg: Option<String>,
    concurrency: usize,
    seconds: u64,
    counters: u16,
    group_commit: bool,
) -> anyhow::Result<()> {
    if concurrency == 0 || seconds == 0 || counters == 0 {
        bail!("--concurrency, --seconds and --counters must be at least 1");
    }
    let started = Instant::now();
    let (store, backend) = open(pg.as_deref()).await?;
    let result =
        measure(&store, &backend, concurrency, Duration::from_secs(seconds), counters, group_commit, started).await;
    store.close().await;
    remove(backend).await?;
    result
}

async fn measure(
    store: &Store,
    backend: &Backend,
    concurrency: usize,
    duration: Duration,
    counters: u16,
    group_commit: bool,
    started: Instant,
) -> anyhow::Result<()> {
    store.migrate().await?;
    seed::apply(store, &seed::parse(seed::DEMO)?).await?;
    let setup = Arc::new(seed_calendar(store, counters).await.context("cannot set up the calendar")?);
    let objects = match backend {
        Backend::Sqlite(dir) => dir.join("objects"),
        Backend::Postgres { db, .. } => std::env::temp_dir().join(format!("{db}-objects")),
    };
    let mut limits = amtsweg_web::limits::LimitsConfig::default().without_request_rates();
    // The virtual citizens come through this "proxy" with addresses of their own, so
    // the limits per client (holds at once) see 64 citizens, not one.
    limits.trusted_proxies = vec!["127.0.0.1/32".parse()?];
    let config = amtsweg_web::WebConfig {
        master_key: Some(amtsweg_portal::Keyring::new_master_key()),
        objects_dir: Some(objects),
        limits,
        appointments: amtsweg_portal::appointments::writer::AppointmentsConfig { group_commit },
        ..amtsweg_web::WebConfig::default()
    };
    let state = amtsweg_web::AppState::new(store.clone(), config, crate::printer()).await?;
    let portal = state.portal.clone();
    let group_commit = portal.bookings.is_some();
    let bare_route = axum::Router::new().route(
        "/_bench/formular",
        axum::routing::post(|axum::Form(f): axum::Form<Vec<(String, String)>>| async move { f.len().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = amtsweg_web::router_with(state, bare_route).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let setup_time = started.elapsed();
    let name = match backend {
        Backend::Sqlite(_) => "SQLite",
        Backend::Postgres { .. } => "PostgreSQL",
    };
    if setup.released < 2000 {
        bail!("only {} bookable times in the window; at least 2,000 are needed (more --counters)", setup.released);
    }
    eprintln!(
        "Terminvergabe auf {name}: {} Zeiten an {} Tagen ({counters} Schalter) werden freigegeben; {concurrency} Bürgerinnen und Bürger buchen gleichzeitig (höchstens {} s), dann dieselbe Last gegen einen Handler, der nur das Formular liest …",
        setup.released,
        setup.days.len(),
        duration.as_secs()
    );

    let cpu_before = cpu_seconds();
    let until = Instant::now() + duration;
    let begin = Instant::now();
    let tasks: Vec<_> = (0..concurrency).map(|n| tokio::spawn(citizen(addr, setup.clone(), n, until))).collect();
    let mut tokens = Vec::new();
    let (mut journeys, mut holds, mut confirms, mut pages) = (histogram()?, histogram()?, histogram()?, histogram()?);
    let (mut taken, mut errors, mut first_error) = (0, 0, None);
    for t in tasks {
        let c = t.await??;
        tokens.extend(c.tokens);
        journeys.add(c.journeys_us)?;
        holds.add(c.holds_us)?;
        confirms.add(c.confirms_us)?;
        pages.add(c.pages_us)?;
        taken += c.taken;
        errors += c.errors;
        first_error = first_error.or(c.first_error);
    }
    let elapsed = begin.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let rss = peak_rss_mb();

    let bare_duration = duration.min(elapsed.max(Duration::from_secs(3)));
    let until = Instant::now() + bare_duration;
    let bare_begin = Instant::now();
    let tasks: Vec<_> = (0..concurrency).map(|n| tokio::spawn(bare(addr, n, until))).collect();
    let mut bare_n = 0;
    let mut bare_hist = histogram()?;
    for t in tasks {
        let (n, h) = t.await??;
        bare_n += n;
        bare_hist.add(h)?;
    }
    let bare_rps = bare_n as f64 / bare_begin.elapsed().as_secs_f64();

    let checked = check(store, &portal, &setup, &tokens).await?;
    let per_s = tokens.len() as f64 / elapsed.as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let ratio = per_s / bare_rps;
    // A booking whose units are not all rows of its own is as bad as an overlap: the
    // database would not stop a second booking of its time.
    let doubles = checked.double_bookings + checked.unprotected;
    let target_met = per_s >= 1000.0 && ms(&journeys, 0.99) < 50.0 && doubles == 0 && checked.missing == 0;
    println!("Einrichtung (Migration, Demo, Kalender): {:.1} s", setup_time.as_secs_f64());
    println!(
        "Buchungen: {} von {} freigegebenen Zeiten in {:.1} s = {per_s:.0}/s ({name}, {concurrency} gleichzeitig; Ziel ≥ 1000/s mit SQLite); {taken}-mal war die gewählte Zeit gerade vergeben",
        tokens.len(),
        setup.released,
        elapsed.as_secs_f64()
    );
    println!(
        "Dauer einer ganzen Buchung (Tag, Halten, Kontaktformular, Bestätigen, Bestätigungsseite): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (Ziel p99 < 50 ms); Halten allein p99 {:.1} ms, Bestätigen allein p99 {:.1} ms, Seitenabrufe (Tag, Kontaktformular, Bestätigung) p50 {:.1} ms p99 {:.1} ms",
        ms(&journeys, 0.5),
        ms(&journeys, 0.99),
        journeys.max() as f64 / 1000.0,
        ms(&holds, 0.99),
        ms(&confirms, 0.99),
        ms(&pages, 0.5),
        ms(&pages, 0.99)
    );
    println!(
        "CPU: {cpu:.1} s in {:.1} s ({:.2} Kerne, Server und Lastgenerator zusammen); Speicher (Spitze): {rss:.0} MB",
        elapsed.as_secs_f64(),
        cpu / elapsed.as_secs_f64()
    );
    println!(
        "Vergleich: Handler, der nur das Formular liest: {bare_rps:.0} Anfragen/s, p99 {:.2} ms; Verhältnis Buchungen/Handler {ratio:.4}",
        ms(&bare_hist, 0.99)
    );
    println!(
        "Geprüft: {} Bestätigungen gezeigt, {} fehlen im Speicher, {} bestätigte Termine gespeichert, {} doppelt belegte Zeiten ({} Überschneidungen, {} Buchungen ohne alle eigenen Einheiten), {} belegte Einheiten ohne Buchung, {errors} Fehler",
        tokens.len(),
        checked.missing,
        checked.confirmed,
        doubles,
        checked.double_bookings,
        checked.unprotected,
        checked.orphan_units
    );
    if let Some(e) = &first_error {
        println!("Erster Fehler: {e}");
    }
    let json = serde_json::json!({
        "bench": "booking", "backend": name.to_lowercase(), "concurrency": concurrency, "counters": counters,
        "group_commit": group_commit,
        "released": setup.released, "days": setup.days.len(), "bookings": tokens.len(),
        "bookings_per_s": per_s.round(), "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
        "p50_ms": ms(&journeys, 0.5), "p99_ms": ms(&journeys, 0.99), "max_ms": journeys.max() as f64 / 1000.0,
        "hold_post_p99_ms": ms(&holds, 0.99), "confirm_post_p99_ms": ms(&confirms, 0.99),
        "page_get_p50_ms": ms(&pages, 0.5), "page_get_p99_ms": ms(&pages, 0.99),
        "taken": taken, "cpu_seconds": (cpu * 10.0).round() / 10.0, "peak_rss_mb": rss.round(),
        "bare_rps": bare_rps.round(), "ratio": (ratio * 10000.0).round() / 10000.0,
        "errors": errors, "missing_bookings": checked.missing, "stored_confirmed": checked.confirmed,
        "overlaps": checked.double_bookings, "unprotected_bookings": checked.unprotected,
        "orphan_units": checked.orphan_units, "double_bookings": doubles, "target_met": target_met,
    });
    println!("{json}");
    if doubles > 0 {
        bail!("{doubles} times are booked more than once");
    }
    if checked.missing > 0 {
        bail!("{} bookings shown to citizens are not confirmed in the store", checked.missing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{find_form, token_of};

    #[test]
    fn forms_are_read_as_a_browser_sends_them() {
        let page = r#"<form action="/suche" method="get"><input name="q"></form>
<form method="post" action="/o/moorbrueck/termine/halten"><input type="hidden" name="csrf" value="a&amp;b">
<input type="hidden" name="leistung" value="99"><fieldset><input type="radio" id="z1" name="zeit" value="2026-12-08T09:10">
<label for="z1">09:10</label><input type="radio" name="zeit" value="2026-12-08T09:20" disabled></fieldset>
<button type="submit">Weiter</button></form>"#;
        let f = find_form(page, "/termine/halten").unwrap();
        assert_eq!(f.action, "/o/moorbrueck/termine/halten");
        assert_eq!(f.fixed, vec![("csrf".to_owned(), "a&b".to_owned()), ("leistung".to_owned(), "99".to_owned())]);
        assert_eq!(f.choices, vec![("zeit".to_owned(), "2026-12-08T09:10".to_owned())]);
        assert!(find_form(page, "/bestaetigen").is_none());
        let contact = r#"<form action="/termin/abc/bestaetigen" method="post"><input type="hidden" name="csrf" value="x">
<input id="n" name="name" type="text" required><input id="e" name="email" type="email"><input name="telefon" type="tel">
<textarea name="anmerkungen"></textarea><input type="checkbox" name="datenschutz" value="ja" required></form>"#;
        let f = find_form(contact, "/bestaetigen").unwrap();
        assert_eq!(f.typed.len(), 3);
        assert!(f.fixed.contains(&("datenschutz".to_owned(), "ja".to_owned())));
        let refused = r#"<form method="post" action="/o/m/termine/halten"><input type="hidden" name="csrf" value="c">
<ul><li><button type="submit" name="beginn" value="2026-12-08T09:30" class="secondary">Di, 09:30 Uhr</button></li>
<li><button type="submit" name="beginn" value="2026-12-08T09:40">Di, 09:40 Uhr</button></li></ul></form>"#;
        let f = find_form(refused, "/termine/halten").unwrap();
        assert_eq!(f.choices.len(), 2);
        assert_eq!(f.choices[1], ("beginn".to_owned(), "2026-12-08T09:40".to_owned()));
    }

    #[test]
    fn the_manage_token_is_taken_from_the_redirect() {
        assert_eq!(token_of("/termin/T0k3n"), Some("T0k3n"));
        assert_eq!(token_of("http://x/termin/T0k3n?neu=1"), Some("T0k3n"));
        assert_eq!(token_of("/termine/"), None);
    }
}
