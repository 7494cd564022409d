//! The web layer's part of the hand-off: it opens sealed submissions into packages
//! for the delivery worker (answers, files, the receipt PDF), opens connector
//! settings, and signs the expiring download links that webhooks carry instead of
//! the files themselves.

use crate::AppState;
use crate::antrag::submit::{open_data, render_receipt};
use crate::casework;
use crate::error::AppError;
use crate::konto::daten::authority_scope;
use amtsweg_handoff::deliver::{Links, Source};
use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm};
use amtsweg_store::handoff::{ConnectorRow, DeliveryRow};

/// Purpose connector settings are sealed for.
const CONNECTOR_CONFIG: &str = "connector:config";

/// How long a download link in a webhook stays valid.
const LINK_DAYS: i64 = 7;

/// Seals a connector's settings (they hold secrets) under the authority's key.
///
/// # Errors
/// On crypto or store errors.
pub async fn seal_config(state: &AppState, authority_id: i64, json: &str) -> Result<String, AppError> {
    Ok(state.keyring.seal(&state.store, &authority_scope(authority_id), CONNECTOR_CONFIG, json.as_bytes()).await?)
}

/// Opens a connector's settings.
///
/// # Errors
/// When they do not open (wrong key, changed data).
pub async fn open_config(state: &AppState, c: &ConnectorRow) -> Result<String, AppError> {
    Ok(state.keyring.open_text(&state.store, &authority_scope(c.authority_id), CONNECTOR_CONFIG, &c.config).await?)
}

/// A signed download token for file `file` (0: the receipt PDF) of a submission,
/// valid until `expires` (ms).
///
/// # Errors
/// On crypto errors.
pub fn download_token(state: &AppState, submission: i64, file: i64, expires: i64) -> Result<String, AppError> {
    let payload = format!("{submission}.{file}.{expires}");
    let mac = state.keyring.mac(&format!("download|{payload}")).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("{payload}.{mac}"))
}

/// Checks a download token: (submission, file) when it is genuine and not expired.
#[must_use]
pub fn check_download_token(state: &AppState, token: &str) -> Option<(i64, i64)> {
    let mut parts = token.split('.');
    let (s, f, e, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let expected = state.keyring.mac(&format!("download|{s}.{f}.{e}")).ok()?;
    let genuine: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.as_bytes()).into();
    let expires: i64 = e.parse().ok()?;
    if !genuine || expires < amtsweg_store::now_ms() {
        return None;
    }
    Some((s.parse().ok()?, f.parse().ok()?))
}

/// The package of a submission of `authority_id`, opened.
///
/// # Errors
/// Not found, store, object-store or crypto errors.
pub async fn package(state: &AppState, authority_id: i64, submission_id: i64, key: &str) -> Result<Package, AppError> {
    let case = casework::open_case(state, authority_id, submission_id).await?;
    let s = &case.row;
    let data = open_data(state, s).await?;
    let mut files = Vec::new();
    for f in state.store.submission_files(s.id).await? {
        let bytes = crate::antrag::read_file(state, authority_id, &f.object_key).await?;
        files.push(PackageFile {
            id: f.id,
            field: f.field.clone(),
            name: crate::antrag::open_file_name(state, authority_id, &f.file_name).await,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone(),
            bytes,
        });
    }
    let receipt_pdf = render_receipt(state, &case.authority, &case.form, s).await?;
    let catalogue = state.catalogue();
    let leistung = catalogue
        .form_by_id(authority_id, s.form_id)
        .and_then(|p| p.leistung_id)
        .and_then(|id| catalogue.leistungen.iter().find(|l| l.id == id));
    let slug = catalogue.form_by_id(authority_id, s.form_id).map(|p| p.slug.clone()).unwrap_or_default();
    Ok(Package {
        submission_id: s.id,
        receipt_number: s.receipt_number.clone(),
        submitted_at_ms: s.submitted_at,
        authority: PackageAuthority {
            id: case.authority.id,
            slug: case.authority.slug.as_str().to_owned(),
            name: case.authority.name.clone(),
            ags: case.authority.ags.as_ref().map(|a| a.as_str().to_owned()),
            ars: case.authority.ars.as_str().to_owned(),
        },
        form: PackageForm {
            id: s.form_id,
            slug,
            version: s.form_version,
            title: s.title.clone(),
            leika: leistung.map(|l| l.leika.as_str().to_owned()).unwrap_or_default(),
            leistung_name: leistung.map(|l| l.name.clone()).unwrap_or_else(|| s.title.clone()),
        },
        data: serde_json::to_value(&data.answers).map_err(|e| AppError::Internal(e.to_string()))?,
        data_hash: s.data_hash.clone(),
        receipt_pdf,
        files,
        idempotency_key: key.to_owned(),
    })
}

/// The idempotency key of a delivery: the same for every attempt and resend.
#[must_use]
pub fn delivery_key(d: &DeliveryRow) -> String {
    format!("amtsweg-{}-{}-{}", d.authority_id, d.submission_id, d.connector_id)
}

/// The signed links of a package.
///
/// # Errors
/// On crypto errors.
pub fn links(state: &AppState, p: &Package) -> Result<Links, AppError> {
    let base = state.config.public_base_url.trim_end_matches('/');
    let expires = amtsweg_store::now_ms() + LINK_DAYS * 86_400_000;
    let url = |file: i64| -> Result<String, AppError> {
        Ok(format!("{base}/api/v1/dateien/{}", download_token(state, p.submission_id, file, expires)?))
    };
    let mut files = std::collections::HashMap::new();
    for f in &p.files {
        files.insert(f.id, url(f.id)?);
    }
    Ok(Links { back_office: format!("{base}/verwaltung/antraege/{}", p.submission_id), receipt_pdf: url(0)?, files })
}

/// The delivery worker's view of the portal.
pub struct PortalSource(pub AppState);

impl Source for PortalSource {
    async fn package(&self, d: &DeliveryRow) -> Result<(Package, Links), String> {
        let p = package(&self.0, d.authority_id, d.submission_id, &delivery_key(d)).await.map_err(|e| e.to_string())?;
        let l = links(&self.0, &p).map_err(|e| e.to_string())?;
        Ok((p, l))
    }

    async fn connector_config(&self, c: &ConnectorRow) -> Result<String, String> {
        open_config(&self.0, c).await.map_err(|e| e.to_string())
    }
}
