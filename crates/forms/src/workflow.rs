//! The processing states of an application (Bearbeitungsstand) and which state may
//! follow which. Every form has the default workflow unless it brings its own; the
//! back office, the API and the citizen's account all check changes here.

use serde::{Deserialize, Serialize};

/// The state every submission starts in.
pub const RECEIVED: &str = "eingegangen";

/// A submission whose fee must be paid before it is released to the authority: not
/// in the inbox, not delivered, not counted. Reserved: no workflow may use it.
pub const AWAITING_PAYMENT: &str = "zahlung_ausstehend";

/// A submission that was never paid and has expired. Reserved like [`AWAITING_PAYMENT`].
pub const PAYMENT_EXPIRED: &str = "zahlung_abgelaufen";

/// The states the payment sets, outside every workflow.
pub const RESERVED_STATES: [&str; 2] = [AWAITING_PAYMENT, PAYMENT_EXPIRED];

/// The state a citizen's withdrawal sets (and a case worker may set on their
/// behalf). Its meaning is fixed for every form: a workflow need not declare it,
/// and one that does must make it final.
pub const WITHDRAWN: &str = "zurueckgezogen";

/// A final outcome of a state, e.g. "bewilligt" for "abgeschlossen".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub label: String,
    /// States that may follow this one.
    #[serde(default)]
    pub next: Vec<String>,
    /// Sub-statuses; when present, entering this state needs one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// Entering this state asks the citizen something: a message is required, and the
    /// citizen's answer moves the application to `on_reply`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub asks_citizen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_reply: Option<String>,
    /// Nothing follows a final state.
    #[serde(default, rename = "final", skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub states: Vec<State>,
}

fn state(id: &str, label: &str, next: &[&str]) -> State {
    State {
        id: id.into(),
        label: label.into(),
        next: next.iter().map(|s| (*s).to_owned()).collect(),
        outcomes: Vec::new(),
        asks_citizen: false,
        on_reply: None,
        is_final: false,
    }
}

/// Why a change of state is not possible, in plain German.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError(pub String);

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for Workflow {
    /// eingegangen → in Bearbeitung → Rückfrage → abgeschlossen (bewilligt / abgelehnt);
    /// zurückgezogen from every open state.
    fn default() -> Self {
        let mut rueckfrage = state("rueckfrage", "Rückfrage", &["in_bearbeitung", "abgeschlossen", "zurueckgezogen"]);
        rueckfrage.asks_citizen = true;
        rueckfrage.on_reply = Some("in_bearbeitung".into());
        let mut abgeschlossen = state("abgeschlossen", "Abgeschlossen", &[]);
        abgeschlossen.is_final = true;
        abgeschlossen.outcomes = vec![
            Outcome { id: "bewilligt".into(), label: "Bewilligt".into() },
            Outcome { id: "abgelehnt".into(), label: "Abgelehnt".into() },
        ];
        let mut zurueckgezogen = state("zurueckgezogen", "Zurückgezogen", &[]);
        zurueckgezogen.is_final = true;
        Self {
            states: vec![
                state(RECEIVED, "Eingegangen", &["in_bearbeitung", "rueckfrage", "abgeschlossen", "zurueckgezogen"]),
                state("in_bearbeitung", "In Bearbeitung", &["rueckfrage", "abgeschlossen", "zurueckgezogen"]),
                rueckfrage,
                abgeschlossen,
                zurueckgezogen,
            ],
        }
    }
}

impl Workflow {
    #[must_use]
    pub fn state(&self, id: &str) -> Option<&State> {
        self.states.iter().find(|s| s.id == id)
    }

    /// The label of a state and sub-status for people ("Abgeschlossen: Bewilligt");
    /// an unknown id (from an older workflow) is shown as it is.
    #[must_use]
    pub fn label(&self, status: &str, sub_status: &str) -> String {
        match status {
            AWAITING_PAYMENT => return "Zahlung ausstehend".to_owned(),
            PAYMENT_EXPIRED => return "Nicht bezahlt (abgelaufen)".to_owned(),
            WITHDRAWN if self.state(WITHDRAWN).is_none() => return "Zurückgezogen".to_owned(),
            _ => {}
        }
        let Some(s) = self.state(status) else { return status.to_owned() };
        match s.outcomes.iter().find(|o| o.id == sub_status) {
            Some(o) => format!("{}: {}", s.label, o.label),
            None => s.label.clone(),
        }
    }

    /// The states that may follow `status`.
    #[must_use]
    pub fn next_of(&self, status: &str) -> Vec<&State> {
        self.state(status).map(|s| s.next.iter().filter_map(|n| self.state(n)).collect()).unwrap_or_default()
    }

    /// Checks a change from `from` to `to` with `outcome` ("" for none) and a message
    /// to the citizen (empty for none).
    ///
    /// # Errors
    /// When the change is not allowed, with the reason in plain German.
    pub fn check_transition(&self, from: &str, to: &str, outcome: &str, message: &str) -> Result<(), TransitionError> {
        let err = |s: String| Err(TransitionError(s));
        let Some(target) = self.state(to) else {
            return err(format!("Den Bearbeitungsstand „{to}“ gibt es für dieses Formular nicht."));
        };
        let current = self.state(from);
        if !current.is_some_and(|c| c.next.iter().any(|n| n == to)) {
            let from_label = current.map_or(from, |c| c.label.as_str());
            return err(format!("Von „{from_label}“ kann der Antrag nicht nach „{}“ wechseln.", target.label));
        }
        if target.outcomes.is_empty() {
            if !outcome.is_empty() {
                return err(format!("„{}“ hat kein Ergebnis; lassen Sie das Ergebnis leer.", target.label));
            }
        } else if !target.outcomes.iter().any(|o| o.id == outcome) {
            let choices: Vec<&str> = target.outcomes.iter().map(|o| o.label.as_str()).collect();
            return err(format!("Wählen Sie ein Ergebnis für „{}“: {}.", target.label, choices.join(" oder ")));
        }
        if target.asks_citizen && message.trim().is_empty() {
            return err(format!("Für „{}“ schreiben Sie bitte die Frage an die antragstellende Person.", target.label));
        }
        Ok(())
    }

    /// Whether the citizen may withdraw an application in state `status`: while it
    /// is in an open state of the workflow. A held application (waiting for its fee)
    /// is not the authority's yet and expires by itself when unpaid — withdrawing it
    /// would hand it to the authority, so it is refused with that explanation.
    ///
    /// # Errors
    /// When withdrawing is not possible, with the reason in plain German.
    pub fn check_withdrawal(&self, status: &str) -> Result<(), TransitionError> {
        let err = |s: &str| Err(TransitionError(s.to_owned()));
        match status {
            WITHDRAWN => return err("Dieser Antrag ist bereits zurückgezogen."),
            AWAITING_PAYMENT => {
                return err("Dieser Antrag liegt der Behörde noch nicht vor: Er wird erst nach der Zahlung \
                            weitergegeben. Wenn Sie nicht bezahlen, verfällt er mit Ablauf der Zahlungsfrist von \
                            selbst – Sie müssen nichts weiter tun.");
            }
            PAYMENT_EXPIRED => {
                return err("Dieser Antrag ist verfallen, weil die Gebühr nicht bezahlt wurde. Er wird nicht \
                            bearbeitet; Sie müssen ihn nicht zurückziehen.");
            }
            _ => {}
        }
        match self.state(status) {
            Some(s) if !s.is_final => Ok(()),
            Some(s) => Err(TransitionError(format!(
                "Der Antrag ist bereits abgeschlossen („{}“) und kann nicht mehr zurückgezogen werden.",
                s.label
            ))),
            // A state an older workflow had: only the authority can say what it means.
            None => err("Dieser Antrag kann nicht online zurückgezogen werden. Bitte wenden Sie sich an die Behörde."),
        }
    }

    /// Structural problems in plain German; empty when the workflow may be used.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.states.first().is_none_or(|s| s.id != RECEIVED) {
            out.push(format!("Der Bearbeitungsablauf muss mit dem Stand „{RECEIVED}“ beginnen."));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.states {
            if !seen.insert(s.id.as_str()) {
                out.push(format!("Den Bearbeitungsstand „{}“ gibt es zweimal.", s.id));
            }
            if RESERVED_STATES.contains(&s.id.as_str()) {
                out.push(format!("Die Kennung „{}“ ist für die Zahlung reserviert; wählen Sie eine andere.", s.id));
            }
            if s.id == WITHDRAWN && !s.is_final {
                out.push(format!("„{WITHDRAWN}“ ist der Stand zurückgezogener Anträge; er muss ein Abschluss sein."));
            }
            if s.label.trim().is_empty() {
                out.push(format!("Der Bearbeitungsstand „{}“ hat keine Bezeichnung.", s.id));
            }
            for n in s.next.iter().chain(s.on_reply.iter()) {
                if self.state(n).is_none() {
                    out.push(format!("„{}“ verweist auf den unbekannten Stand „{n}“.", s.id));
                }
            }
            if s.is_final && !s.next.is_empty() {
                out.push(format!("Auf den Abschluss „{}“ kann kein Stand folgen.", s.id));
            }
            if !s.is_final && s.next.is_empty() {
                out.push(format!("Vom Stand „{}“ geht es nicht weiter; markieren Sie ihn als Abschluss.", s.id));
            }
        }
        if !self.states.iter().any(|s| s.is_final) {
            out.push("Der Bearbeitungsablauf braucht mindestens einen Abschluss.".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workflow_is_sound_and_follows_the_usual_path() {
        let w = Workflow::default();
        assert!(w.problems().is_empty(), "{:?}", w.problems());
        assert!(w.check_transition(RECEIVED, "in_bearbeitung", "", "").is_ok());
        assert!(w.check_transition("in_bearbeitung", "abgeschlossen", "bewilligt", "").is_ok());
        assert_eq!(w.label("abgeschlossen", "abgelehnt"), "Abgeschlossen: Abgelehnt");
    }

    #[test]
    fn payment_states_are_reserved_and_labelled() {
        let w = Workflow::default();
        assert_eq!(w.label(AWAITING_PAYMENT, ""), "Zahlung ausstehend");
        assert_eq!(w.label(PAYMENT_EXPIRED, ""), "Nicht bezahlt (abgelaufen)");
        let mut own = Workflow::default();
        own.states[1].id = AWAITING_PAYMENT.into();
        for s in &mut own.states {
            for n in s.next.iter_mut().chain(s.on_reply.iter_mut()) {
                if n == "in_bearbeitung" {
                    *n = AWAITING_PAYMENT.into();
                }
            }
        }
        assert_eq!(own.problems().len(), 1, "{:?}", own.problems());
    }

    #[test]
    fn wrong_changes_are_refused_in_plain_german() {
        let w = Workflow::default();
        let e = w.check_transition("abgeschlossen", "in_bearbeitung", "", "").unwrap_err();
        assert!(e.0.contains("Von „Abgeschlossen“"), "{e}");
        assert!(w.check_transition("in_bearbeitung", "abgeschlossen", "", "").unwrap_err().0.contains("Bewilligt"));
        assert!(w.check_transition("in_bearbeitung", "rueckfrage", "", " ").unwrap_err().0.contains("Frage"));
        assert!(w.check_transition("in_bearbeitung", "erledigt", "", "").is_err());
        assert!(w.check_transition("in_bearbeitung", "zurueckgezogen", "bewilligt", "").is_err());
    }

    #[test]
    fn a_citizen_withdraws_only_an_open_application() {
        let w = Workflow::default();
        for open in [RECEIVED, "in_bearbeitung", "rueckfrage"] {
            assert!(w.check_withdrawal(open).is_ok(), "{open}");
        }
        assert!(w.check_withdrawal("abgeschlossen").unwrap_err().0.contains("bereits abgeschlossen („Abgeschlossen“)"));
        assert!(w.check_withdrawal(WITHDRAWN).unwrap_err().0.contains("bereits zurückgezogen"));
        assert!(w.check_withdrawal(AWAITING_PAYMENT).unwrap_err().0.contains("nach der Zahlung"));
        assert!(w.check_withdrawal(PAYMENT_EXPIRED).unwrap_err().0.contains("verfallen"));
        assert!(w.check_withdrawal("archiviert").is_err());
        // A workflow without the state still names it, and may not make it open.
        let mut own = Workflow::default();
        own.states.retain(|s| s.id != WITHDRAWN);
        for s in &mut own.states {
            s.next.retain(|n| n != WITHDRAWN);
        }
        assert!(own.problems().is_empty(), "{:?}", own.problems());
        assert_eq!(own.label(WITHDRAWN, ""), "Zurückgezogen");
        let mut open = Workflow::default();
        let last = open.states.len() - 1;
        open.states[last].is_final = false;
        open.states[last].next = vec!["in_bearbeitung".into()];
        assert!(open.problems().iter().any(|p| p.contains("muss ein Abschluss sein")), "{:?}", open.problems());
    }

    #[test]
    fn a_broken_custom_workflow_is_reported() {
        let mut w = Workflow::default();
        w.states[1].next.push("archiv".into());
        w.states.remove(0);
        let p = w.problems();
        assert!(p.iter().any(|m| m.contains("beginnen")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("archiv")), "{p:?}");
    }
}
