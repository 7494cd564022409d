//! The e-mails of a booking, each with its calendar file: the confirmation (with the
//! manage link and the documents to bring), the request to confirm by link (double
//! opt-in), the cancellation (METHOD:CANCEL) and the reminder. They name only what
//! the recipient booked — their own name, the time, the place, the services — and
//! are queued by the caller in the transaction of the change (`Tx::enqueue_email`).

use super::view::AppointmentView;
use crate::Portal;
use amtsweg_domain::LeikaKey;
use amtsweg_domain::appointments::{BookingRules, IcsAttendee, IcsEvent, IcsOrganizer, ics};
use amtsweg_store::outbox::{EmailAttachment, EmailMessage};
use std::fmt::Write as _;

/// The manage link of a booking.
#[must_use]
pub fn manage_link(portal: &Portal, token: &str) -> String {
    format!("{}/termin/{token}", portal.settings.base_url())
}

/// The host of the portal, for the calendar entries' UIDs.
fn host(portal: &Portal) -> String {
    let base = portal.settings.base_url();
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host.is_empty() { "amtsweg".to_owned() } else { host.to_owned() }
}

/// The alarm of the calendar entry: as early as the reminder e-mail, a day before
/// when the authority sends none.
fn alarm_minutes(rules: &BookingRules) -> u32 {
    let hours = if rules.reminder_hours == 0 { 24 } else { u32::from(rules.reminder_hours) };
    hours * 60
}

/// What the citizen should bring: the "Unterlagen" text module of each booked
/// service, as plain text under the service's title (services without one left out).
#[must_use]
pub fn documents(portal: &Portal, v: &AppointmentView) -> String {
    let catalogue = portal.catalogue();
    let mut out = String::new();
    for (leika, title, _) in &v.services {
        let Some(l) = LeikaKey::parse(leika).ok().and_then(|k| catalogue.leistung_by_leika(v.authority_id, &k)) else {
            continue;
        };
        let text = amtsweg_search::text::plain(&l.documents);
        if text.trim().is_empty() {
            continue;
        }
        let text: String = text.chars().take(3000).collect();
        let _ = write!(out, "{title}:\n{text}\n\n");
    }
    out.trim_end().to_owned()
}

/// The calendar entry of an appointment.
#[must_use]
pub fn event(
    portal: &Portal,
    v: &AppointmentView,
    manage_token: Option<&str>,
    rules: &BookingRules,
    cancelled: bool,
) -> IcsEvent {
    let mut description = format!("Buchungsnummer: {}\nAnliegen: {}", v.reference, v.services_de());
    let docs = documents(portal, v);
    if !docs.is_empty() {
        let _ = write!(description, "\n\nBitte bringen Sie mit:\n{docs}");
    }
    let url = manage_token.map(|t| manage_link(portal, t));
    if let Some(u) = &url {
        let _ = write!(description, "\n\nTermin absagen oder verschieben: {u}");
    }
    let organizer = organizer(portal, v);
    // The citizen as ATTENDEE makes the file an invitation calendar programs act on
    // (RFC 5546); staff exports clear it again.
    let attendee = v
        .contact
        .as_ref()
        .filter(|c| !c.email.trim().is_empty())
        .map(|c| IcsAttendee { name: c.name.trim().to_owned(), email: c.email.trim().to_owned() });
    IcsEvent {
        uid: format!("{}@{}", v.reference, host(portal)),
        sequence: u32::from(cancelled),
        start: v.start,
        end: v.end,
        summary: format!("Termin: {} ({})", v.services_de(), v.location.name),
        location: v.address(),
        description,
        url,
        alarm_minutes: Some(alarm_minutes(rules)),
        cancelled,
        organizer,
        attendee,
        stamp: jiff::Timestamp::now(),
    }
}

/// Who organises the appointment: the authority's e-mail address, else the portal's
/// sender (`[mail] from`). Without either the calendar file is a PUBLISH.
fn organizer(portal: &Portal, v: &AppointmentView) -> Option<IcsOrganizer> {
    let catalogue = portal.catalogue();
    let authority = catalogue.authority(v.authority_id);
    if let Some(a) = authority.as_ref().filter(|a| !a.email.trim().is_empty()) {
        return Some(IcsOrganizer { name: a.name.clone(), email: a.email.trim().to_owned() });
    }
    let (name, email) = mailbox(&portal.settings.mail_from)?;
    let name = authority.map(|a| a.name.clone()).filter(|n| !n.is_empty()).unwrap_or(name);
    Some(IcsOrganizer { name, email })
}

/// `Name <address>` or a bare address → (name, address); `None` without an address.
fn mailbox(from: &str) -> Option<(String, String)> {
    let from = from.trim();
    let (name, email) = match (from.rfind('<'), from.ends_with('>')) {
        (Some(i), true) => (from[..i].trim().trim_matches('"').trim(), &from[i + 1..from.len() - 1]),
        _ => ("", from),
    };
    let email = email.trim();
    (email.contains('@') && !email.contains(char::is_whitespace)).then(|| (name.to_owned(), email.to_owned()))
}

fn attachment(events: &[IcsEvent], cancel: bool) -> EmailAttachment {
    EmailAttachment {
        file_name: if cancel { "termin-abgesagt.ics".into() } else { "termin.ics".into() },
        // The content type names the same METHOD as the file (RFC 6047).
        content_type: format!(
            "text/calendar; charset=utf-8; method={}",
            amtsweg_domain::appointments::ics::method(events, cancel)
        ),
        content: ics(events, cancel),
        encoding: String::new(),
    }
}

/// The calendar file of a booked appointment for the download on the manage page:
/// the same file the confirmation e-mail carries, so both say the same.
#[must_use]
pub fn calendar_file(
    portal: &Portal,
    v: &AppointmentView,
    manage_token: Option<&str>,
    rules: &BookingRules,
) -> EmailAttachment {
    attachment(&[event(portal, v, manage_token, rules, false)], false)
}

fn greeting(v: &AppointmentView) -> String {
    match v.contact.as_ref().map(|c| c.name.trim()).filter(|n| !n.is_empty()) {
        Some(name) => format!("Guten Tag {name},"),
        None => "Guten Tag,".to_owned(),
    }
}

fn recipient(v: &AppointmentView) -> Option<String> {
    v.contact.as_ref().map(|c| c.email.trim().to_owned()).filter(|e| !e.is_empty())
}

/// The lines that name the appointment.
fn facts(v: &AppointmentView) -> String {
    let mut s = format!(
        "Termin: {}\nOrt: {}\nAnliegen: {}\nBuchungsnummer: {}\n",
        v.when_de(),
        v.address(),
        v.services_de(),
        v.reference
    );
    if let Some(r) = &v.receipt_number {
        let _ = writeln!(s, "Vorgangsnummer Ihres Antrags: {r}");
    }
    s
}

fn signature(v: &AppointmentView) -> String {
    if v.authority_title.is_empty() {
        String::new()
    } else {
        format!("\nMit freundlichen Grüßen\n{}\n", v.authority_title)
    }
}

/// The confirmation of a booked appointment with its calendar file; for a move also
/// the cancellation of the old time (a second calendar file). `None` without an
/// e-mail address. Returns the messages to queue.
#[must_use]
pub fn confirmation(
    portal: &Portal,
    v: &AppointmentView,
    manage_token: Option<&str>,
    rules: &BookingRules,
    moved_from: Option<&AppointmentView>,
) -> Vec<EmailMessage> {
    let Some(to) = recipient(v) else { return Vec::new() };
    let mut body = format!("{}\n\n", greeting(v));
    match moved_from {
        Some(old) => {
            let _ = write!(
                body,
                "Ihr Termin ist verschoben. Der bisherige Termin am {} ist abgesagt; es gilt der neue Termin:\n\n",
                old.when_de()
            );
        }
        None => body.push_str("Ihr Termin ist gebucht.\n\n"),
    }
    body.push_str(&facts(v));
    let docs = documents(portal, v);
    if !docs.is_empty() {
        let _ = write!(body, "\nBitte bringen Sie mit:\n{docs}\n");
    }
    if let Some(t) = manage_token {
        let _ = write!(
            body,
            "\nÜber diesen Link können Sie den Termin absagen oder verschieben. Bitte geben Sie ihn nicht weiter:\n{}\n",
            manage_link(portal, t)
        );
    }
    body.push_str("\nIm Anhang finden Sie den Termin als Kalenderdatei (termin.ics) für Ihren Kalender.\n");
    if v.citizen_id.is_some() {
        body.push_str("Sie finden den Termin auch in Ihrem Bürgerkonto unter „Termine“.\n");
    }
    body.push_str(&signature(v));
    let mut attachments = vec![attachment(&[event(portal, v, manage_token, rules, false)], false)];
    if let Some(old) = moved_from {
        attachments.push(attachment(&[event(portal, old, None, rules, true)], true));
    }
    let subject = if moved_from.is_some() {
        format!("Termin verschoben auf {}", v.start.strftime("%d.%m.%Y, %H:%M Uhr"))
    } else {
        format!("Terminbestätigung für {}", v.start.strftime("%d.%m.%Y, %H:%M Uhr"))
    };
    vec![EmailMessage { to, subject, body, attachments }]
}

/// The request to confirm an anonymous booking by link (double opt-in). `None`
/// without an e-mail address.
#[must_use]
pub fn confirm_request(
    portal: &Portal,
    v: &AppointmentView,
    confirm_token: &str,
    rules: &BookingRules,
) -> Option<EmailMessage> {
    let to = recipient(v)?;
    let until = v.hold_until.map(crate::time::when).unwrap_or_default();
    let mut body = format!(
        "{}\n\nbitte bestätigen Sie Ihren Termin. Erst dann ist er gebucht.\n\n{}\nZum Bestätigen öffnen Sie bitte diesen Link",
        greeting(v),
        facts(v)
    );
    if until.is_empty() {
        body.push_str(":\n");
    } else {
        let _ = writeln!(body, " bis {until}:");
    }
    let _ = write!(
        body,
        "{}/termin/bestaetigen/{confirm_token}\n\nOhne Bestätigung verfällt die Reservierung nach {} Minuten und der Termin wird wieder freigegeben. Wenn Sie diesen Termin nicht gebucht haben, müssen Sie nichts tun.\n",
        portal.settings.base_url(),
        rules.confirm_minutes
    );
    body.push_str(&signature(v));
    Some(EmailMessage {
        to,
        subject: format!("Bitte bestätigen Sie Ihren Termin am {}", v.start.strftime("%d.%m.%Y")),
        body,
        attachments: Vec::new(),
    })
}

/// The cancellation with a calendar file (METHOD:CANCEL). `message`: the authority's
/// reason when staff cancelled. `None` without an e-mail address.
#[must_use]
pub fn cancellation(
    portal: &Portal,
    v: &AppointmentView,
    rules: &BookingRules,
    message: Option<&str>,
) -> Option<EmailMessage> {
    let to = recipient(v)?;
    let mut body = format!("{}\n\n", greeting(v));
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            let _ = write!(body, "leider müssen wir Ihren Termin absagen.\n\n{m}\n\n");
        }
        None => body.push_str("Ihr Termin ist abgesagt.\n\n"),
    }
    body.push_str(&facts(v));
    body.push_str(
        "\nIm Anhang finden Sie die Absage als Kalenderdatei; Ihr Kalenderprogramm entfernt den Termin damit.\n",
    );
    let _ = write!(body, "Einen neuen Termin können Sie jederzeit online vereinbaren:\n{}\n", booking_link(portal, v));
    body.push_str(&signature(v));
    Some(EmailMessage {
        to,
        subject: format!("Termin abgesagt: {}", v.start.strftime("%d.%m.%Y, %H:%M Uhr")),
        body,
        attachments: vec![attachment(&[event(portal, v, None, rules, true)], true)],
    })
}

/// The reminder before the appointment, with the calendar file and, when the token
/// is still known, the manage link. `None` without an e-mail address.
#[must_use]
pub fn reminder(
    portal: &Portal,
    v: &AppointmentView,
    manage_token: Option<&str>,
    rules: &BookingRules,
) -> Option<EmailMessage> {
    let to = recipient(v)?;
    let mut body = format!("{}\n\nwir erinnern Sie an Ihren Termin:\n\n{}", greeting(v), facts(v));
    let docs = documents(portal, v);
    if !docs.is_empty() {
        let _ = write!(body, "\nBitte bringen Sie mit:\n{docs}\n");
    }
    match manage_token {
        Some(t) => {
            let _ = write!(
                body,
                "\nWenn Sie den Termin nicht wahrnehmen können, sagen Sie ihn bitte ab, damit jemand anderes ihn bekommt:\n{}\n",
                manage_link(portal, t)
            );
        }
        None => body.push_str(
            "\nWenn Sie den Termin nicht wahrnehmen können, sagen Sie ihn bitte über den Link aus Ihrer Terminbestätigung ab.\n",
        ),
    }
    body.push_str(&signature(v));
    Some(EmailMessage {
        to,
        subject: format!("Erinnerung an Ihren Termin am {}", v.start.strftime("%d.%m.%Y, %H:%M Uhr")),
        body,
        attachments: vec![attachment(&[event(portal, v, manage_token, rules, false)], false)],
    })
}

/// Where to book again: the authority's appointment page.
fn booking_link(portal: &Portal, v: &AppointmentView) -> String {
    let slug = portal.catalogue().authority(v.authority_id).map(|a| a.slug.to_string()).unwrap_or_default();
    format!("{}/o/{slug}/termine/", portal.settings.base_url())
}

#[cfg(test)]
mod tests {
    use super::mailbox;

    #[test]
    fn the_sender_address_is_read_with_or_without_a_name() {
        assert_eq!(
            mailbox("Amtsweg <noreply@amtsweg.example>"),
            Some(("Amtsweg".into(), "noreply@amtsweg.example".into()))
        );
        assert_eq!(mailbox("\"Stadt A\" <a@example.org>"), Some(("Stadt A".into(), "a@example.org".into())));
        assert_eq!(mailbox(" a@example.org "), Some((String::new(), "a@example.org".into())));
        assert_eq!(mailbox(""), None);
        assert_eq!(mailbox("Amtsweg <>"), None);
    }
}
