//! The audit log in words: "Sam Sachbearbeitung hat MOO-2026-000005 auf ‚bewilligt'
//! gesetzt" rather than "staff:4 · submission.status · abgeschlossen:bewilligt".
//!
//! Every kind of action the code writes has a sentence here ([`KINDS`]); a test
//! scans the sources so that a new kind cannot be added without one. Entries hold
//! ids, never personal data values: names of staff members, services, forms and
//! receipt numbers are looked up when the page is shown, within the authorities the
//! reader may see.

/// Every kind of action with its name for the filter (one per kind the code writes).
pub const KINDS: &[(&str, &str)] = &[
    ("login", "Anmeldung fehlgeschlagen oder gesperrt"),
    ("login.password", "Anmeldung mit Passwort"),
    ("login.second_factor", "Anmeldung mit zweitem Faktor"),
    ("login.bundid", "Anmeldung mit BundID"),
    ("login.oidc", "Anmeldung über einen Identitätsdienst"),
    ("login.identity", "Anmeldung über einen Identitätsdienst abgeschlossen"),
    ("logout", "Abmeldung"),
    ("logout.everywhere", "Abmeldung auf allen Geräten"),
    ("second_factor.enrol", "Zweiter Faktor eingerichtet"),
    ("second_factor.remove", "Zweiter Faktor entfernt"),
    ("identity.link", "Identität verknüpfen"),
    ("citizen.register", "Bürgerkonto angelegt"),
    ("citizen.confirm_email", "E-Mail-Adresse bestätigt"),
    ("citizen.profile", "Profildaten geändert"),
    ("citizen.password_reset_request", "Neues Passwort angefordert (Bürgerkonto)"),
    ("citizen.password_reset", "Passwort neu gesetzt (Bürgerkonto)"),
    ("staff.password_reset_request", "Neues Passwort angefordert (Verwaltung)"),
    ("staff.password_reset", "Passwort neu gesetzt (Verwaltung)"),
    ("staff.invite", "Person eingeladen"),
    ("staff.accept_invite", "Einladung angenommen"),
    ("staff.create", "Konto angelegt"),
    ("staff.roles", "Rollen einer Person geändert"),
    ("staff.disable", "Konto deaktiviert"),
    ("staff.reinvite", "Deaktivierte Person neu eingeladen"),
    ("submission.view", "Antrag angesehen"),
    ("submission.receipt", "Antrag als PDF heruntergeladen"),
    ("submission.file", "Anlage eines Antrags heruntergeladen"),
    ("submission.message_file", "Anhang einer Nachricht heruntergeladen"),
    ("submission.status", "Bearbeitungsstand geändert"),
    ("submission.reopen", "Antrag wieder aufgenommen"),
    ("submission.withdraw", "Antrag zurückgezogen (antragstellende Person)"),
    ("submission.message", "Nachricht an antragstellende Person"),
    ("submission.note", "Interne Notiz"),
    ("submission.assign", "Bearbeitung zugewiesen"),
    ("postfach.deliver", "Nachricht ins Postfach zugestellt"),
    ("postfach.reply", "Antwort im Postfach"),
    ("api.submission.view", "Antrag über die Schnittstelle abgerufen"),
    ("api.submission.receipt", "Quittung über die Schnittstelle abgerufen"),
    ("api.submission.file", "Anlage über die Schnittstelle abgerufen"),
    ("api.submission.acknowledge", "Empfang über die Schnittstelle bestätigt"),
    ("api.download", "Download-Link benutzt"),
    ("api.appointments.day", "Termine eines Tages über die Schnittstelle abgerufen"),
    ("delivery.resend", "Übergabe erneut angestoßen"),
    ("delivery.reconciliation", "Abgleich der Übergaben"),
    ("connector.create", "Übergabe eingerichtet"),
    ("connector.update", "Übergabe geändert"),
    ("connector.toggle", "Übergabe ein- oder ausgeschaltet"),
    ("api_client.create", "Schnittstellen-Zugang angelegt"),
    ("api_client.revoke", "Schnittstellen-Zugang widerrufen"),
    ("audit.export", "Protokoll exportiert"),
    ("authority.create", "Behörde angelegt"),
    ("authority.look", "Darstellung geändert"),
    ("authority.logo", "Logo hochgeladen"),
    ("authority.logo_remove", "Logo entfernt"),
    ("zustaendigkeit.add", "Zuständigkeit hinzugefügt"),
    ("zustaendigkeit.remove", "Zuständigkeit entfernt"),
    ("org_unit.save", "Organisationseinheit gespeichert"),
    ("contact.save", "Ansprechperson gespeichert"),
    ("location.save", "Standort gespeichert"),
    ("leistung.create", "Leistung angelegt"),
    ("leistung.save_draft", "Entwurf einer Leistung gespeichert"),
    ("leistung.publish", "Leistung veröffentlicht"),
    ("leistung.unpublish", "Leistung zurückgezogen"),
    ("leistung.discard_draft", "Entwurf einer Leistung verworfen"),
    ("library.offer", "Leistung in der Bibliothek angeboten"),
    ("library.withdraw", "Angebot in der Bibliothek zurückgezogen"),
    ("library.adopt", "Leistung aus der Bibliothek übernommen"),
    ("library.accept", "Änderung aus der Bibliothek übernommen"),
    ("library.accept_form", "Neue Fassung eines Formulars aus der Bibliothek übernommen"),
    ("library.detach", "Verknüpfung mit der Bibliothek gelöst"),
    ("page.save_draft", "Entwurf einer Seite gespeichert"),
    ("page.publish", "Seite veröffentlicht"),
    ("page.discard_draft", "Entwurf einer Seite verworfen"),
    ("form.create", "Formular angelegt"),
    ("form.save_draft", "Entwurf eines Formulars gespeichert"),
    ("form.publish", "Formular veröffentlicht"),
    ("appointment.rules_saved", "Regeln für Online-Termine gespeichert"),
    ("appointment.calendar_saved", "Terminkalender gespeichert"),
    ("appointment.day_viewed", "Tagesliste der Termine angesehen"),
    ("appointment.day_exported", "Tagesliste der Termine heruntergeladen"),
    ("appointment.status", "Termin als wahrgenommen oder nicht erschienen markiert"),
    ("appointment.cancelled_by_staff", "Termin von der Behörde abgesagt"),
    ("appointment.day_cancelled", "Alle Termine eines Tages abgesagt"),
    ("appointment.booked_on_behalf", "Termin für eine anrufende Person gebucht"),
    ("payment.settings_saved", "Einstellungen für Zahlungen gespeichert"),
    ("payment_connector.create", "Zahlungsweg eingerichtet"),
    ("payment_connector.update", "Zahlungsweg geändert"),
    ("payment_connector.toggle", "Zahlungsweg ein- oder ausgeschaltet"),
    ("payment.counter", "Zahlung vor Ort erfasst"),
    ("payment.refund", "Erstattung angewiesen"),
    ("payment.refund_done", "Erstattung als ausgezahlt markiert"),
    ("payment.review", "Prüfung einer Zahlung abgeschlossen"),
    ("payment.camt_import", "Kontoauszug eingelesen"),
    ("payment.bank_assign", "Zahlungseingang zugeordnet"),
    ("payment.bank_dismiss", "Zahlungseingang ohne Zuordnung erledigt"),
    ("payment.report", "Zahlungsübersicht heruntergeladen"),
    ("finance.activation_code", "Aktivierungscode für das Finanzkonto erzeugt"),
    ("finance.link", "Finanzkonto mit dem Bürgerkonto verknüpft"),
    ("finance.unlink", "Verknüpfung des Finanzkontos aufgehoben"),
    ("finance.activation_code.revoke", "Aktivierungscodes widerrufen"),
];

/// The name of a kind of action for the filter (the kind itself when unknown).
#[must_use]
pub fn kind_label(action: &str) -> String {
    KINDS.iter().find(|(k, _)| *k == action).map_or_else(|| action.to_owned(), |(_, l)| (*l).to_owned())
}

/// One entry, with its actor and target already in words.
pub struct Entry<'a> {
    pub action: &'a str,
    pub outcome: &'a str,
    /// "Sam Sachbearbeitung", "Eine Bürgerin oder ein Bürger (Konto 12)", …
    pub actor: &'a str,
    /// "MOO-2026-000005", "die Leistung ‚Hundesteuer'", … ("" when there is none).
    pub target: &'a str,
    /// The outcome in words where it names something ("‚bewilligt'", a person).
    pub outcome_words: &'a str,
}

fn failed(outcome: &str) -> Option<&'static str> {
    match outcome {
        "failure" => Some("fehlgeschlagen (falsche Angaben)"),
        "throttled" => Some("gesperrt (zu viele Fehlversuche)"),
        "cancelled" => Some("abgebrochen"),
        "refused" => Some("vom Identitätsdienst abgelehnt"),
        "unknown_request" => Some("abgewiesen (keine gültige Anfrage)"),
        "replay" => Some("abgewiesen (Wiederholung einer alten Antwort)"),
        "foreign_browser" => Some("abgewiesen (anderer Browser als beim Start)"),
        "wrong_issuer" => Some("abgewiesen (fremder Aussteller)"),
        "invalid_token" => Some("abgewiesen (ungültiger Nachweis)"),
        "taken" => Some("abgewiesen (gehört schon zu einem anderen Konto)"),
        _ => None,
    }
}

/// The entry as a sentence.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn sentence(e: &Entry<'_>) -> String {
    let (a, t, o) = (e.actor, e.target, e.outcome_words);
    let s = match e.action {
        "login" => match failed(e.outcome) {
            Some(why) => format!("{a}: Anmeldung {t} {why}"),
            None => format!("{a} hat sich {t} angemeldet"),
        },
        "login.password" => format!("{a} hat das Passwort zur Anmeldung eingegeben"),
        "login.second_factor" => match e.outcome {
            "failure" => format!("{a} hat einen falschen Code für den zweiten Faktor eingegeben"),
            _ => format!("{a} hat sich mit dem zweiten Faktor angemeldet"),
        },
        "login.bundid" => match failed(e.outcome) {
            Some(why) => format!("{a}: Anmeldung mit BundID {why}"),
            None => format!("{a} hat sich mit BundID angemeldet"),
        },
        "login.oidc" => match failed(e.outcome) {
            Some(why) => format!("{a}: Anmeldung über {t} {why}"),
            None => format!("{a} hat sich über {t} angemeldet"),
        },
        "login.identity" => format!("{a} hat sich über {t} angemeldet"),
        "identity.link" => match failed(e.outcome) {
            Some(why) => format!("{a}: Verknüpfung mit {t} {why}"),
            None => format!("{a} hat das Konto mit {t} verknüpft"),
        },
        "logout" => format!("{a} hat sich abgemeldet"),
        "logout.everywhere" => format!("{a} hat sich auf allen Geräten abgemeldet"),
        "second_factor.enrol" => format!("{a} hat den zweiten Faktor eingerichtet"),
        "second_factor.remove" => format!("{a} hat den zweiten Faktor entfernt"),
        "citizen.register" => format!("{a} hat ein Bürgerkonto angelegt"),
        "citizen.confirm_email" => format!("{a} hat die E-Mail-Adresse bestätigt"),
        "citizen.profile" => format!("{a} hat die Profildaten geändert"),
        "citizen.password_reset_request" | "staff.password_reset_request" => {
            format!("{a} hat einen Link für ein neues Passwort angefordert")
        }
        "citizen.password_reset" | "staff.password_reset" => format!("{a} hat ein neues Passwort gesetzt"),
        "staff.invite" => format!("{a} hat {t} eingeladen"),
        "staff.accept_invite" => format!("{a} hat die Einladung angenommen und ein Passwort gesetzt"),
        "staff.create" => format!("{a} hat das Konto von {t} angelegt"),
        "staff.roles" => format!("{a} hat die Rollen von {t} geändert"),
        "staff.disable" => format!("{a} hat das Konto von {t} deaktiviert"),
        "staff.reinvite" => format!("{a} hat {t} neu eingeladen"),
        "submission.view" => format!("{a} hat {t} angesehen"),
        "submission.receipt" => format!("{a} hat {t} als PDF heruntergeladen"),
        "submission.file" => format!("{a} hat eine Anlage von {t} heruntergeladen"),
        "submission.message_file" => format!("{a} hat einen Anhang der Nachrichten zu {t} heruntergeladen"),
        "submission.status" => format!("{a} hat {t} auf {o} gesetzt"),
        "submission.reopen" => format!("{a} hat {t} wieder aufgenommen (Stand {o})"),
        "submission.withdraw" => format!("{a} hat {t} zurückgezogen"),
        "submission.message" => format!("{a} hat eine Nachricht zu {t} ins Postfach gesendet"),
        "submission.note" => format!("{a} hat eine interne Notiz zu {t} geschrieben"),
        "submission.assign" => format!("{a} hat {t} {o} zugewiesen"),
        "postfach.deliver" => format!("{a} hat eine Nachricht ins Postfach zugestellt ({t})"),
        "postfach.reply" => format!("{a} hat im Postfach geantwortet ({t})"),
        "api.submission.view" => format!("{a} hat {t} abgerufen"),
        "api.submission.receipt" => format!("{a} hat die Quittung von {t} abgerufen"),
        "api.submission.file" => format!("{a} hat eine Anlage von {t} abgerufen"),
        "api.submission.acknowledge" => format!("{a} hat den Empfang von {t} bestätigt"),
        "api.download" => format!("Ein Download-Link für {t} wurde benutzt"),
        "api.appointments.day" => format!("{a} hat die Termine eines Tages von {t} abgerufen"),
        "delivery.resend" => format!("{a} hat die Übergabe {t} erneut angestoßen"),
        "delivery.reconciliation" => format!("{a} hat den Abgleich der Übergaben abgerufen ({t})"),
        "connector.create" => format!("{a} hat eine Übergabe eingerichtet ({t})"),
        "connector.update" if e.outcome.contains("secret replaced") => {
            format!("{a} hat die Übergabe {t} geändert und ihr Geheimnis ersetzt")
        }
        "connector.update" => format!("{a} hat die Übergabe {t} geändert"),
        "connector.toggle" => match e.outcome {
            "ja" | "true" | "on" | "1" => format!("{a} hat die Übergabe {t} eingeschaltet"),
            _ => format!("{a} hat die Übergabe {t} ausgeschaltet"),
        },
        "api_client.create" => format!("{a} hat einen Schnittstellen-Zugang angelegt ({t})"),
        "api_client.revoke" => format!("{a} hat einen Schnittstellen-Zugang widerrufen ({t})"),
        "audit.export" => format!("{a} hat das Protokoll als CSV heruntergeladen"),
        "authority.create" => format!("{a} hat die Behörde {t} angelegt"),
        "authority.look" => format!("{a} hat die Darstellung von {t} geändert"),
        "authority.logo" => format!("{a} hat ein Logo für {t} hochgeladen"),
        "authority.logo_remove" => format!("{a} hat das Logo von {t} entfernt"),
        "zustaendigkeit.add" => format!("{a} hat eine Zuständigkeit hinzugefügt ({t})"),
        "zustaendigkeit.remove" => format!("{a} hat eine Zuständigkeit entfernt ({t})"),
        "org_unit.save" => format!("{a} hat eine Organisationseinheit gespeichert ({t})"),
        "contact.save" => format!("{a} hat eine Ansprechperson gespeichert ({t})"),
        "location.save" => format!("{a} hat einen Standort gespeichert ({t})"),
        "leistung.create" => format!("{a} hat {t} angelegt"),
        "leistung.save_draft" => format!("{a} hat einen Entwurf für {t} gespeichert"),
        "leistung.publish" => format!("{a} hat {t} veröffentlicht"),
        "leistung.unpublish" => format!("{a} hat {t} aus dem Portal genommen"),
        "leistung.discard_draft" => format!("{a} hat den Entwurf von {t} verworfen"),
        "library.offer" => format!("{a} hat {t} in der Bibliothek angeboten"),
        "library.withdraw" => format!("{a} hat das Angebot von {t} in der Bibliothek zurückgezogen"),
        "library.adopt" => format!("{a} hat {t} aus der Bibliothek übernommen"),
        "library.accept" => format!("{a} hat eine Änderung der Bibliothek an {t} übernommen"),
        "library.accept_form" => format!("{a} hat eine neue Fassung von {t} aus der Bibliothek übernommen"),
        "library.detach" => format!("{a} hat {t} von der Bibliothek gelöst"),
        "page.save_draft" => format!("{a} hat einen Entwurf für {t} gespeichert"),
        "page.publish" => format!("{a} hat {t} veröffentlicht"),
        "page.discard_draft" => format!("{a} hat den Entwurf von {t} verworfen"),
        "form.create" => format!("{a} hat {t} angelegt"),
        "form.save_draft" => format!("{a} hat einen Entwurf für {t} gespeichert"),
        "form.publish" => format!("{a} hat {t} veröffentlicht"),
        "appointment.rules_saved" => format!("{a} hat die Regeln für Online-Termine gespeichert ({t})"),
        "appointment.calendar_saved" => format!("{a} hat einen Terminkalender gespeichert ({t})"),
        "appointment.day_viewed" => format!("{a} hat die Tagesliste der Termine angesehen ({t})"),
        "appointment.day_exported" => format!("{a} hat die Tagesliste der Termine heruntergeladen ({t})"),
        "appointment.status" => {
            let to = match e.outcome {
                "attended" => "wahrgenommen",
                "missed" => "nicht erschienen",
                "cancelled" => "abgesagt",
                other => other,
            };
            format!("{a} hat den Termin {t} als ‚{to}‘ markiert")
        }
        "appointment.cancelled_by_staff" => format!("{a} hat den Termin {t} abgesagt"),
        "appointment.day_cancelled" => format!("{a} hat alle Termine eines Tages abgesagt ({t})"),
        "appointment.booked_on_behalf" => format!("{a} hat den Termin {t} für eine anrufende Person gebucht"),
        "payment.settings_saved" => format!("{a} hat die Einstellungen für Zahlungen gespeichert"),
        "payment_connector.create" => format!("{a} hat den Zahlungsweg {t} eingerichtet"),
        "payment_connector.update" => format!("{a} hat den Zahlungsweg {t} geändert"),
        "payment_connector.toggle" => format!("{a} hat den Zahlungsweg {t} ein- oder ausgeschaltet"),
        "payment.counter" => format!("{a} hat eine Zahlung vor Ort zu {t} erfasst"),
        "payment.refund" => format!("{a} hat eine Erstattung zu {t} angewiesen"),
        "payment.refund_done" => format!("{a} hat die Erstattung {t} als ausgezahlt markiert"),
        "payment.review" => format!("{a} hat die Prüfung der Zahlung zu {t} abgeschlossen"),
        "payment.camt_import" => format!("{a} hat einen Kontoauszug eingelesen ({t})"),
        "payment.bank_assign" => format!("{a} hat den Zahlungseingang {t} zugeordnet"),
        "payment.bank_dismiss" => format!("{a} hat den Zahlungseingang {t} ohne Zuordnung erledigt"),
        "payment.report" => format!("{a} hat die Zahlungsübersicht {t} heruntergeladen"),
        "finance.activation_code" => format!("{a} hat einen Aktivierungscode für das Finanzkonto {t} erzeugt"),
        "finance.link" => format!("{a} hat das Finanzkonto {t} mit dem Bürgerkonto verknüpft"),
        "finance.unlink" => format!("{a} hat die Verknüpfung des Finanzkontos {t} mit dem Bürgerkonto aufgehoben"),
        "finance.activation_code.revoke" => {
            format!("{a} hat die offenen Aktivierungscodes des Finanzkontos {t} widerrufen")
        }
        other => format!("{a}: {} ({t})", kind_label(other)),
    };
    let failed_generic = matches!(e.outcome, "failure" | "refused" | "replay")
        && !matches!(e.action, "login" | "login.second_factor" | "login.bundid" | "login.oidc" | "identity.link");
    if failed_generic {
        format!("{s} – fehlgeschlagen")
    } else if e.outcome == crate::audit::CROSS_SITE {
        format!("{s} – geöffnet über einen Link einer fremden Website")
    } else {
        s
    }
}

/// "‚bewilligt'": a status label as running text (an outcome's participle in lower
/// case, a state's name as it is).
#[must_use]
pub fn quoted_status(label: &str, is_outcome: bool) -> String {
    let mut l = label.to_owned();
    if is_outcome && let Some(first) = l.chars().next() {
        l = first.to_lowercase().chain(l.chars().skip(1)).collect();
    }
    format!("‚{l}‘")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_kinds(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                find_kinds(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    // A literal kind on an audit call (or within the next 4 lines of
                    // one), in an `action:` field or an `action` binding.
                    let near = (i.saturating_sub(4)..=i).any(|j| {
                        let l = lines[j];
                        l.contains("audit(") || l.contains("audit_case(") || l.contains("append_audit(")
                    });
                    if !(near || line.contains("action") || line.contains("(1, \"logout\")")) {
                        continue;
                    }
                    for lit in line.split('"').skip(1).step_by(2) {
                        let kind = lit.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                            && lit.contains('.')
                            && !lit.starts_with('.')
                            && !lit.ends_with('.');
                        if kind || lit == "login" || lit == "logout" {
                            out.insert(lit.to_owned());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_kind_of_action_the_code_writes_has_words() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = std::collections::BTreeSet::new();
        for c in ["web", "portal", "store", "cli", "handoff"] {
            find_kinds(&crates.join(c).join("src"), &mut found);
        }
        // Kinds put together at run time (account.rs: "<kind>.password_reset…").
        for who in ["citizen", "staff"] {
            for k in ["password_reset_request", "password_reset"] {
                found.insert(format!("{who}.{k}"));
            }
        }
        assert!(found.len() > 40, "the scan finds the kinds: {found:?}");
        let known: std::collections::BTreeSet<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        // Dotted literals near an audit call that are no kind of action.
        let not_kinds = ["protokoll.csv", "submission.received"];
        let missing: Vec<&String> =
            found.iter().filter(|k| !known.contains(k.as_str()) && !not_kinds.contains(&k.as_str())).collect();
        assert!(missing.is_empty(), "kinds without words: {missing:?}");
        for (kind, _) in KINDS {
            let s = sentence(&Entry { action: kind, outcome: "success", actor: "A", target: "T", outcome_words: "O" });
            assert!(!s.contains(kind), "{kind} has its own sentence: {s}");
        }
    }

    #[test]
    fn a_status_change_reads_as_a_sentence() {
        let s = sentence(&Entry {
            action: "submission.status",
            outcome: "abgeschlossen:bewilligt",
            actor: "Sam Sachbearbeitung",
            target: "MOO-2026-000005",
            outcome_words: &quoted_status("Bewilligt", true),
        });
        assert_eq!(s, "Sam Sachbearbeitung hat MOO-2026-000005 auf ‚bewilligt‘ gesetzt");
    }
}
