//! German time: Europe/Berlin for everything shown to people, looked up once.

/// German time (Europe/Berlin), looked up in the time-zone database once.
#[must_use]
pub fn berlin() -> jiff::tz::TimeZone {
    static BERLIN: std::sync::LazyLock<jiff::tz::TimeZone> =
        std::sync::LazyLock::new(|| jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC));
    BERLIN.clone()
}

/// The current local time in Germany.
#[must_use]
pub fn now_local() -> jiff::civil::DateTime {
    jiff::Timestamp::now().to_zoned(berlin()).datetime()
}

/// Today in Germany, as the rule engine takes it (it has no clock of its own).
#[must_use]
pub fn today() -> amtsweg_forms::Date {
    let d = now_local().date();
    amtsweg_forms::Date::new(i32::from(d.year()), d.month().unsigned_abs(), d.day().unsigned_abs())
        .unwrap_or_else(|| amtsweg_forms::Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// "24.11.2026, 14:05 Uhr" in German time (receipts, e-mails).
#[must_use]
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(berlin()).strftime("%d.%m.%Y, %H:%M Uhr").to_string())
        .unwrap_or_default()
}

/// "23.11.2026 14:05" in German time (lists and histories in the back office).
#[must_use]
pub fn berlin_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(berlin()).strftime("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_default()
}
