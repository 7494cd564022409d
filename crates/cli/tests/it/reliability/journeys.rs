//! Application journeys as a citizen makes them: a Briefwahl application or an
//! Osterfeuer notice with a PDF, from the first page to the receipt, resending the
//! final step after a crash (or giving up), and recording what happened.

use super::OSTERFEUER;
use super::browser::{Browser, Page};
use crate::verwaltung::{enc, hidden};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An acknowledged submission: the final POST was answered with a redirect to the
/// receipt.
pub(crate) struct Ack {
    pub(crate) token: String,
    pub(crate) receipt_url: String,
    pub(crate) cookie: String,
    /// The number the receipt page showed (None when the page could not be fetched
    /// before the next crash; it is fetched again at the end).
    pub(crate) number: Option<String>,
}

/// What the browsers did.
#[derive(Default)]
pub(crate) struct Load {
    /// Form token → the attachment uploaded under it (None: none).
    pub(crate) started: HashMap<String, Option<Vec<u8>>>,
    pub(crate) acks: Vec<Ack>,
    /// Journeys cut off by a crash before their final POST was acknowledged.
    pub(crate) abandoned: u32,
    /// Final POSTs that met a crash and were sent again with the same form token.
    pub(crate) resent: u32,
    /// Answers no crash explains (wrong status codes); must stay empty.
    pub(crate) problems: Vec<String>,
    /// Final POSTs refused with 503, to be sent again once there is room.
    pub(crate) refused: Vec<Refused>,
}

/// A final POST refused with 503 (a full disk): what it takes to send it again.
pub(crate) struct Refused {
    pub(crate) draft: String,
    pub(crate) csrf: String,
    pub(crate) token: String,
    pub(crate) cookies: Vec<(String, String)>,
}

/// Why a journey ended without a receipt.
pub(crate) enum Cut {
    /// The server was not there when the journey began (it is being restarted).
    Down,
    /// The connection failed mid-journey (the server was killed).
    Crash,
    /// An answer no crash explains.
    Problem(String),
    /// 503 "temporarily not possible" (a full disk): the page's text.
    Full(String),
}

fn want(step: &str, r: Result<Page, reqwest::Error>, status: u16) -> Result<Page, Cut> {
    match r {
        Ok(p) if p.status == status => Ok(p),
        Ok(p) if p.status == 503 => Err(Cut::Full(p.body)),
        Ok(p) => {
            // The error summary if there is one, else the start of the page.
            let at = p.body.find("error-summary").unwrap_or(0);
            let excerpt: String = p.body[at..].chars().take(400).collect();
            Err(Cut::Problem(format!("{step}: HTTP {} (expected {status}) {} {excerpt}", p.status, p.location)))
        }
        Err(_) => Err(Cut::Crash),
    }
}

/// The first page of a form and its hidden fields as a request body.
async fn first_page(b: &mut Browser, form: &str) -> Result<String, Cut> {
    let page = match b.get(form).await {
        Err(_) => return Err(Cut::Down),
        r => want("start", r, 200)?,
    };
    Ok(format!("csrf={}&token={}", enc(&hidden(&page.body, "csrf")), enc(&hidden(&page.body, "token"))))
}

/// The draft's URL (`…/<token>/`) and token from the redirect after the first step.
fn draft_of(location: &str, step: &str) -> (String, String) {
    let draft = location.strip_suffix(step).unwrap_or_else(|| panic!("{location} ends with {step}")).to_owned();
    let token = draft.trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    (draft, token)
}

/// A Briefwahl application of `form` (Moorbrück's or Heideland's) up to its receipt.
pub(crate) async fn briefwahl(
    b: &mut Browser,
    form: &str,
    who: &str,
    resend: bool,
    load: &Mutex<Load>,
) -> Result<Ack, Cut> {
    let first = first_page(b, form).await?;
    let body = format!(
        "{first}&aktion=weiter&f.vorname={}&f.familienname=Zuverl%C3%A4ssig&f.geburtsdatum=12.03.1980\
         &f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
        enc(who)
    );
    let r = want("person", b.post(form, body).await, 303)?;
    let (draft, token) = draft_of(&r.location, "versand");
    load.lock().unwrap().started.insert(token.clone(), None);
    let csrf = enc(&hidden(&want("versand", b.get(&r.location).await, 200)?.body, "csrf"));
    let body = format!("csrf={csrf}&aktion=weiter&f.versand=wohnung&f.email={}", enc(&format!("{who}@example.org")));
    want("versand", b.post(&r.location, body).await, 303)?;
    let body = format!("csrf={csrf}&aktion=weiter&f.versicherung=ja");
    want("erklaerung", b.post(&format!("{draft}erklaerung"), body).await, 303)?;
    finish(b, &draft, &csrf, token, resend, load).await
}

/// An Osterfeuer notice with `pdf` as the site plan, up to its receipt.
pub(crate) async fn osterfeuer(
    b: &mut Browser,
    who: &str,
    pdf: Vec<u8>,
    resend: bool,
    load: &Mutex<Load>,
) -> Result<Ack, Cut> {
    let first = first_page(b, OSTERFEUER).await?;
    let body = format!("{first}&aktion=weiter&f.name={}&f.telefon=05191+1&f.email=feuer%40example.org", enc(who));
    let r = want("person", b.post(OSTERFEUER, body).await, 303)?;
    let (draft, token) = draft_of(&r.location, "feuer");
    let csrf = hidden(&want("feuer", b.get(&r.location).await, 200)?.body, "csrf");
    // Known before the upload: a crash during it may still leave the file behind.
    load.lock().unwrap().started.insert(token.clone(), Some(pdf.clone()));
    let fields = [
        ("csrf", csrf.as_str()),
        ("aktion", "weiter"),
        ("f.datum", "24.12.2099"),
        ("f.ort", "Wiese hinter der Mühle"),
        ("f.art", "privat"),
        ("g.brandwache.anzahl", "1"),
        ("g.brandwache.0.name", "Ida Wache"),
        ("g.brandwache.0.telefon", "0151 1"),
    ];
    let r = b.post_multipart(&r.location, &fields, ("f.lageplan", &format!("lageplan-{who}.pdf"), &pdf)).await;
    want("feuer", r, 303)?;
    let csrf = enc(&csrf);
    let body = format!("csrf={csrf}&aktion=weiter&f.versicherung=ja");
    want("erklaerung", b.post(&format!("{draft}erklaerung"), body).await, 303)?;
    finish(b, &draft, &csrf, token, resend, load).await
}

/// The final POST. After a crash a citizen sends it again (reload) — unless `resend`
/// is false: then they gave up, and whatever the server stored stays unacknowledged.
async fn finish(
    b: &mut Browser,
    draft: &str,
    csrf: &str,
    token: String,
    resend: bool,
    load: &Mutex<Load>,
) -> Result<Ack, Cut> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut crashed = false;
    let location = loop {
        match b.post(&format!("{draft}absenden"), format!("csrf={csrf}")).await {
            Ok(p) if p.status == 303 && p.location.contains("/eingang/") => break p.location,
            Ok(p) if p.status == 503 => {
                let refused = Refused {
                    draft: draft.to_owned(),
                    csrf: csrf.to_owned(),
                    token: token.clone(),
                    cookies: b.cookies.clone(),
                };
                load.lock().unwrap().refused.push(refused);
                return Err(Cut::Full(p.body));
            }
            Ok(p) => {
                let excerpt: String = p.body.chars().take(300).collect();
                return Err(Cut::Problem(format!("absenden: HTTP {} {} {excerpt}", p.status, p.location)));
            }
            Err(_) if resend && Instant::now() < deadline => {
                crashed = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) if resend => return Err(Cut::Problem(format!("absenden {token}: no answer within a minute"))),
            Err(_) => return Err(Cut::Crash),
        }
    };
    if crashed {
        load.lock().unwrap().resent += 1;
    }
    let number = match b.get(&location).await {
        Ok(p) if p.status == 200 => receipt_number_in(&p.body),
        _ => None,
    };
    Ok(Ack { token, receipt_url: location, cookie: b.cookie_header(), number })
}

/// Sends a refused final POST again, from the same browser.
pub(crate) async fn resend(port: u16, r: &Refused, load: &Mutex<Load>) -> Result<Ack, Cut> {
    let mut b = Browser::new(port);
    b.cookies.clone_from(&r.cookies);
    finish(&mut b, &r.draft, &r.csrf, r.token.clone(), true, load).await
}

/// `MOO-2026-000123` on a receipt page.
pub(crate) fn receipt_number_in(body: &str) -> Option<String> {
    body.match_indices("MOO-").map(|(i, _)| &body[i..]).find_map(|s| {
        let candidate = s.get(..15)?;
        let b = candidate.as_bytes();
        (b[8] == b'-' && b[4..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)).then(|| candidate.to_owned())
    })
}

/// A number in letters (name fields take no digits): 0 → "a", 27 → "bb".
pub(crate) fn letters(mut n: u32) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

/// A PDF of a few KB, different for every call, with every byte value in it.
pub(crate) fn unique_pdf(who: &str) -> Vec<u8> {
    let mut pdf = format!("%PDF-1.4\n% Lageplan {who} {}\n", amtsweg_web::session::random_token()).into_bytes();
    let n = 2048 + (amtsweg_store::now_ms() % 4096) as usize;
    pdf.extend((0..n).map(|i| (i % 256) as u8));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

/// One application that must go through (no crash expected); its form token.
pub(crate) async fn submit(port: u16, form: &str, who: &str, pdf: Option<Vec<u8>>) -> String {
    let load = Mutex::new(Load::default());
    let mut b = Browser::new(port);
    let r = match pdf {
        Some(pdf) => osterfeuer(&mut b, who, pdf, true, &load).await,
        None => briefwahl(&mut b, form, who, true, &load).await,
    };
    match r {
        Ok(ack) => ack.token,
        Err(Cut::Down | Cut::Crash) => panic!("{form}: the server did not answer"),
        Err(Cut::Problem(p)) => panic!("{form}: {p}"),
        Err(Cut::Full(_)) => panic!("{form}: 503, the disk is full"),
    }
}
