//! The portal's part of the hand-off: it opens sealed submissions into packages
//! for the delivery worker (answers, files, the receipt PDF), opens connector
//! settings, and signs the expiring download links that webhooks carry instead of
//! the files themselves. [`Portal`] is the delivery worker's [`Source`], so the
//! binary runs the worker without the web layer.

use crate::casework;
use crate::keyring::{authority_scope, record};
use crate::submission::open_data;
use crate::{Portal, PortalError, Result};
use amtsweg_handoff::deliver::{Links, Source};
use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm};
use amtsweg_store::handoff::{ConnectorRow, DeliveryRow, NewConnector};

/// Purpose connector settings are sealed for (bound to the connector's id).
pub(crate) const CONNECTOR_CONFIG: &str = "connector:config";

/// How long a download link in a webhook stays valid.
const LINK_DAYS: i64 = 7;

/// Seals the settings of connector `connector_id` (they hold secrets) under the
/// authority's key.
///
/// # Errors
/// On crypto or store errors.
pub async fn seal_config(portal: &Portal, authority_id: i64, connector_id: i64, json: &str) -> Result<String> {
    let record = record::connector(connector_id);
    portal.seal_bound(&authority_scope(authority_id), CONNECTOR_CONFIG, &record, json.as_bytes()).await
}

/// Adds a connector with its settings `json` (`new.config` is ignored): inserted
/// first, as its settings are bound to the id the insert gives, then sealed and
/// stored in the same transaction. Returns the new id.
///
/// # Errors
/// On crypto or store errors.
pub async fn add_connector(portal: &Portal, new: &NewConnector<'_>, json: &str) -> Result<i64> {
    // The data key exists before the transaction: sealing inside it needs no other.
    portal.keyring.ready(&portal.store, &authority_scope(new.authority_id)).await?;
    let mut tx = portal.store.begin().await?;
    let id = tx.insert_connector(&NewConnector { config: "", ..new.clone() }).await?;
    let sealed = seal_config(portal, new.authority_id, id, json).await?;
    tx.update_connector(new.authority_id, id, new.form_id, new.name, &sealed).await?;
    tx.commit().await?;
    Ok(id)
}

/// Opens a connector's settings.
///
/// # Errors
/// When they do not open (wrong key, changed data, copied from another connector).
pub async fn open_config(portal: &Portal, c: &ConnectorRow) -> Result<String> {
    let record = record::connector(c.id);
    portal.open_bound_text(&authority_scope(c.authority_id), CONNECTOR_CONFIG, &record, &c.config).await
}

/// A signed download token for file `file` (0: the receipt PDF) of a submission,
/// valid until `expires` (ms).
///
/// # Errors
/// On crypto errors.
pub fn download_token(portal: &Portal, submission: i64, file: i64, expires: i64) -> Result<String> {
    let payload = format!("{submission}.{file}.{expires}");
    let mac = portal.keyring.mac(&format!("download|{payload}")).map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(format!("{payload}.{mac}"))
}

/// Checks a download token: (submission, file) when it is genuine and not expired.
#[must_use]
pub fn check_download_token(portal: &Portal, token: &str) -> Option<(i64, i64)> {
    let mut parts = token.split('.');
    let (s, f, e, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let expected = portal.keyring.mac(&format!("download|{s}.{f}.{e}")).ok()?;
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
pub async fn package(portal: &Portal, authority_id: i64, submission_id: i64, key: &str) -> Result<Package> {
    let case = casework::open_case(portal, authority_id, submission_id).await?;
    let s = &case.row;
    let data = open_data(portal, s).await?;
    let mut files = Vec::new();
    for f in portal.store.submission_files(s.id).await? {
        let bytes = crate::drafts::read_file(portal, authority_id, &f.object_key).await?;
        files.push(PackageFile {
            id: f.id,
            field: f.field.clone(),
            name: crate::drafts::open_file_name(portal, authority_id, &f.object_key, &f.file_name).await,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone(),
            bytes,
        });
    }
    let receipt_pdf = crate::receipt::pdf(portal, &case.authority, &case.form, s).await?;
    let catalogue = portal.catalogue();
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
        data: serde_json::to_value(&data.answers).map_err(|e| PortalError::Internal(e.to_string()))?,
        data_hash: s.data_hash.clone(),
        receipt_pdf,
        files,
        idempotency_key: key.to_owned(),
        payment: crate::payments::view::package_payment(portal, authority_id, s.id).await?,
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
pub fn links(portal: &Portal, p: &Package) -> Result<Links> {
    let base = portal.settings.base_url();
    let expires = amtsweg_store::now_ms() + LINK_DAYS * 86_400_000;
    let url = |file: i64| -> Result<String> {
        Ok(format!("{base}/api/v1/dateien/{}", download_token(portal, p.submission_id, file, expires)?))
    };
    let mut files = std::collections::HashMap::new();
    for f in &p.files {
        files.insert(f.id, url(f.id)?);
    }
    Ok(Links { back_office: format!("{base}/verwaltung/antraege/{}", p.submission_id), receipt_pdf: url(0)?, files })
}

/// The delivery worker's view of the portal.
impl Source for Portal {
    async fn package(&self, d: &DeliveryRow) -> Result<(Package, Links), String> {
        let p = package(self, d.authority_id, d.submission_id, &delivery_key(d)).await.map_err(|e| e.to_string())?;
        let l = links(self, &p).map_err(|e| e.to_string())?;
        Ok((p, l))
    }

    async fn connector_config(&self, c: &ConnectorRow) -> Result<String, String> {
        open_config(self, c).await.map_err(|e| e.to_string())
    }
}
