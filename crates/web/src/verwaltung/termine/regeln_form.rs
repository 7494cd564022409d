//! The booking rules as a form: what was typed (strings, so a wrong entry comes back
//! as it was), read into [`BookingRules`] with a message per field. Triage questions
//! are a repeatable fieldset: `q<i>_text`, `q<i>_leika` (checkboxes), and answers
//! `q<i>_a<j>_label|effect|minutes|message|link`. A question without text and
//! answers is dropped, so emptying it removes it; "add a question" is a submit button
//! that shows the form again with one more (no JavaScript).

use super::{Problem, all, first, number};
use amtsweg_domain::Slug;
use amtsweg_domain::appointments::{BookingLimit, BookingRules, TriageAnswer, TriageEffect, TriageQuestion};
use serde::Serialize;

/// At most this many questions and answers per question are read from a form.
const MAX_QUESTIONS: usize = 20;
const MAX_ANSWERS: usize = 12;

/// What an answer does, as the form's select names it.
const EFFECT_NOTHING: &str = "nichts";
const EFFECT_MINUTES: &str = "zeit";
const EFFECT_NO_APPOINTMENT: &str = "kein_termin";

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct AnswerForm {
    pub id: String,
    pub label: String,
    pub effect: String,
    pub minutes: String,
    pub message: String,
    pub link: String,
}

impl AnswerForm {
    fn is_blank(&self) -> bool {
        self.label.trim().is_empty()
            && self.minutes.trim().is_empty()
            && self.message.trim().is_empty()
            && self.link.trim().is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct QuestionForm {
    pub id: String,
    pub text: String,
    pub leika: Vec<String>,
    pub answers: Vec<AnswerForm>,
}

impl QuestionForm {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty() && self.answers.iter().all(AnswerForm::is_blank)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RulesForm {
    pub version: String,
    pub hold_minutes: String,
    pub double_opt_in: bool,
    pub confirm_minutes: String,
    pub reminder_hours: String,
    pub retention_days: String,
    pub limit_count: String,
    pub limit_days: String,
    pub questions: Vec<QuestionForm>,
}

impl RulesForm {
    pub(crate) fn from_rules(r: &BookingRules, version: i64) -> Self {
        let questions = r
            .triage
            .iter()
            .map(|q| QuestionForm {
                id: q.id.clone(),
                text: q.text.clone(),
                leika: q.leika.clone(),
                answers: q
                    .answers
                    .iter()
                    .map(|a| {
                        let mut f = AnswerForm { id: a.id.clone(), label: a.label.clone(), ..AnswerForm::default() };
                        match &a.effect {
                            TriageEffect::Nothing => f.effect = EFFECT_NOTHING.into(),
                            TriageEffect::AddMinutes(m) => {
                                f.effect = EFFECT_MINUTES.into();
                                f.minutes = m.to_string();
                            }
                            TriageEffect::NoAppointment { message, link } => {
                                f.effect = EFFECT_NO_APPOINTMENT.into();
                                f.message.clone_from(message);
                                f.link.clone_from(link);
                            }
                        }
                        f
                    })
                    .collect(),
            })
            .collect();
        Self {
            version: version.to_string(),
            hold_minutes: r.hold_minutes.to_string(),
            double_opt_in: r.double_opt_in,
            confirm_minutes: r.confirm_minutes.to_string(),
            reminder_hours: r.reminder_hours.to_string(),
            retention_days: r.retention_days.to_string(),
            limit_count: r.limit.as_ref().map(|l| l.count.to_string()).unwrap_or_default(),
            limit_days: r.limit.as_ref().map(|l| l.days.to_string()).unwrap_or_default(),
            questions,
        }
    }

    /// The form as posted (`pairs` in the order the browser sent them).
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut questions = Vec::new();
        for i in 0..MAX_QUESTIONS {
            let p = format!("q{i}_");
            if !pairs.iter().any(|(k, _)| k.starts_with(&p)) {
                continue;
            }
            let key = |s: &str| format!("{p}{s}");
            let mut answers = Vec::new();
            for j in 0..MAX_ANSWERS {
                let ap = format!("{p}a{j}_");
                if !pairs.iter().any(|(k, _)| k.starts_with(&ap)) {
                    continue;
                }
                let akey = |s: &str| format!("{ap}{s}");
                answers.push(AnswerForm {
                    id: first(pairs, &akey("id")).trim().to_owned(),
                    label: first(pairs, &akey("label")).to_owned(),
                    effect: first(pairs, &akey("effect")).to_owned(),
                    minutes: first(pairs, &akey("minutes")).to_owned(),
                    message: first(pairs, &akey("message")).to_owned(),
                    link: first(pairs, &akey("link")).to_owned(),
                });
            }
            let leika_key = key("leika");
            questions.push(QuestionForm {
                id: first(pairs, &key("id")).trim().to_owned(),
                text: first(pairs, &key("text")).to_owned(),
                leika: all(pairs, &leika_key).map(str::to_owned).collect(),
                answers,
            });
        }
        Self {
            version: first(pairs, "version").to_owned(),
            hold_minutes: first(pairs, "hold_minutes").to_owned(),
            double_opt_in: !first(pairs, "double_opt_in").is_empty(),
            confirm_minutes: first(pairs, "confirm_minutes").to_owned(),
            reminder_hours: first(pairs, "reminder_hours").to_owned(),
            retention_days: first(pairs, "retention_days").to_owned(),
            limit_count: first(pairs, "limit_count").to_owned(),
            limit_days: first(pairs, "limit_days").to_owned(),
            questions,
        }
    }

    /// The expected version (0 = nothing stored yet).
    pub(crate) fn version(&self) -> i64 {
        self.version.trim().parse().unwrap_or(0)
    }

    /// Drops emptied questions and answers, then gives every question one empty
    /// answer row to fill in and, when `add_question`, one more empty question.
    pub(crate) fn for_editing(mut self, add_question: bool) -> Self {
        self.questions.retain(|q| !q.is_blank());
        for q in &mut self.questions {
            q.answers.retain(|a| !a.is_blank());
        }
        if add_question && self.questions.len() < MAX_QUESTIONS {
            self.questions.push(QuestionForm::default());
        }
        for q in &mut self.questions {
            if q.answers.len() < MAX_ANSWERS {
                q.answers.push(AnswerForm { effect: EFFECT_NOTHING.into(), ..AnswerForm::default() });
            }
            if q.answers.len() < 2 {
                q.answers.push(AnswerForm { effect: EFFECT_NOTHING.into(), ..AnswerForm::default() });
            }
        }
        self
    }

    /// The rules, or the problems in the order of the form.
    pub(crate) fn parse(&self) -> Result<BookingRules, Vec<Problem>> {
        let mut p = Vec::new();
        let defaults = BookingRules::default();
        let hold_minutes = number(
            &mut p,
            "hold_minutes",
            "Reservierung während der Eingabe",
            &self.hold_minutes,
            defaults.hold_minutes,
        );
        let confirm_minutes = number(
            &mut p,
            "confirm_minutes",
            "Frist für die Bestätigung",
            &self.confirm_minutes,
            defaults.confirm_minutes,
        );
        let reminder_hours =
            number(&mut p, "reminder_hours", "Erinnerung", &self.reminder_hours, defaults.reminder_hours);
        let retention_days =
            number(&mut p, "retention_days", "Löschfrist", &self.retention_days, defaults.retention_days);
        let limit = match (self.limit_count.trim(), self.limit_days.trim()) {
            ("", "") => None,
            (count, days) => {
                let count = number(&mut p, "limit_count", "Höchstzahl der Buchungen je Person", count, 1u16);
                let days = number(&mut p, "limit_days", "Zeitraum der Höchstzahl", days, 1u16);
                Some(BookingLimit { count, days })
            }
        };
        let mut triage = Vec::new();
        let mut used_ids: Vec<String> = Vec::new();
        for (i, q) in self.questions.iter().enumerate().filter(|(_, q)| !q.is_blank()) {
            let n = i + 1;
            if q.text.trim().is_empty() {
                p.push(Problem::new(
                    format!("q{i}_text"),
                    format!("Frage {n}: Bitte geben Sie den Text der Frage ein."),
                ));
            }
            let id = unique_id(&q.id, &format!("frage{n}"), &used_ids);
            used_ids.push(id.clone());
            let mut answers = Vec::new();
            let mut answer_ids: Vec<String> = Vec::new();
            for (j, a) in q.answers.iter().enumerate().filter(|(_, a)| !a.is_blank()) {
                let field = |s: &str| format!("q{i}_a{j}_{s}");
                let m = j + 1;
                if a.label.trim().is_empty() {
                    p.push(Problem::new(
                        field("label"),
                        format!("Frage {n}, Antwort {m}: Bitte geben Sie die Antwort ein."),
                    ));
                }
                let effect = match a.effect.as_str() {
                    EFFECT_MINUTES => TriageEffect::AddMinutes(number(
                        &mut p,
                        &field("minutes"),
                        &format!("Frage {n}, Antwort {m}, zusätzliche Minuten"),
                        &a.minutes,
                        0u16,
                    )),
                    EFFECT_NO_APPOINTMENT => {
                        if a.message.trim().is_empty() {
                            p.push(Problem::new(
                                field("message"),
                                format!(
                                    "Frage {n}, Antwort {m}: Bitte schreiben Sie, was die Person stattdessen tun kann."
                                ),
                            ));
                        }
                        let link = a.link.trim();
                        if !(link.is_empty()
                            || link.starts_with("https://")
                            || link.starts_with("http://")
                            || (link.starts_with('/') && !link.starts_with("//")))
                        {
                            p.push(Problem::new(
                                field("link"),
                                format!(
                                    "Frage {n}, Antwort {m}: Der Link beginnt mit https:// oder mit / (eine Seite dieses Portals)."
                                ),
                            ));
                        }
                        TriageEffect::NoAppointment { message: a.message.trim().to_owned(), link: link.to_owned() }
                    }
                    _ => TriageEffect::Nothing,
                };
                let base = Slug::from_title(a.label.trim()).to_string();
                let aid = unique_id(&a.id, &base, &answer_ids);
                answer_ids.push(aid.clone());
                answers.push(TriageAnswer { id: aid, label: a.label.trim().to_owned(), effect });
            }
            if answers.len() < 2 {
                p.push(Problem::new(
                    format!("q{i}_a0_label"),
                    format!("Frage {n}: Eine Frage braucht mindestens zwei Antworten."),
                ));
            }
            let mut leika: Vec<String> =
                q.leika.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
            leika.sort();
            leika.dedup();
            triage.push(TriageQuestion { id, text: q.text.trim().to_owned(), leika, answers });
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(BookingRules {
            hold_minutes,
            double_opt_in: self.double_opt_in,
            confirm_minutes,
            reminder_hours,
            retention_days,
            limit,
            triage,
        })
    }
}

/// `kept` when it is a usable id not taken yet, else `base` made unique. Ids of
/// questions and answers stay as they were when edited, because the citizen's
/// journey carries them in its links.
fn unique_id(kept: &str, base: &str, taken: &[String]) -> String {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 40
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !taken.iter().any(|t| t == s)
    };
    if ok(kept) {
        return kept.to_owned();
    }
    let base: String = base.chars().take(30).collect();
    let base = if base.is_empty() { "antwort".to_owned() } else { base };
    if ok(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}-{n}")).find(|c| ok(c)).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("version", "3"),
            ("hold_minutes", "10"),
            ("confirm_minutes", "60"),
            ("reminder_hours", "24"),
            ("retention_days", "30"),
            ("limit_count", ""),
            ("limit_days", ""),
        ]
    }

    #[test]
    fn a_question_with_effects_is_read() {
        let mut v = base();
        v.extend([
            ("double_opt_in", "ja"),
            ("q0_id", ""),
            ("q0_text", "Haben Sie schon einen Personalausweis?"),
            ("q0_leika", "99000000000001"),
            ("q0_a0_id", ""),
            ("q0_a0_label", "Ja"),
            ("q0_a0_effect", "zeit"),
            ("q0_a0_minutes", "5"),
            ("q0_a1_label", "Nein, verloren"),
            ("q0_a1_effect", "kein_termin"),
            ("q0_a1_message", "Melden Sie den Verlust online."),
            ("q0_a1_link", "/o/moorbrueck/leistungen/verlust"),
            ("q0_a2_label", ""),
            ("q0_a2_effect", "nichts"),
            ("q1_text", ""),
            ("q1_a0_label", ""),
        ]);
        let f = RulesForm::from_pairs(&pairs(&v));
        assert_eq!(f.version(), 3);
        let r = f.parse().unwrap();
        assert!(r.double_opt_in);
        assert_eq!(r.limit, None);
        assert_eq!(r.triage.len(), 1, "the empty question is dropped");
        let q = &r.triage[0];
        assert_eq!((q.id.as_str(), q.leika.len(), q.answers.len()), ("frage1", 1, 2));
        assert_eq!(q.answers[0].id, "ja");
        assert_eq!(q.answers[0].effect, TriageEffect::AddMinutes(5));
        assert_eq!(q.answers[1].id, "nein-verloren");
        assert!(matches!(&q.answers[1].effect, TriageEffect::NoAppointment { link, .. } if link.starts_with("/o/")));
        // Editing keeps the ids the citizen's links carry.
        let again = RulesForm::from_rules(&r, 4).for_editing(true);
        assert_eq!(again.questions.len(), 2);
        assert_eq!(again.questions[0].answers.len(), 3, "one empty row to add an answer");
        let parsed = RulesForm::from_pairs(&[]).questions;
        assert!(parsed.is_empty());
    }

    #[test]
    fn problems_name_their_fields() {
        let mut v = base();
        v[1] = ("hold_minutes", "zehn");
        v[5] = ("limit_count", "2");
        v.extend([
            ("q0_text", ""),
            ("q0_a0_label", "Ja"),
            ("q0_a0_effect", "kein_termin"),
            ("q0_a0_link", "javascript:alert(1)"),
        ]);
        let problems = RulesForm::from_pairs(&pairs(&v)).parse().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["hold_minutes", "limit_days", "q0_text", "q0_a0_message", "q0_a0_link", "q0_a0_label"]);
        assert!(problems[0].message.starts_with("Reservierung während der Eingabe:"));
    }

    #[test]
    fn ids_stay_unique() {
        assert_eq!(unique_id("", "ja", &["ja".into()]), "ja-2");
        assert_eq!(unique_id("Bad Id", "nein", &[]), "nein");
        assert_eq!(unique_id("frage7", "frage1", &[]), "frage7");
    }
}
