//! Calendar files (RFC 5545) attached to the booking e-mails and the day export.
//!
//! Written by hand rather than with the `icalendar` crate: that crate's API is built
//! on chrono (this code base uses jiff) and always pulls in a parser (nom, iso8601)
//! we do not need; writing a VEVENT is a few properties plus the two rules that
//! matter — escaping TEXT values and folding lines at 75 octets with CRLF.
//! Times are written in UTC ("Z"), which needs no VTIMEZONE block.

use super::time::to_timestamp;
use jiff::Timestamp;
use jiff::civil::DateTime;

/// Who sends the invitation; RFC 5546 wants an ORGANIZER for REQUEST and CANCEL,
/// and calendar programs match a cancellation to the event by UID and organizer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcsOrganizer {
    pub name: String,
    pub email: String,
}

/// One appointment in a calendar file. Times are civil Berlin times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcsEvent {
    /// `<reference>@<host>`: stays the same across changes so a client updates its entry.
    pub uid: String,
    /// Raised with each change (moved, cancelled) so clients accept the newer version.
    pub sequence: u32,
    pub start: DateTime,
    pub end: DateTime,
    pub summary: String,
    /// The address.
    pub location: String,
    /// Documents to bring, the manage link.
    pub description: String,
    pub url: Option<String>,
    /// A display alarm this many minutes before the start.
    pub alarm_minutes: Option<u32>,
    pub cancelled: bool,
    pub organizer: Option<IcsOrganizer>,
    /// DTSTAMP: when this file was made (no clock in the domain, so it is passed in).
    pub stamp: Timestamp,
}

/// One VCALENDAR with the events. `cancel` writes METHOD:CANCEL (every event counts
/// as cancelled); otherwise METHOD:REQUEST when an event has an organizer and
/// METHOD:PUBLISH without one (RFC 5546 allows REQUEST only with an ORGANIZER).
#[must_use]
pub fn ics(events: &[IcsEvent], cancel: bool) -> String {
    let method = if cancel {
        "CANCEL"
    } else if !events.is_empty() && events.iter().all(|e| e.organizer.is_some()) {
        "REQUEST"
    } else {
        "PUBLISH"
    };
    let mut out = String::new();
    let mut line = |s: &str| push_folded(&mut out, s);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Amtsweg//Terminvergabe//DE");
    line("CALSCALE:GREGORIAN");
    line(&format!("METHOD:{method}"));
    for e in events {
        let cancelled = cancel || e.cancelled;
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape(&e.uid)));
        line(&format!("SEQUENCE:{}", e.sequence));
        line(&format!("DTSTAMP:{}", utc(e.stamp)));
        line(&format!("DTSTART:{}", utc(to_timestamp(e.start))));
        line(&format!("DTEND:{}", utc(to_timestamp(e.end))));
        line(&format!("SUMMARY:{}", escape(&e.summary)));
        if !e.location.is_empty() {
            line(&format!("LOCATION:{}", escape(&e.location)));
        }
        if !e.description.is_empty() {
            line(&format!("DESCRIPTION:{}", escape(&e.description)));
        }
        if let Some(url) = &e.url {
            // URI values are not TEXT: no backslash escaping, only line folding.
            line(&format!("URL:{}", url.replace(['\r', '\n'], "")));
        }
        if let Some(org) = &e.organizer {
            line(&format!("ORGANIZER;CN={}:mailto:{}", param(&org.name), org.email.replace(['\r', '\n'], "")));
        }
        line(if cancelled { "STATUS:CANCELLED" } else { "STATUS:CONFIRMED" });
        line("TRANSP:OPAQUE");
        if let (Some(minutes), false) = (e.alarm_minutes, cancelled) {
            line("BEGIN:VALARM");
            line("ACTION:DISPLAY");
            line(&format!("DESCRIPTION:{}", escape(&format!("Erinnerung: {}", e.summary))));
            line(&format!("TRIGGER:-PT{minutes}M"));
            line("END:VALARM");
        }
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (CN=…): quoted, without the characters a quoted value cannot hold.
fn param(s: &str) -> String {
    let clean: String = s.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!("\"{clean}\"")
}

/// Appends `line` + CRLF, folded so no line exceeds 75 octets (RFC 5545 3.1); a
/// continuation line starts with one space. Never splits a UTF-8 character.
fn push_folded(out: &mut String, line: &str) {
    let mut limit = 75;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > limit {
            out.push_str("\r\n ");
            // The leading space counts towards the 75 octets of the next line.
            limit = 74;
            used = 0;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn event() -> IcsEvent {
        IcsEvent {
            uid: "T-7KQ2-M9XD@amtsweg.example".into(),
            sequence: 0,
            start: date(2026, 11, 23).at(9, 30, 0, 0),
            end: date(2026, 11, 23).at(9, 50, 0, 0),
            summary: "Termin: Personalausweis beantragen".into(),
            location: "Bürgerbüro Moorbrück, Marktplatz 1, 37154 Moorbrück".into(),
            description:
                "Bitte mitbringen: Lichtbild; alter Ausweis\nTermin ändern: https://amtsweg.example/termin/abc".into(),
            url: Some("https://amtsweg.example/termin/abc".into()),
            alarm_minutes: Some(24 * 60),
            cancelled: false,
            organizer: Some(IcsOrganizer {
                name: "Stadt Moorbrück".into(),
                email: "termine@moorbrueck.example".into(),
            }),
            stamp: jiff::Timestamp::from_second(1_795_000_000).unwrap(),
        }
    }

    /// RFC 5545 unfolding: CRLF followed by one space joins lines.
    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn a_booking_is_a_request_with_utc_times_and_an_alarm() {
        let text = ics(&[event()], false);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "BEGIN:VCALENDAR");
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        let flat = unfold(&text);
        assert!(flat.contains("METHOD:REQUEST\r\n"));
        // 09:30 CET is 08:30 UTC.
        assert!(flat.contains("DTSTART:20261123T083000Z\r\n"));
        assert!(flat.contains("DTEND:20261123T085000Z\r\n"));
        assert!(flat.contains("UID:T-7KQ2-M9XD@amtsweg.example\r\n"));
        assert!(flat.contains("BEGIN:VALARM\r\nACTION:DISPLAY\r\n"));
        assert!(flat.contains("TRIGGER:-PT1440M\r\n"));
        assert!(flat.contains("ORGANIZER;CN=\"Stadt Moorbrück\":mailto:termine@moorbrueck.example\r\n"));
        assert!(flat.contains("STATUS:CONFIRMED"));
        assert!(flat.contains("DTSTAMP:"));
        // Every line ends in CRLF, no bare LF.
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn summer_times_are_two_hours_ahead_of_utc() {
        let summer =
            IcsEvent { start: date(2026, 7, 1).at(8, 0, 0, 0), end: date(2026, 7, 1).at(8, 10, 0, 0), ..event() };
        assert!(ics(&[summer], false).contains("DTSTART:20260701T060000Z"));
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(escape("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
        let flat = unfold(&ics(&[event()], false));
        assert!(flat.contains("LOCATION:Bürgerbüro Moorbrück\\, Marktplatz 1\\, 37154 Moorbrück\r\n"));
        assert!(flat.contains("DESCRIPTION:Bitte mitbringen: Lichtbild\\; alter Ausweis\\nTermin ändern: https://"));
        // A newline in the summary cannot start a new property.
        let sneaky = IcsEvent { summary: "Termin\r\nATTENDEE:mailto:x@example.org".into(), ..event() };
        assert!(!ics(&[sneaky], false).contains("\r\nATTENDEE"));
    }

    #[test]
    fn long_lines_are_folded_at_75_octets_without_splitting_characters() {
        let long = IcsEvent { description: "Ä".repeat(100) + &"x".repeat(100), ..event() };
        let text = ics(&[long], false);
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        assert!(text.contains("\r\n "));
        let expected = format!("DESCRIPTION:{}{}\r\n", "Ä".repeat(100), "x".repeat(100));
        assert!(unfold(&text).contains(&expected));
    }

    #[test]
    fn a_cancellation_says_so_and_has_no_alarm() {
        let cancelled = IcsEvent { sequence: 1, ..event() };
        let flat = unfold(&ics(&[cancelled], true));
        assert!(flat.contains("METHOD:CANCEL\r\n"));
        assert!(flat.contains("STATUS:CANCELLED\r\n"));
        assert!(flat.contains("SEQUENCE:1\r\n"));
        assert!(!flat.contains("VALARM"));
    }

    #[test]
    fn the_day_export_publishes_several_events() {
        let a = IcsEvent { organizer: None, alarm_minutes: None, ..event() };
        let b = IcsEvent { uid: "T-2222-3333@amtsweg.example".into(), cancelled: true, ..a.clone() };
        let text = ics(&[a, b], false);
        assert!(text.contains("METHOD:PUBLISH\r\n"));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert_eq!(text.matches("STATUS:CANCELLED").count(), 1);
    }
}
