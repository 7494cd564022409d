//! The life cycle of a booking, modelled on ZMS (free → reserved → preconfirmed →
//! confirmed → finished / missed): held while the citizen types the contact data,
//! preconfirmed while an e-mail confirmation is outstanding (double opt-in), then
//! confirmed; the counter marks it attended or missed.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// The time is reserved for a few minutes while contact data is entered.
    Held,
    /// Booked, waiting for the confirmation link from the e-mail.
    Preconfirmed,
    Confirmed,
    Cancelled,
    /// A hold or unconfirmed booking that ran out; the time is free again.
    Expired,
    Attended,
    /// No-show.
    Missed,
}

impl AppointmentStatus {
    pub const ALL: [Self; 7] =
        [Self::Held, Self::Preconfirmed, Self::Confirmed, Self::Cancelled, Self::Expired, Self::Attended, Self::Missed];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Preconfirmed => "preconfirmed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Attended => "attended",
            Self::Missed => "missed",
        }
    }

    /// # Errors
    /// When `s` names no status.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| InvalidValue(format!("Unbekannter Terminstatus „{s}“.")))
    }

    /// The word citizens and staff see.
    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Held => "reserviert",
            Self::Preconfirmed => "wartet auf Bestätigung per E-Mail",
            Self::Confirmed => "gebucht",
            Self::Cancelled => "abgesagt",
            Self::Expired => "verfallen",
            Self::Attended => "wahrgenommen",
            Self::Missed => "nicht erschienen",
        }
    }

    /// Whether the booking still occupies its time (held and preconfirmed ones only
    /// until their hold runs out, which the store checks).
    #[must_use]
    pub fn occupies_time(self) -> bool {
        !matches!(self, Self::Cancelled | Self::Expired)
    }

    /// Whether the citizen (or the counter) may still cancel or move it.
    #[must_use]
    pub fn can_cancel(self) -> bool {
        matches!(self, Self::Held | Self::Preconfirmed | Self::Confirmed)
    }

    /// Which changes staff may make by hand: a confirmed appointment becomes attended,
    /// missed or cancelled; a wrong mark (attended ↔ missed) can be corrected.
    #[must_use]
    pub fn staff_may_change_to(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Confirmed, Self::Attended | Self::Missed | Self::Cancelled)
                | (Self::Preconfirmed, Self::Cancelled)
                | (Self::Attended, Self::Missed)
                | (Self::Missed, Self::Attended)
        )
    }
}

impl std::fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for st in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(st.as_str()).unwrap(), st);
        }
        assert!(AppointmentStatus::parse("booked").unwrap_err().0.contains("Unbekannter"));
        assert_eq!(AppointmentStatus::Missed.label_de(), "nicht erschienen");
    }

    #[test]
    fn only_open_bookings_can_be_cancelled_and_marked() {
        assert!(AppointmentStatus::Confirmed.can_cancel());
        assert!(!AppointmentStatus::Attended.can_cancel());
        assert!(AppointmentStatus::Confirmed.staff_may_change_to(AppointmentStatus::Missed));
        assert!(!AppointmentStatus::Cancelled.staff_may_change_to(AppointmentStatus::Attended));
        assert!(!AppointmentStatus::Expired.occupies_time());
    }
}
