//! Ids and times: UUIDs derived from the idempotency key (so a repeat export carries the
//! same ids), and the time formats of the message, the text rendering and the ZIP entries.

use super::XdomeaError;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A UUID (version 8, "custom") derived from the idempotency key and the object's role, so a
/// repeat export of the same package carries the same ids.
pub(super) fn derived_uuid(key: &str, role: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"amtsweg:xdomea:1\0")
        .chain_update(key.as_bytes())
        .chain_update(b"\0")
        .chain_update(role.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

pub(super) fn timestamp(ms: i64) -> Result<jiff::Timestamp, XdomeaError> {
    jiff::Timestamp::from_millisecond(ms).map_err(|e| XdomeaError::Package(format!("time {ms} out of range: {e}")))
}

/// `xs:dateTime` in UTC, whole seconds.
pub(super) fn xs_date_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn berlin(t: jiff::Timestamp) -> jiff::Zoned {
    t.in_tz("Europe/Berlin").unwrap_or_else(|_| t.to_zoned(jiff::tz::TimeZone::UTC))
}

/// `xs:date` of the day in Germany (a submission at 00:30 local time belongs to that day).
pub(super) fn xs_date(t: jiff::Timestamp) -> String {
    berlin(t).strftime("%Y-%m-%d").to_string()
}

pub(super) fn local_display(t: jiff::Timestamp) -> String {
    berlin(t).strftime("%d.%m.%Y %H:%M:%S %Z").to_string()
}

/// ZIP entries carry local (German) time; before 1980 is not representable.
pub(super) fn zip_time(t: jiff::Timestamp) -> zip::DateTime {
    let z = berlin(t);
    let parts = (
        u16::try_from(z.year()).ok(),
        u8::try_from(z.month()).ok(),
        u8::try_from(z.day()).ok(),
        u8::try_from(z.hour()).ok(),
        u8::try_from(z.minute()).ok(),
        u8::try_from(z.second()).ok(),
    );
    match parts {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}
