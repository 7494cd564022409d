//! Triage: the authority's questions before the calendar may add time to the
//! appointment or tell the citizen that no appointment is needed.

use super::settings::{BookingRules, TriageEffect, TriageQuestion};
use crate::InvalidValue;

/// What the answers mean for the booking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriageOutcome {
    pub extra_minutes: u16,
    /// (message, link): no appointment needed, e.g. "apply online here".
    pub no_appointment: Option<(String, String)>,
}

impl BookingRules {
    /// The questions that apply to the chosen services (those without LeiKa keys
    /// apply to every service), in the configured order.
    #[must_use]
    pub fn questions_for(&self, services: &[String]) -> Vec<&TriageQuestion> {
        self.triage.iter().filter(|q| q.leika.is_empty() || q.leika.iter().any(|l| services.contains(l))).collect()
    }

    /// Evaluates the answers (question id, answer id) to the applicable questions.
    ///
    /// # Errors
    /// When an applicable question is unanswered or the answer is unknown.
    pub fn triage(&self, services: &[String], answers: &[(String, String)]) -> Result<TriageOutcome, InvalidValue> {
        let mut outcome = TriageOutcome::default();
        for q in self.questions_for(services) {
            let given = answers.iter().find(|(qid, _)| *qid == q.id).map(|(_, a)| a.as_str());
            let Some(answer) = given.and_then(|a| q.answers.iter().find(|x| x.id == a)) else {
                return Err(InvalidValue(format!("Bitte beantworten Sie die Frage „{}“.", q.text)));
            };
            match &answer.effect {
                TriageEffect::Nothing => {}
                TriageEffect::AddMinutes(m) => outcome.extra_minutes = outcome.extra_minutes.saturating_add(*m),
                TriageEffect::NoAppointment { message, link } => {
                    // The first such answer wins: its message is what the citizen reads.
                    if outcome.no_appointment.is_none() {
                        outcome.no_appointment = Some((message.clone(), link.clone()));
                    }
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appointments::settings::{TriageAnswer, TriageEffect};

    fn rules() -> BookingRules {
        let answer = |id: &str, effect: TriageEffect| TriageAnswer { id: id.into(), label: id.into(), effect };
        BookingRules {
            triage: vec![
                TriageQuestion {
                    id: "online".into(),
                    text: "Haben Sie den Antrag online gestellt?".into(),
                    leika: vec!["99".into()],
                    answers: vec![answer("ja", TriageEffect::Nothing), answer("nein", TriageEffect::AddMinutes(15))],
                },
                TriageQuestion {
                    id: "bescheinigung".into(),
                    text: "Brauchen Sie nur eine Meldebescheinigung?".into(),
                    leika: vec![],
                    answers: vec![
                        answer(
                            "ja",
                            TriageEffect::NoAppointment {
                                message: "Dafür brauchen Sie keinen Termin.".into(),
                                link: "/o/moorbrueck/leistungen/meldebescheinigung".into(),
                            },
                        ),
                        answer("nein", TriageEffect::Nothing),
                    ],
                },
            ],
            ..BookingRules::default()
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    fn answers(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(q, a)| ((*q).to_owned(), (*a).to_owned())).collect()
    }

    #[test]
    fn questions_apply_to_their_services_only() {
        let r = rules();
        assert_eq!(r.questions_for(&s(&["99"])).len(), 2);
        let other: Vec<&str> = r.questions_for(&s(&["77"])).iter().map(|q| q.id.as_str()).collect();
        assert_eq!(other, ["bescheinigung"]);
    }

    #[test]
    fn answers_add_time_or_end_the_booking() {
        let r = rules();
        let plain = r.triage(&s(&["99"]), &answers(&[("online", "ja"), ("bescheinigung", "nein")])).unwrap();
        assert_eq!(plain, TriageOutcome::default());
        let longer = r.triage(&s(&["99"]), &answers(&[("online", "nein"), ("bescheinigung", "nein")])).unwrap();
        assert_eq!(longer.extra_minutes, 15);
        let none = r.triage(&s(&["77"]), &answers(&[("bescheinigung", "ja")])).unwrap();
        let (message, link) = none.no_appointment.unwrap();
        assert!(message.contains("keinen Termin"));
        assert!(link.ends_with("meldebescheinigung"));
    }

    #[test]
    fn unanswered_or_unknown_answers_are_refused() {
        let r = rules();
        let missing = r.triage(&s(&["99"]), &answers(&[("online", "ja")])).unwrap_err();
        assert_eq!(missing.0, "Bitte beantworten Sie die Frage „Brauchen Sie nur eine Meldebescheinigung?“.");
        assert!(r.triage(&s(&["77"]), &answers(&[("bescheinigung", "vielleicht")])).is_err());
        // Answers to questions that do not apply are ignored.
        assert!(r.triage(&s(&["77"]), &answers(&[("bescheinigung", "nein"), ("online", "x")])).is_ok());
    }
}
