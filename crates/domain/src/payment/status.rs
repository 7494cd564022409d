//! The states of a payment: what the provider reports for one attempt
//! ([`ProviderStatus`]) and the rule that merges reports arriving in any order
//! ([`merge`]), the poll schedule, and the state of the payment as a whole.

use super::money::Cents;

/// A payment attempt's state at the provider (XBezahldienste `status`), plus two of
/// our own: `New` (our request is on its way) and `Abandoned` (it never got an answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderStatus {
    New,
    Initial,
    Payed,
    Failed,
    Canceled,
    Abandoned,
}

impl ProviderStatus {
    pub const ALL: [ProviderStatus; 6] =
        [Self::New, Self::Initial, Self::Payed, Self::Failed, Self::Canceled, Self::Abandoned];

    /// Reads the stored or reported word (the standard's spelling, `PAYED`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Initial => "INITIAL",
            Self::Payed => "PAYED",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
            Self::Abandoned => "ABANDONED",
        }
    }

    /// Final for the citizen's page: the attempt is over. FAILED and CANCELED are
    /// still polled for a while (see [`poll_delay_ms`]) because a provider may report
    /// a late success.
    #[must_use]
    pub fn is_final(self) -> bool {
        !matches!(self, Self::New | Self::Initial)
    }

    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::New => "Wird angelegt",
            Self::Initial => "Begonnen, noch nicht abgeschlossen",
            Self::Payed => "Bezahlt",
            Self::Failed => "Fehlgeschlagen",
            Self::Canceled => "Abgebrochen",
            Self::Abandoned => "Nicht zustande gekommen",
        }
    }
}

/// Whether an observation `seen` (our request for it sent at `seen_at`) replaces the
/// stored state `stored` (observed at `stored_seen_at`); `Some(new)` when it must be
/// stored. The rule:
/// * PAYED is never left: the money was taken; a reversal is a refund.
/// * A PAYED observation always wins, in any order (a late success after a failure).
/// * Otherwise an observation older than the stored one changes nothing, a final
///   state never goes back to INITIAL, and nothing goes (back) to NEW.
/// * ABANDONED means our request never got an answer: the citizen never saw a pay
///   page, so it cannot have been paid; it replaces only NEW.
#[must_use]
pub fn merge(
    stored: ProviderStatus,
    stored_seen_at: i64,
    seen: ProviderStatus,
    seen_at: i64,
) -> Option<ProviderStatus> {
    use ProviderStatus as S;
    if stored == seen || stored == S::Payed {
        return None;
    }
    if seen == S::Payed {
        return Some(S::Payed);
    }
    if seen == S::New || seen_at < stored_seen_at {
        return None;
    }
    if seen == S::Abandoned && stored != S::New {
        return None;
    }
    if stored.is_final() && !seen.is_final() {
        return None;
    }
    Some(seen)
}

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The first poll of an open attempt comes after this; the delay doubles up to [`MAX_POLL_DELAY_MS`].
pub const FIRST_POLL_DELAY_MS: i64 = 20 * SECOND;
pub const MAX_POLL_DELAY_MS: i64 = 10 * MINUTE;
/// An attempt still open after this is no longer polled (its payment expires).
pub const GIVE_UP_AFTER_MS: i64 = 48 * HOUR;
/// After FAILED or CANCELED: polls at 2, 10 and 30 minutes after the final state was
/// first seen (the settle window for a late PAYED), as delays between polls.
const SETTLE_DELAYS_MS: [i64; 3] = [2 * MINUTE, 8 * MINUTE, 20 * MINUTE];

/// When to poll an attempt next, in ms from now; `None`: stop polling.
///
/// `polls` counts the polls since the attempt's state last changed (the store resets
/// it when a new state is stored), `age_ms` is the attempt's age. Open attempts
/// (NEW, INITIAL) are polled after 20 s, doubling up to every 10 minutes, until they
/// are 48 hours old; FAILED and CANCELED three more times within 30 minutes; PAYED
/// and ABANDONED never again.
#[must_use]
pub fn poll_delay_ms(status: ProviderStatus, polls: i64, age_ms: i64) -> Option<i64> {
    use ProviderStatus as S;
    match status {
        S::Payed | S::Abandoned => None,
        S::Failed | S::Canceled => usize::try_from(polls).ok().and_then(|p| SETTLE_DELAYS_MS.get(p).copied()),
        S::New | S::Initial => {
            if age_ms >= GIVE_UP_AFTER_MS {
                return None;
            }
            let doublings = u32::try_from(polls.clamp(0, 10)).unwrap_or(10);
            Some((FIRST_POLL_DELAY_MS << doublings).min(MAX_POLL_DELAY_MS))
        }
    }
}

/// How a form's fee is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayMode {
    /// Before the application is released to the authority (online).
    Vorab,
    /// By invoice after submission (bank transfer, GiroCode).
    Rechnung,
    /// At the counter.
    VorOrt,
    /// A claim of the finance software paid from the account.
    Forderung,
}

impl PayMode {
    pub const ALL: [PayMode; 4] = [Self::Vorab, Self::Rechnung, Self::VorOrt, Self::Forderung];

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vorab => "vorab",
            Self::Rechnung => "rechnung",
            Self::VorOrt => "vor_ort",
            Self::Forderung => "forderung",
        }
    }

    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Vorab => "Online vor der Bearbeitung",
            Self::Rechnung => "Rechnung (Überweisung)",
            Self::VorOrt => "Vor Ort",
            Self::Forderung => "Forderung",
        }
    }
}

/// The state of a payment as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Open,
    PartlyPaid,
    Paid,
    Expired,
    Cancelled,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [Self::Open, Self::PartlyPaid, Self::Paid, Self::Expired, Self::Cancelled];

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PartlyPaid => "partly_paid",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// The state that the amounts alone give: nothing paid, part, all (or more).
    #[must_use]
    pub fn from_amounts(amount: Cents, paid: Cents) -> Self {
        if paid.0 <= 0 {
            Self::Open
        } else if paid < amount {
            Self::PartlyPaid
        } else {
            Self::Paid
        }
    }

    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Open => "Offen",
            Self::PartlyPaid => "Teilweise bezahlt",
            Self::Paid => "Bezahlt",
            Self::Expired => "Nicht bezahlt (abgelaufen)",
            Self::Cancelled => "Storniert",
        }
    }
}

/// Why a payment needs a person to look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Review {
    None,
    /// The provider reported another amount than requested.
    AmountMismatch,
    /// More was paid than requested.
    Overpaid,
    /// Paid after the application had expired unpaid.
    PaidAfterExpiry,
    /// The provider never reported a final state.
    NoFinalStatus,
    /// A held application expired with part of its fee paid: refund or collect the rest.
    ExpiredPartlyPaid,
}

impl Review {
    pub const ALL: [Review; 6] = [
        Self::None,
        Self::AmountMismatch,
        Self::Overpaid,
        Self::PaidAfterExpiry,
        Self::NoFinalStatus,
        Self::ExpiredPartlyPaid,
    ];

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::AmountMismatch => "amount_mismatch",
            Self::Overpaid => "overpaid",
            Self::PaidAfterExpiry => "paid_after_expiry",
            Self::NoFinalStatus => "no_final_status",
            Self::ExpiredPartlyPaid => "expired_partly_paid",
        }
    }

    #[must_use]
    pub fn label_de(self) -> &'static str {
        match self {
            Self::None => "",
            Self::AmountMismatch => "Der Bezahldienst meldet einen anderen Betrag als angefordert.",
            Self::Overpaid => "Es wurde mehr bezahlt als angefordert.",
            Self::PaidAfterExpiry => "Bezahlt, nachdem der Antrag als nicht bezahlt abgelaufen war.",
            Self::NoFinalStatus => "Der Bezahldienst hat keinen abschließenden Stand gemeldet.",
            Self::ExpiredPartlyPaid => {
                "Die Frist ist abgelaufen, obwohl ein Teil bezahlt war: bitte erstatten oder den Rest einfordern."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderStatus as S;
    use proptest::prelude::*;

    #[test]
    fn words_round_trip() {
        for s in ProviderStatus::ALL {
            assert_eq!(ProviderStatus::parse(s.as_str()), Some(s));
        }
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        for s in PayMode::ALL {
            assert_eq!(PayMode::parse(s.as_str()), Some(s));
        }
        for s in Review::ALL {
            assert_eq!(Review::parse(s.as_str()), Some(s));
        }
        assert_eq!(ProviderStatus::parse("PAID"), None);
    }

    #[test]
    fn merge_examples() {
        // A late success after a failure wins (and an older one too).
        assert_eq!(merge(S::Failed, 100, S::Payed, 200), Some(S::Payed));
        assert_eq!(merge(S::Failed, 200, S::Payed, 100), Some(S::Payed));
        // PAYED is never left.
        assert_eq!(merge(S::Payed, 100, S::Failed, 200), None);
        assert_eq!(merge(S::Payed, 100, S::Initial, 200), None);
        // Older observations change nothing.
        assert_eq!(merge(S::Initial, 200, S::Failed, 100), None);
        // A final state never goes back to INITIAL.
        assert_eq!(merge(S::Canceled, 100, S::Initial, 200), None);
        assert_eq!(merge(S::Initial, 100, S::Canceled, 200), Some(S::Canceled));
        assert_eq!(merge(S::New, 100, S::Initial, 200), Some(S::Initial));
        assert_eq!(merge(S::New, 100, S::Abandoned, 200), Some(S::Abandoned));
        assert_eq!(merge(S::Initial, 100, S::Abandoned, 200), None);
        assert_eq!(merge(S::Initial, 100, S::Initial, 200), None);
    }

    #[test]
    fn poll_schedule() {
        assert_eq!(poll_delay_ms(S::Initial, 0, 0), Some(20_000));
        assert_eq!(poll_delay_ms(S::Initial, 1, 0), Some(40_000));
        assert_eq!(poll_delay_ms(S::Initial, 5, 0), Some(600_000));
        assert_eq!(poll_delay_ms(S::Initial, 60, 0), Some(600_000));
        assert_eq!(poll_delay_ms(S::Initial, 3, GIVE_UP_AFTER_MS), None);
        assert_eq!(poll_delay_ms(S::Failed, 0, 0), Some(120_000));
        let settle: i64 = (0..3).filter_map(|p| poll_delay_ms(S::Canceled, p, 0)).sum();
        assert_eq!(settle, 30 * 60_000);
        assert_eq!(poll_delay_ms(S::Failed, 3, 0), None);
        assert_eq!(poll_delay_ms(S::Payed, 0, 0), None);
        assert_eq!(poll_delay_ms(S::Abandoned, 0, 0), None);
    }

    #[test]
    fn payment_status_from_amounts() {
        assert_eq!(PaymentStatus::from_amounts(Cents(1000), Cents(0)), PaymentStatus::Open);
        assert_eq!(PaymentStatus::from_amounts(Cents(1000), Cents(1)), PaymentStatus::PartlyPaid);
        assert_eq!(PaymentStatus::from_amounts(Cents(1000), Cents(1000)), PaymentStatus::Paid);
        assert_eq!(PaymentStatus::from_amounts(Cents(1000), Cents(1200)), PaymentStatus::Paid);
    }

    fn status() -> impl Strategy<Value = ProviderStatus> {
        proptest::sample::select(ProviderStatus::ALL.to_vec())
    }

    /// Applies observations in the given order, as the store does.
    fn apply(obs: &[(ProviderStatus, i64)]) -> ProviderStatus {
        let (mut s, mut at) = (S::New, i64::MIN);
        for &(seen, seen_at) in obs {
            if let Some(n) = merge(s, at, seen, seen_at) {
                s = n;
                at = seen_at;
            }
        }
        s
    }

    proptest! {
        #[test]
        fn payed_is_never_left_and_always_wins(
            obs in proptest::collection::vec((status(), 0i64..50), 0..12),
            at in 0usize..12,
        ) {
            let mut obs = obs;
            let at = at.min(obs.len());
            obs.insert(at, (S::Payed, 25));
            // Whatever came before or after, in any order: PAYED.
            prop_assert_eq!(apply(&obs), S::Payed);
        }

        #[test]
        fn merge_keeps_its_promises(stored in status(), s_at in 0i64..100, seen in status(), seen_at in 0i64..100) {
            match merge(stored, s_at, seen, seen_at) {
                None => {}
                Some(n) => {
                    prop_assert_eq!(n, seen);
                    prop_assert!(stored != S::Payed);
                    prop_assert!(seen != S::New);
                    if seen != S::Payed {
                        prop_assert!(seen_at >= s_at);
                        prop_assert!(!stored.is_final() || seen.is_final());
                    }
                }
            }
        }

        #[test]
        fn a_final_state_stays_final(obs in proptest::collection::vec((status(), 0i64..50), 1..12)) {
            let (mut s, mut at, mut was_final) = (S::New, i64::MIN, false);
            for (seen, seen_at) in obs {
                if let Some(n) = merge(s, at, seen, seen_at) {
                    s = n;
                    at = seen_at;
                }
                prop_assert!(!was_final || s.is_final(), "{:?} after a final state", s);
                was_final = s.is_final();
            }
        }
    }
}
