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

/// The citizen the appointment is for. RFC 5546 wants at least one ATTENDEE in a
/// REQUEST or CANCEL; Outlook and Google ignore such a file without one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcsAttendee {
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
    /// Written only in REQUEST and CANCEL files (a PUBLISH file has no attendees).
    pub attendee: Option<IcsAttendee>,
    /// DTSTAMP: when this file was made (no clock in the domain, so it is passed in).
    pub stamp: Timestamp,
}

/// The METHOD of a calendar file (RFC 5546). REQUEST and CANCEL are scheduling
/// messages and need an ORGANIZER and an ATTENDEE in every event; without them the
/// file is a PUBLISH, and a cancellation is then told by STATUS:CANCELLED and the
/// raised SEQUENCE alone (never a CANCEL without an organizer, which clients drop).
#[must_use]
pub fn method(events: &[IcsEvent], cancel: bool) -> &'static str {
    let scheduling = !events.is_empty()
        && events.iter().all(|e| {
            e.organizer.as_ref().is_some_and(|o| !mailto(&o.email).is_empty())
                && e.attendee.as_ref().is_some_and(|a| !mailto(&a.email).is_empty())
        });
    match (scheduling, cancel) {
        (true, true) => "CANCEL",
        (true, false) => "REQUEST",
        (false, _) => "PUBLISH",
    }
}

/// One VCALENDAR with the events. `cancel`: every event counts as cancelled, and the
/// method is CANCEL where [`method`] allows it.
#[must_use]
pub fn ics(events: &[IcsEvent], cancel: bool) -> String {
    let method = method(events, cancel);
    let scheduling = method != "PUBLISH";
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
        if let Some(org) = e.organizer.as_ref().filter(|o| !mailto(&o.email).is_empty()) {
            line(&format!("ORGANIZER;CN={}:mailto:{}", param(&org.name), mailto(&org.email)));
        }
        if let (Some(att), true) = (&e.attendee, scheduling) {
            // The citizen booked it themselves: accepted, no reply wanted.
            line(&format!(
                "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{}",
                param(&att.name),
                mailto(&att.email)
            ));
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

/// An e-mail address as the body of a `mailto:` URI: trimmed, without the
/// characters that could end the property or start a parameter (control
/// characters, white space, quotes, `;`, `,`, `<`, `>`); empty when it is no address.
fn mailto(email: &str) -> String {
    let clean: String = email
        .trim()
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '"' | ';' | ',' | '<' | '>'))
        .collect();
    if clean.contains('@') { clean } else { String::new() }
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
            attendee: Some(IcsAttendee { name: "Erika Muster".into(), email: "erika@example.org".into() }),
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
        assert!(!ics(&[sneaky], false).contains("\r\nATTENDEE:mailto:x@"));
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

    const ATTENDEE: &str =
        "ATTENDEE;CN=\"Erika Muster\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:erika@example.org\r\n";

    #[test]
    fn a_request_and_a_cancel_name_organizer_and_attendee() {
        for cancel in [false, true] {
            let flat = unfold(&ics(&[event()], cancel));
            assert!(flat.contains(if cancel { "METHOD:CANCEL\r\n" } else { "METHOD:REQUEST\r\n" }));
            assert!(flat.contains("ORGANIZER;CN=\"Stadt Moorbrück\":mailto:termine@moorbrueck.example\r\n"));
            assert!(flat.contains(ATTENDEE), "{flat}");
        }
    }

    #[test]
    fn without_an_organizer_or_attendee_a_cancellation_is_published_not_sent_as_cancel() {
        for e in [
            IcsEvent { organizer: None, sequence: 1, ..event() },
            IcsEvent { attendee: None, sequence: 1, ..event() },
            IcsEvent { organizer: Some(IcsOrganizer { name: "x".into(), email: " ".into() }), sequence: 1, ..event() },
        ] {
            let flat = unfold(&ics(std::slice::from_ref(&e), true));
            assert_eq!(method(std::slice::from_ref(&e), true), "PUBLISH");
            assert!(flat.contains("METHOD:PUBLISH\r\n"), "{flat}");
            assert!(!flat.contains("METHOD:CANCEL") && !flat.contains("ATTENDEE"), "{flat}");
            // Still understood as a cancellation: same UID, higher sequence, cancelled.
            assert!(flat.contains("STATUS:CANCELLED\r\n") && flat.contains("SEQUENCE:1\r\n"));
            assert!(flat.contains("UID:T-7KQ2-M9XD@amtsweg.example\r\n"));
            assert_eq!(method(&[e], false), "PUBLISH");
        }
    }

    #[test]
    fn names_and_addresses_cannot_break_out_of_their_parameter_or_property() {
        let e = IcsEvent {
            attendee: Some(IcsAttendee {
                name: "Erika \"Eri\" Muster;ROLE=CHAIR:\r\nX".into(),
                email: " erika@example.org\r\nATTENDEE:mailto:evil@example.org; ".into(),
            }),
            ..event()
        };
        let text = ics(&[e], false);
        let flat = unfold(&text);
        assert!(
            flat.contains(
                "ATTENDEE;CN=\"Erika Eri Muster;ROLE=CHAIR:X\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:erika@example.orgATTENDEE:mailto:evil@example.org\r\n"
            ),
            "{flat}"
        );
        assert_eq!(flat.matches("ATTENDEE").count(), 2, "one property, not two: {flat}");
        assert_eq!(text.matches("\r\nATTENDEE").count(), 1);
    }

    #[test]
    fn the_day_export_publishes_several_events() {
        let a = IcsEvent { organizer: None, alarm_minutes: None, ..event() };
        let b = IcsEvent { uid: "T-2222-3333@amtsweg.example".into(), cancelled: true, ..a.clone() };
        let text = ics(&[a, b], false);
        assert!(text.contains("METHOD:PUBLISH\r\n"));
        assert!(!text.contains("ATTENDEE"), "a published file lists no attendees");
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert_eq!(text.matches("STATUS:CANCELLED").count(), 1);
    }
}
