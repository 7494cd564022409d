//! The receipt ("Eingangsbestätigung") of a submission: the page — right after
//! submitting from what the submitting request kept, later from the store — and the
//! PDF/A download. The answers are shown in words by `amtsweg_forms::display`.

use super::journey::{Journey, own_submission};
use super::receipt_page::Receipt;
use crate::AppState;
use crate::error::AppError;
use crate::render::{Crumb, base_context, render_page};
use amtsweg_forms::Form;
use amtsweg_forms::display::{FileInfo, Line};
use amtsweg_portal::submission::SubmissionData;
use amtsweg_store::submissions::SubmissionRow;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

/// A submission's answers as the receipt shows them: the visible steps with their
/// lines, the computed values (label, amount) and the files.
pub(crate) struct ReceiptAnswers {
    sections: Vec<(String, Vec<Line>)>,
    computed: Vec<(String, String)>,
    files: Vec<FileInfo>,
}

impl ReceiptAnswers {
    pub(crate) fn new(form: &Form, data: &SubmissionData) -> Self {
        let files = data.file_infos();
        let sections = amtsweg_forms::display::sections(form, &data.answers, &files)
            .into_iter()
            .map(|s| (s.title, s.lines))
            .collect();
        let computed =
            amtsweg_forms::display::amounts(form, &data.computed).into_iter().map(|a| (a.label, a.value)).collect();
        Self { sections, computed, files }
    }

    /// The values the templates (`answers` macro, `eingang_angaben.html`) take:
    /// sections, computed values and files.
    pub(crate) fn into_context(self) -> (Vec<minijinja::Value>, Vec<minijinja::Value>, Vec<FileInfo>) {
        let sections = self.sections.into_iter().map(|(title, lines)| context! { title, lines }).collect();
        let computed = self.computed.into_iter().map(|(label, value)| context! { label, value }).collect();
        (sections, computed, self.files)
    }

    /// The answers as the built-in `antrag/eingang_angaben.html` renders them,
    /// written directly: the template engine's work per value was a twentieth of the
    /// CPU of a whole application under load. Only for the built-in templates (an
    /// operator's override goes through the engine); a test keeps the two identical.
    fn html(&self) -> String {
        use crate::templates::push_escaped;
        use std::fmt::Write as _;
        let mut out = String::with_capacity(2048);
        for (i, (title, lines)) in self.sections.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                out,
                "<section class=\"check-section\" aria-labelledby=\"abschnitt-{n}\">\n  <h3 id=\"abschnitt-{n}\">"
            );
            push_escaped(&mut out, title);
            out.push_str("</h3>\n  <dl class=\"check-list\">");
            for l in lines {
                out.push_str("<div><dt>");
                push_escaped(&mut out, &l.label);
                out.push_str("</dt><dd>");
                push_escaped(&mut out, &l.value);
                out.push_str("</dd></div>");
            }
            out.push_str("</dl>\n</section>\n");
        }
        if !self.computed.is_empty() {
            out.push_str("<h3>Kosten</h3><dl class=\"computed\">");
            for (label, value) in &self.computed {
                out.push_str("<dt>");
                push_escaped(&mut out, label);
                out.push_str("</dt><dd>");
                push_escaped(&mut out, value);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
        out.push('\n');
        if !self.files.is_empty() {
            out.push_str("<h3>Anlagen</h3><ul>");
            for f in &self.files {
                out.push_str("<li>");
                push_escaped(&mut out, &f.name);
                out.push_str(" (");
                out.push_str(&file_size(f.size));
                out.push_str(")</li>");
            }
            out.push_str("</ul>");
        }
        out
    }

    /// The answers as HTML for the receipt page.
    ///
    /// # Errors
    /// When an operator's template fails to render.
    pub(crate) fn render(self, templates: &crate::templates::Templates) -> Result<String, minijinja::Error> {
        if !templates.has_overrides() {
            return Ok(self.html());
        }
        let (sections, computed, files) = self.into_context();
        templates.render("antrag/eingang_angaben.html", context! { sections, computed, files => file_lines(&files) })
    }
}

/// A file's size as citizens read it: "12,1 kB", "3,4 MB" (binary units, as the
/// PDF receipt says it).
pub(crate) fn file_size(bytes: i64) -> String {
    let b = bytes.max(0);
    let (tenths, unit) =
        if b < 1024 * 1024 { ((b * 10 + 512) / 1024, "kB") } else { ((b / 1024 * 10 + 512) / 1024, "MB") };
    format!("{},{} {unit}", tenths / 10, tenths % 10)
}

/// The files of a receipt for the templates: name and size in words, no checksum.
fn file_lines(files: &[FileInfo]) -> Vec<minijinja::Value> {
    files.iter().map(|f| context! { name => &f.name, size => file_size(f.size) }).collect()
}

/// Answers and file list of a submission as the receipt shows them.
pub(crate) fn receipt_view(
    form: &Form,
    data: &SubmissionData,
) -> (Vec<minijinja::Value>, Vec<minijinja::Value>, Vec<FileInfo>) {
    ReceiptAnswers::new(form, data).into_context()
}

/// The receipt page: right after submitting from what the submitting request kept
/// (see `fresh_receipt`), later from the store.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response, AppError> {
    // `?zahlung=`: what the payment provider's return page learnt.
    let notice = super::zahlung::Outcome::in_query(uri.query());
    show_receipt(&state, j, &headers, &token, notice, None).await
}

/// The receipt page again with why paying could not begin (409).
pub(crate) async fn receipt_with_error(
    state: &AppState,
    j: Journey,
    headers: &HeaderMap,
    token: &str,
    error: String,
) -> Result<Response, AppError> {
    let mut r = show_receipt(state, j, headers, token, None, Some(error)).await?;
    *r.status_mut() = StatusCode::CONFLICT;
    Ok(r)
}

async fn show_receipt(
    state: &AppState,
    mut j: Journey,
    headers: &HeaderMap,
    token: &str,
    notice: Option<super::zahlung::Outcome>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let fresh = state.portal.fresh_receipts.take(token, |f| {
        f.authority_id == j.authority.id
            && f.form_id == j.published.form_id
            && j.may_access(f.citizen_id, &f.browser_hash)
    });
    // Applications with a fee are never kept as fresh receipts: their page always
    // comes from the store, with the payment's current state.
    let (r, payment) = match fresh {
        Some(f) => {
            j.use_version(state, f.form_version).await?;
            let status = j.form.workflow().label(amtsweg_store::submissions::STATUS_RECEIVED, "");
            let r = Receipt {
                number: f.receipt_number,
                submitted_at: f.submitted_at,
                status,
                data: f.data,
                in_account: f.citizen_id.is_some(),
                payment: None,
            };
            (r, None)
        }
        None => {
            let s = own_submission(state, &mut j, token).await?;
            let data = amtsweg_portal::submission::open_data(&state.portal, &s).await?;
            let status = j.form.workflow().label(&s.status, &s.sub_status);
            let payment = amtsweg_portal::payments::view::of_submission(&state.portal, s.authority_id, s.id).await?;
            let shown = match &payment {
                Some(p) => {
                    let pay = super::zahlung::pay_csrf(state, &j, token)?
                        .map(|csrf| (format!("{}/bezahlen", j.receipt_url(token)), csrf));
                    Some(super::receipt_page::PaymentPart {
                        payment: super::zahlung::payment_context(p, pay),
                        notice: notice.map(|n| n.given(&p.status).notice()),
                        error,
                    })
                }
                None => None,
            };
            let r = Receipt {
                number: s.receipt_number,
                submitted_at: s.submitted_at,
                status,
                data,
                in_account: s.citizen_id.is_some(),
                payment: shown,
            };
            (r, payment)
        }
    };
    let angaben = ReceiptAnswers::new(&j.form, &r.data).render(&state.templates)?;
    let page = super::receipt_page::render(state, &j, headers, token, &r, angaben)?;
    let response = super::journey::no_store(axum::response::Html(page).into_response());
    Ok(super::zahlung::allow_provider(response, payment.as_ref()))
}

/// Back after submitting: the draft's pages (check page, steps) went with the draft.
/// For the citizen or browser that sent it, a note with the way to the receipt
/// instead of "not found"; for anyone else still "not found".
pub(crate) async fn after_submission(state: &AppState, j: &Journey, token: &str) -> AppError {
    let s = match state.store.submission_by_token(token).await {
        Ok(Some(s))
            if s.authority_id == j.authority.id
                && s.form_id == j.published.form_id
                && j.may_access(s.citizen_id, &s.browser_hash) =>
        {
            s
        }
        Ok(_) => return AppError::NotFound,
        Err(e) => return e.into(),
    };
    let receipt = j.receipt_url(token);
    let ctx = context! {
        title => "Antrag bereits abgeschickt", receipt_number => &s.receipt_number,
        submitted => amtsweg_portal::time::when(s.submitted_at), authority_name => &j.authority.name,
        receipt => &receipt, again => j.base_url(), in_account => s.citizen_id.is_some(),
        ..super::journey::base(state, j, &HeaderMap::new(), &receipt, "Antrag bereits abgeschickt")
    };
    match crate::render::render_page(state, "antrag/abgeschickt.html", ctx) {
        Ok(html) => AppError::Page(html.0),
        Err(e) => e.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusQuery {
    schluessel: String,
}

/// The status page the confirmation e-mail links to: from any browser, with the key
/// of the link, the reference, service, authority, date and status of a submission —
/// no personal data — and the way to see more (the account, or the browser that
/// applied). A link that is not (or no longer) one of ours says what to do instead.
pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, form_slug, token)): Path<(String, String, String)>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let authority = c.shared_authority_by_slug(&slug).ok_or(AppError::NotFound)?;
    let valid = amtsweg_portal::receipt::status_key_matches(&state.portal, &token, &q.schluessel);
    let found = if valid { state.store.submission_by_token(&token).await? } else { None };
    let published = c.form(authority.id, &form_slug);
    let s =
        found.filter(|s| s.authority_id == authority.id && published.as_ref().is_none_or(|p| p.form_id == s.form_id));
    let path = format!("/o/{slug}/antrag/{form_slug}/status/{token}");
    let crumbs = vec![
        Crumb::link(authority.name.clone(), format!("/o/{}/", authority.slug)),
        Crumb::here("Stand Ihres Antrags".to_owned()),
    ];
    let base = base_context(&state, &c, Some(&authority), &headers, &path, crumbs);
    let Some(s) = s else {
        let ctx = context! { found => false, authority_name => &authority.name, home => format!("/o/{}/", authority.slug), ..base };
        let page = render_page(&state, "antrag/status.html", ctx)?;
        return Ok(super::journey::no_store((StatusCode::NOT_FOUND, page).into_response()));
    };
    let workflow_form = match &published {
        Some(p) => state.store.form_version(p.owner_id, s.form_id, s.form_version).await?.and_then(|v| v.form().ok()),
        None => None,
    };
    let status = match &workflow_form {
        Some(f) => f.workflow().label(&s.status, &s.sub_status),
        None => amtsweg_forms::workflow::Workflow::default().label(&s.status, &s.sub_status),
    };
    let leistung = published
        .as_ref()
        .and_then(|p| p.leistung_id)
        .and_then(|id| c.leistungen_of(authority.id).find(|l| l.id == id))
        .map(|l| context! { name => &l.name, url => format!("/o/{}/leistungen/{}", authority.slug, l.slug) });
    let ctx = context! {
        found => true, receipt_number => &s.receipt_number, title => &s.title, leistung,
        authority_name => &authority.name, home => format!("/o/{}/", authority.slug),
        submitted => amtsweg_portal::time::when(s.submitted_at), status, status_at => amtsweg_portal::time::when(s.status_at),
        in_account => s.citizen_id.is_some(), account_url => format!("/konto/antraege/{}", s.id),
        receipt => format!("/o/{slug}/antrag/{form_slug}/eingang/{token}"),
        ..base
    };
    let page = render_page(&state, "antrag/status.html", ctx)?;
    let mut r = super::journey::no_store(page.into_response());
    // The key is in the address: it must not travel on to other sites.
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(r)
}

/// The receipt as PDF/A.
pub(crate) async fn receipt_pdf(
    State(state): State<AppState>,
    mut j: Journey,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let s = own_submission(&state, &mut j, &token).await?;
    pdf_response(&state, &j.authority, &j.form, &s).await
}

pub(crate) async fn pdf_response(
    state: &AppState,
    authority: &amtsweg_domain::Authority,
    form: &Form,
    s: &SubmissionRow,
) -> Result<Response, AppError> {
    let bytes = amtsweg_portal::receipt::pdf(&state.portal, authority, form, s).await?;
    Ok(crate::download::attachment(bytes, &amtsweg_portal::receipt::file_name(s), "application/pdf"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_forms::{Answer, Answers};
    use amtsweg_portal::submission::SubmittedFile;

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T",
            "steps": [
                {"id": "a", "title": "Person & <Anschrift>", "items": [
                    {"item": "field", "id": "name", "label": "Name", "type": "text"},
                    {"item": "field", "id": "leer", "label": "Zusatz", "type": "text"},
                    {"item": "group", "id": "kinder", "label": "Kind", "repeat": {"min": 0, "max": 3}, "fields": [
                        {"item": "field", "id": "name", "label": "Name", "type": "text"}]}
                ]},
                {"id": "b", "title": "Nachweis", "items": [
                    {"item": "field", "id": "datei", "label": "Nachweis", "type": "file", "accept": ["pdf"], "max_bytes": 1000}
                ]}
            ],
            "computed": [{"id": "gebuehr", "label": "Gebühr \"neu\"", "expr": {"cents": 2600}}]
        }))
        .unwrap()
    }

    fn data(with_extras: bool) -> SubmissionData {
        let mut answers = Answers::new();
        answers.insert("name".into(), Answer::One("Erika <b>Müller</b> & Söhne".into()));
        answers.insert(
            "kinder".into(),
            Answer::Rows(vec![[("name".to_owned(), Answer::One("Ida \"Ida\"".into()))].into_iter().collect()]),
        );
        if with_extras {
            answers.insert("datei".into(), Answer::One("datei:0".into()));
        }
        SubmissionData {
            form: "t".into(),
            version: 1,
            answers,
            computed: if with_extras { vec![("gebuehr".into(), 2600)] } else { Vec::new() },
            files: if with_extras {
                vec![SubmittedFile {
                    field: "datei".into(),
                    name: "Nachweis <1>.pdf".into(),
                    size: 10,
                    sha256: String::new(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn answers_written_directly_equal_the_built_in_template() {
        let templates = crate::templates::Templates::new(None).unwrap();
        let form = form();
        for with_extras in [true, false] {
            let d = data(with_extras);
            let direct = ReceiptAnswers::new(&form, &d).html();
            let (sections, computed, files) = ReceiptAnswers::new(&form, &d).into_context();
            let files = file_lines(&files);
            let engine =
                templates.render("antrag/eingang_angaben.html", context! { sections, computed, files }).unwrap();
            assert_eq!(direct, engine);
            assert!(direct.contains("Erika &lt;b&gt;Müller&lt;/b&gt; &amp; Söhne"), "{direct}");
            assert!(direct.contains("Keine Angabe"), "{direct}");
            assert_eq!(direct.contains("Nachweis &lt;1&gt;.pdf (0,0 kB)"), with_extras, "{direct}");
            assert_eq!(direct.contains("26,00 €"), with_extras, "{direct}");
        }
    }

    #[test]
    fn file_sizes_read_as_citizens_expect() {
        assert_eq!(file_size(0), "0,0 kB");
        assert_eq!(file_size(512), "0,5 kB");
        assert_eq!(file_size(123_456), "120,6 kB");
        assert_eq!(file_size(1024 * 1024), "1,0 MB");
        assert_eq!(file_size(3_500_000), "3,3 MB");
    }

    #[test]
    fn an_operators_answers_template_is_used_instead_of_the_direct_writing() {
        let dir = std::env::temp_dir().join(format!("amtsweg-angaben-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("antrag")).unwrap();
        std::fs::write(
            dir.join("antrag/eingang_angaben.html"),
            "{% for s in sections %}<p class=\"eigen\">{{ s.title }}</p>{% endfor %}",
        )
        .unwrap();
        let templates = crate::templates::Templates::new(Some(dir.clone())).unwrap();
        let form = form();
        let html = ReceiptAnswers::new(&form, &data(false)).render(&templates).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(html, "<p class=\"eigen\">Person &amp; &lt;Anschrift&gt;</p><p class=\"eigen\">Nachweis</p>");
        let built_in = crate::templates::Templates::new(None).unwrap();
        assert!(ReceiptAnswers::new(&form, &data(false)).render(&built_in).unwrap().contains("check-section"));
    }
}
