//! Dates in German words for the booking pages ("Dienstag, 24. November 2026").
//! Written out here because pages read them aloud: screen readers say "24.11." as
//! digits, the month's name as a word.

use amtsweg_portal::appointments::view::weekday_de;
use jiff::civil::Date;

const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// "November".
pub(crate) fn month_name(month: i8) -> &'static str {
    usize::try_from(month - 1).ok().and_then(|i| MONTHS.get(i)).copied().unwrap_or("")
}

/// "November 2026".
pub(crate) fn month_year(d: Date) -> String {
    format!("{} {}", month_name(d.month()), d.year())
}

/// "Dienstag, 24. November".
pub(crate) fn day_label(d: Date) -> String {
    format!("{}, {}. {}", weekday_de(d), d.day(), month_name(d.month()))
}

/// "Dienstag, 24. November 2026".
pub(crate) fn date_long(d: Date) -> String {
    format!("{} {}", day_label(d), d.year())
}

/// "Woche vom 23. bis 29. November" (the days shown of one week).
pub(crate) fn week_label(first: Date, last: Date) -> String {
    if first == last {
        return day_label(first);
    }
    if first.month() == last.month() {
        format!("Woche vom {}. bis {}. {}", first.day(), last.day(), month_name(last.month()))
    } else {
        format!(
            "Woche vom {}. {} bis {}. {}",
            first.day(),
            month_name(first.month()),
            last.day(),
            month_name(last.month())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn dates_read_as_words() {
        assert_eq!(date_long(date(2026, 11, 24)), "Dienstag, 24. November 2026");
        assert_eq!(month_year(date(2026, 3, 1)), "März 2026");
        assert_eq!(week_label(date(2026, 11, 23), date(2026, 11, 29)), "Woche vom 23. bis 29. November");
        assert_eq!(week_label(date(2026, 11, 30), date(2026, 12, 6)), "Woche vom 30. November bis 6. Dezember");
        assert_eq!(month_name(13), "");
    }
}
