//! The demo's fees and finances (issue 20, point 7): Stadt Moorbrück takes payments —
//! the Meldebescheinigung's fee online before release through a **simulated**
//! XBezahldienste provider, the Hundesteuer by invoice with IBAN and GiroCode — and a
//! demo citizen's finance account (Personenkonto `MB-10042`) holds open, settled and
//! dunned claims with notices, linked by an activation code the demo prints.
//!
//! Only `amtsweg demo` calls [`seed`], after it started the provider simulator on a
//! listener of its own (`127.0.0.1:0`, a new port at every start): the connector's
//! address is therefore updated at every start. Everything else is created once and
//! left alone afterwards, so what someone changed in the back office stays — except
//! that a fresh activation code is made at every start while the account is not
//! linked yet (a code is shown once and never stored in clear).
//!
//! Kept apart from [`crate::seed::apply`] like the appointments: the tests' Verbund
//! has no payment connectors, so the forms' payment parts fall back to "pay at the
//! counter" there and older tests keep their behaviour.

use amtsweg_domain::payment::{BookingPair, Cents, ClaimInput, ClaimState, PaymentSettings, ServiceBooking};
use amtsweg_portal::Portal;
use amtsweg_portal::finanzen::{ClaimUpload, NoticeUpload};
use amtsweg_store::payments::{KIND_RECHNUNG, KIND_XBEZAHLDIENSTE, Upserted};
use anyhow::{Context, anyhow};

/// The authority that takes payments in the demo.
pub const TOWN: &str = "moorbrueck";
/// The simulated provider's connector. Its name says what it is wherever staff see it.
pub const PROVIDER_NAME: &str = "Demo-Bezahldienst (Simulation – es fließt kein Geld)";
/// The invoice account's connector.
pub const INVOICE_NAME: &str = "Stadtkasse Moorbrück";
/// A valid German IBAN (check digits right) used in examples; no one's real account.
pub const IBAN: &str = "DE02120300000000202051";
/// The BIC of the bank code 120 300 00.
pub const BIC: &str = "BYLADEM1001";
/// The demo citizen.
pub const CITIZEN_EMAIL: &str = "erika.mustermann@moorbrueck.example";
pub const CITIZEN_PASSWORD: &str = "Buergerkonto-Demo-2026";
/// The demo citizen's account (Personenkonto) in the town's finance software.
pub const ACCOUNT: &str = "MB-10042";
/// How long a printed activation code is valid.
pub const CODE_DAYS: i64 = 30;
/// The audit actor of what the demo sets up.
const ACTOR: &str = "system:demo";

/// LeiKa keys of the demo's payable services.
pub const LEIKA_MELDEBESCHEINIGUNG: &str = "99115003012000";
pub const LEIKA_HUNDESTEUER: &str = "99102013104000";

/// What [`seed`] did, for the demo's start message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoPayments {
    /// The simulator's address (the demo connector points there).
    pub simulator_url: String,
    /// Whether the connectors were created now (false: found and updated).
    pub connectors_created: bool,
    /// Whether the demo citizen was created now.
    pub citizen_created: bool,
    /// Claims created now (0 on later starts).
    pub claims_created: usize,
    /// A fresh activation code and its expiry (German date and time), while the
    /// finance account is not linked to anyone.
    pub activation: Option<(String, String)>,
    /// The finance account is linked to a citizen already.
    pub linked: bool,
}

/// Sets up the demo's payments for Stadt Moorbrück; the XBezahldienste connector
/// points at `simulator_url`. Idempotent: a second call updates that address and
/// makes a new activation code while the account is unlinked, nothing else.
/// Without Moorbrück (a database seeded from another file) nothing is done.
///
/// # Errors
/// On store, crypto or object-store errors.
pub async fn seed(portal: &Portal, simulator_url: &str) -> anyhow::Result<Option<DemoPayments>> {
    let Some(town) = portal.store.authority_by_slug(TOWN).await? else {
        return Ok(None);
    };
    let mut out = DemoPayments { simulator_url: simulator_url.to_owned(), ..DemoPayments::default() };
    settings(portal, town.id).await?;
    out.connectors_created = connectors(portal, town.id, simulator_url).await?;
    out.citizen_created = citizen(portal).await?;
    out.claims_created = claims(portal, town.id, &town.name).await?;
    let linked = portal.store.finance_account(town.id, ACCOUNT).await?.is_some_and(|a| a.citizen_id.is_some());
    out.linked = linked;
    if !linked {
        let (code, expires_at) =
            amtsweg_portal::finanzen::create_activation_code(portal, ACTOR, town.id, ACCOUNT, CODE_DAYS)
                .await?
                .map_err(|e| anyhow!("activation code: {e}"))?;
        out.activation = Some((code, amtsweg_portal::time::when(expires_at)));
    }
    Ok(Some(out))
}

/// The town's payment settings, unless someone saved some already: the default
/// Kassenzeichen pattern, a pattern of its own for the dog tax, and the treasury's
/// booking data (Haushaltsstelle, Objektnummer) for both payable services.
async fn settings(portal: &Portal, authority_id: i64) -> anyhow::Result<()> {
    let (_, version) = amtsweg_portal::payments::settings::load_versioned(portal, authority_id).await?;
    if version > 0 {
        return Ok(());
    }
    let settings = PaymentSettings {
        booking: vec![
            ServiceBooking {
                leika: LEIKA_MELDEBESCHEINIGUNG.into(),
                haushaltsstelle: "1.1.2.01.431100".into(),
                objektnummer: "MB-122-EMA".into(),
                kassenzeichen: String::new(),
                extra: vec![BookingPair { key: "kostenstelle".into(), value: "1220".into() }],
            },
            ServiceBooking {
                leika: LEIKA_HUNDESTEUER.into(),
                haushaltsstelle: "6.1.1.01.403200".into(),
                objektnummer: "MB-611-HUNDESTEUER".into(),
                kassenzeichen: "HST-{jahr}-{nr:5}".into(),
                extra: Vec::new(),
            },
        ],
        ..PaymentSettings::default()
    };
    amtsweg_portal::payments::settings::save(portal, ACTOR, authority_id, &settings, 0)
        .await?
        .map_err(|problems| anyhow!("demo payment settings: {}", problems.join("; ")))
}

/// The simulated provider (its address updated to this start's simulator) and the
/// invoice account. Returns whether they were created now.
async fn connectors(portal: &Portal, authority_id: i64, simulator_url: &str) -> anyhow::Result<bool> {
    let existing = portal.store.payment_connectors_of(authority_id).await?;
    let provider = serde_json::json!({
        "base_url": simulator_url,
        "originator_id": "moorbrueck",
        "endpoint_id": "gebuehren",
    })
    .to_string();
    let mut created = false;
    match existing.iter().find(|c| c.kind == KIND_XBEZAHLDIENSTE && c.name == PROVIDER_NAME) {
        Some(c) => {
            amtsweg_portal::payments::connectors::update(portal, authority_id, c.id, c.form_id, &c.name, &provider)
                .await?;
        }
        None => {
            amtsweg_portal::payments::connectors::add(
                portal,
                authority_id,
                None,
                KIND_XBEZAHLDIENSTE,
                PROVIDER_NAME,
                &provider,
            )
            .await?;
            created = true;
        }
    }
    if !existing.iter().any(|c| c.kind == KIND_RECHNUNG && c.name == INVOICE_NAME) {
        let account = serde_json::json!({ "recipient": INVOICE_NAME, "iban": IBAN, "bic": BIC }).to_string();
        amtsweg_portal::payments::connectors::add(portal, authority_id, None, KIND_RECHNUNG, INVOICE_NAME, &account)
            .await?;
        created = true;
    }
    Ok(created)
}

/// The demo citizen, with a confirmed e-mail address. Returns whether it was created now.
async fn citizen(portal: &Portal) -> anyhow::Result<bool> {
    if portal.store.citizen_by_email(CITIZEN_EMAIL).await?.is_some() {
        return Ok(false);
    }
    let password = CITIZEN_PASSWORD.to_owned();
    let hash = tokio::task::spawn_blocking(move || password_auth::generate_hash(password)).await?;
    let mut tx = portal.store.begin().await?;
    let Some(id) = tx.insert_citizen(CITIZEN_EMAIL, &hash).await? else {
        return Ok(false);
    };
    tx.mark_email_verified(id).await?;
    tx.commit().await?;
    Ok(true)
}

/// A claim of the demo account in the current year.
#[allow(clippy::too_many_arguments)]
fn claim(
    kassenzeichen: &str,
    year: i16,
    (month, day): (i8, i8),
    kind: &str,
    title: String,
    cents: i64,
    open: i64,
    state: ClaimState,
    dunning_level: u8,
) -> anyhow::Result<ClaimInput> {
    Ok(ClaimInput {
        kassenzeichen: kassenzeichen.into(),
        due_on: jiff::civil::Date::new(year, month, day).context("a demo due date")?,
        kind: kind.into(),
        title,
        amount: Cents(cents),
        open: Cents(open),
        state,
        dunning_level,
        account: ACCOUNT.into(),
    })
}

/// The account's claims of this year as the finance software would send them:
/// Grundsteuer for the first quarter (settled) and the second (open), the Hundesteuer
/// (open, with its notice) and the Zweitwohnungsteuer (first reminder). Stored
/// through the same path as the API's batches, so a second start changes nothing.
async fn claims(portal: &Portal, authority_id: i64, authority: &str) -> anyhow::Result<usize> {
    let year = amtsweg_portal::time::now_local().year();
    let grundsteuer = notice(
        &format!("Grundsteuerbescheid {year}"),
        authority,
        &[
            "Kassenzeichen: 5.100.10042.7".into(),
            format!("Grundsteuer B für {year}: 493,80 Euro im Jahr"),
            "fällig in vier Raten von je 123,45 Euro am 15.02., 15.05., 15.08. und 15.11.".into(),
        ],
    );
    let hundesteuer = notice(
        &format!("Hundesteuerbescheid {year}"),
        authority,
        &[
            "Kassenzeichen: 6.200.10042.3".into(),
            format!("Hundesteuer für {year}, ein Hund (Bello): 90,00 Euro"),
            format!("fällig am 01.07.{year}"),
        ],
    );
    let mahnung = notice(
        "Zahlungserinnerung Zweitwohnungsteuer",
        authority,
        &[
            "Kassenzeichen: 6.300.10042.1".into(),
            format!("Zweitwohnungsteuer {year}: 240,00 Euro, fällig am 01.04.{year}"),
            "Bitte zahlen Sie den offenen Betrag innerhalb von zwei Wochen.".into(),
        ],
    );
    let pdf = |title: String, file: &str, bytes: &[u8]| NoticeUpload {
        title,
        file_name: file.to_owned(),
        bytes: bytes.to_vec(),
    };
    let items = vec![
        ClaimUpload {
            claim: claim(
                "5.100.10042.7",
                year,
                (2, 15),
                "Grundsteuer",
                format!("Grundsteuer {year}, 1. Rate"),
                12_345,
                0,
                ClaimState::Settled,
                0,
            )?,
            notices: vec![pdf(format!("Grundsteuerbescheid {year}"), "Grundsteuerbescheid.pdf", &grundsteuer)],
        },
        ClaimUpload {
            claim: claim(
                "5.100.10042.7",
                year,
                (5, 15),
                "Grundsteuer",
                format!("Grundsteuer {year}, 2. Rate"),
                12_345,
                12_345,
                ClaimState::Open,
                0,
            )?,
            notices: vec![pdf(format!("Grundsteuerbescheid {year}"), "Grundsteuerbescheid.pdf", &grundsteuer)],
        },
        ClaimUpload {
            claim: claim(
                "6.200.10042.3",
                year,
                (7, 1),
                "Hundesteuer",
                format!("Hundesteuer {year} für Bello"),
                9_000,
                9_000,
                ClaimState::Open,
                0,
            )?,
            notices: vec![pdf(format!("Hundesteuerbescheid {year}"), "Hundesteuerbescheid.pdf", &hundesteuer)],
        },
        ClaimUpload {
            claim: claim(
                "6.300.10042.1",
                year,
                (4, 1),
                "Zweitwohnungsteuer",
                format!("Zweitwohnungsteuer {year}"),
                24_000,
                24_000,
                ClaimState::Dunning,
                1,
            )?,
            notices: vec![pdf("Zahlungserinnerung (1. Mahnstufe)".into(), "Zahlungserinnerung.pdf", &mahnung)],
        },
    ];
    let stored =
        amtsweg_portal::finanzen::upsert_claims(portal, authority_id, ACTOR, items).await?.map_err(|problems| {
            let text: Vec<String> = problems.iter().map(|(i, m)| format!("{i}: {m}")).collect();
            anyhow!("demo claims refused: {}", text.join("; "))
        })?;
    Ok(stored.iter().filter(|(_, u)| matches!(u, Upserted::Created(_))).count())
}

/// A one-page PDF marked as a demo all over: a grey "DEMO" across the page, the
/// authority, the title, `lines`, and a sentence that it is not a real notice.
/// Deterministic (no dates of creation), so the same notice is recognised again.
#[must_use]
pub fn notice(title: &str, authority: &str, lines: &[String]) -> Vec<u8> {
    let mut text = String::new();
    // The watermark: large, light grey, diagonal.
    text.push_str("q 0.85 g BT /F2 150 Tf 0.7071 0.7071 -0.7071 0.7071 170 260 Tm (DEMO) Tj ET Q\n");
    let mut y = 780;
    let mut line = |font: &str, size: i32, s: &str| {
        text.push_str(&format!("BT /{font} {size} Tf 60 {y} Td ({}) Tj ET\n", pdf_text(s)));
        y -= size * 2;
    };
    line("F2", 11, "DEMO – kein echter Bescheid");
    line("F1", 11, &format!("{authority} – Steueramt"));
    line("F2", 16, title);
    line("F1", 11, &format!("Personenkonto {ACCOUNT}"));
    for l in lines {
        line("F1", 11, l);
    }
    line("F1", 9, "Dieses Dokument gehört zur Demo von Amtsweg. Es ist erfunden und hat keine rechtliche Wirkung.");
    let content = latin1(&text);
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(), content, b"\nendstream".to_vec()].concat(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

/// A PDF string literal's content: `(`, `)` and `\` escaped.
fn pdf_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")
}

/// Text in the standard fonts' WinAnsiEncoding: Latin-1 as it is, the few
/// typographic characters the notices use mapped, anything else as `?`.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            '„' => 0x84,
            '–' => 0x96,
            '“' => 0x93,
            c if u32::from(c) < 0x80 || (0xA0..=0xFF).contains(&u32::from(c)) => {
                u8::try_from(u32::from(c)).unwrap_or(b'?')
            }
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn notices_are_small_deterministic_pdfs() {
        let a = super::notice("Hundesteuerbescheid 2026", "Stadt Moorbrück", &["Betrag (90,00 €)".into()]);
        assert!(a.starts_with(b"%PDF-1.4") && a.ends_with(b"%%EOF\n"));
        assert_eq!(a, super::notice("Hundesteuerbescheid 2026", "Stadt Moorbrück", &["Betrag (90,00 €)".into()]));
        assert!(a.len() < 4096);
        // The cross-reference table points at the objects (byte offsets: the file is
        // not UTF-8, so it is read as bytes).
        let tail = &a[a.len() - 40..];
        let at = tail.windows(10).position(|w| w == b"startxref\n").unwrap() + 10;
        let start: usize = std::str::from_utf8(&tail[at..]).unwrap().lines().next().unwrap().parse().unwrap();
        assert!(a[start..].starts_with(b"xref\n0 7\n0000000000 65535 f \n"));
        let first: usize = std::str::from_utf8(&a[start + 29..start + 39]).unwrap().parse().unwrap();
        assert!(a[first..].starts_with(b"1 0 obj"));
        // Umlauts and the euro sign in WinAnsi, parentheses escaped.
        assert!(a.windows(3).any(|w| w == b"br\xFC"));
        assert!(a.windows(4).any(|w| w == b"\\(90"));
        assert!(a.windows(1).any(|w| w == [0x80]));
    }
}
