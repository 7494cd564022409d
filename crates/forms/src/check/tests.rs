use super::*;
use crate::model::{Choice, Computed, Group, Repeat, Step};

fn field(id: &str, kind: Kind) -> Field {
    Field {
        id: id.into(),
        label: format!("Feld {id}"),
        hint: String::new(),
        kind,
        required: false,
        required_if: None,
        visible_if: None,
        prefill: None,
    }
}

fn choices(values: &[&str]) -> Vec<Choice> {
    values.iter().map(|v| Choice { value: (*v).into(), label: v.to_uppercase() }).collect()
}

fn form(items: Vec<Item>) -> Form {
    Form {
        id: "test".into(),
        title: "Test".into(),
        trust_level: "normal".into(),
        steps: vec![Step { id: "eins".into(), title: "Eins".into(), items, visible_if: None }],
        computed: Vec::new(),
        rules: Vec::new(),
        direct_submit: false,
        workflow: None,
        appointment: None,
        payment: None,
    }
}

fn text(id: &str) -> Item {
    Item::Field(field(id, Kind::Text { max_len: 200 }))
}

fn has(form: &Form, needle: &str) -> bool {
    let all = check(form);
    all.iter().any(|m| m.contains(needle)) || panic!("no finding with {needle:?} in {all:?}")
}

#[test]
fn a_plain_form_passes() {
    let mut f = form(vec![
        text("name"),
        Item::Field(field("art", Kind::Radio { options: choices(&["a", "b"]) })),
        Item::Field(field("datum", Kind::Date { not_before: Some("heute".into()), not_after: None })),
        Item::Field(field("ende", Kind::Date { not_before: None, not_after: Some("31.12.2030".into()) })),
        Item::Group(Group {
            id: "kinder".into(),
            label: "Kinder".into(),
            // Ids in a repeating group are scoped to it.
            fields: vec![field("name", Kind::Name)],
            repeat: Some(Repeat { min: 0, max: 5 }),
            visible_if: Some(Cond::Equals { field: "art".into(), value: "b".into() }),
        }),
    ]);
    f.computed.push(Computed { id: "gebuehr".into(), label: "Gebühr".into(), expr: Expr::Count("kinder".into()) });
    f.rules.push(Rule::DateAfter { field: "ende".into(), other: "datum".into(), message: "Später".into() });
    assert_eq!(check(&f), Vec::<String>::new());
}

#[test]
fn ids_must_be_valid_and_unique() {
    assert!(has(&form(vec![text("Name")]), "„Name“"));
    assert!(has(&form(vec![text("")]), "keine Kennung"));
    assert!(has(&form(vec![text("a"), text("a")]), "mehrere Felder"));
    let plain = Item::Group(Group {
        id: "g".into(),
        label: "G".into(),
        fields: vec![field("a", Kind::Email)],
        repeat: None,
        visible_if: None,
    });
    assert!(has(&form(vec![text("a"), plain]), "mehrere Felder"), "plain groups share the field namespace");
    let repeating = |id: &str, fields: Vec<Field>| {
        Item::Group(Group {
            id: id.into(),
            label: "R".into(),
            fields,
            repeat: Some(Repeat { min: 1, max: 2 }),
            visible_if: None,
        })
    };
    let twice = repeating("r", vec![field("x", Kind::Email), field("x", Kind::Phone)]);
    assert!(has(&form(vec![twice]), "in der Gruppe „R“"));
    assert!(has(&form(vec![text("r"), repeating("r", vec![field("x", Kind::Email)])]), "dieselbe Kennung"));
    assert!(has(
        &form(vec![repeating("r", vec![field("x", Kind::Email)]), repeating("r", vec![field("y", Kind::Email)])]),
        "mehrere Gruppen"
    ));
    let mut f = form(vec![text("a")]);
    f.steps.push(Step { id: "eins".into(), title: "Noch mal".into(), items: vec![], visible_if: None });
    assert!(has(&f, "mehrere Schritte"));
    f.id = "Test Form".into();
    assert!(has(&f, "„Test Form“ (das Formular)"));
}

#[test]
fn reserved_step_ids_are_refused() {
    for reserved in RESERVED_STEP_IDS {
        let mut f = form(vec![text("a")]);
        f.steps[0].id = reserved.into();
        assert!(has(&f, "reserviert"), "{reserved}");
    }
    let mut f = form(vec![]);
    f.steps.clear();
    assert!(has(&f, "keinen Schritt"));
}

#[test]
fn options_limits_and_files() {
    assert!(has(&form(vec![Item::Field(field("s", Kind::Select { options: vec![] }))]), "mindestens eine Auswahl"));
    let dup = Kind::Checkboxes { options: choices(&["x", "y", "x"]), min: 0, max: None };
    assert!(has(&form(vec![Item::Field(field("c", dup))]), "„x“ kommt mehrfach vor"));
    let bad_min = Kind::Checkboxes { options: choices(&["x"]), min: 2, max: Some(1) };
    assert!(has(&form(vec![Item::Field(field("c", bad_min))]), "mindestens 2 ist mehr als höchstens 1"));
    assert!(has(&form(vec![Item::Field(field("n", Kind::Number { min: Some(5), max: Some(1) }))]), "Minimum"));
    let date = Kind::Date { not_before: Some("morgen".into()), not_after: None };
    assert!(has(&form(vec![Item::Field(field("d", date))]), "„morgen“ ist kein Datum"));
    let file = Kind::File { accept: vec![], max_bytes: 0 };
    let f = form(vec![Item::Field(field("f", file))]);
    assert!(has(&f, "Dateiendung") && has(&f, "Dateigröße"));
    let dotted = Kind::File { accept: vec![".PDF".into()], max_bytes: 10 };
    assert!(has(&form(vec![Item::Field(field("f", dotted))]), "keine gültige Dateiendung"));
    let empty_repeat = Item::Group(Group {
        id: "r".into(),
        label: "R".into(),
        fields: vec![field("upload", Kind::File { accept: vec!["pdf".into()], max_bytes: 10 })],
        repeat: Some(Repeat { min: 3, max: 2 }),
        visible_if: None,
    });
    let f = form(vec![empty_repeat]);
    assert!(has(&f, "höchstens 2 Einträge") && has(&f, "wiederholbaren Gruppe hochgeladen"));
    let zero = Item::Group(Group {
        id: "r".into(),
        label: "R".into(),
        fields: vec![],
        repeat: Some(Repeat { min: 0, max: 0 }),
        visible_if: None,
    });
    let f = form(vec![zero]);
    assert!(has(&f, "höchstens 0 Einträge") && has(&f, "enthält kein Feld"));
}

#[test]
fn references_must_exist() {
    let mut shown = field("x", Kind::Email);
    shown.visible_if = Some(Cond::Equals { field: "fehlt".into(), value: "a".into() });
    assert!(has(&form(vec![Item::Field(shown)]), "„fehlt“, das es im Formular nicht gibt"));
    let mut req = field("x", Kind::Email);
    req.required_if = Some(Cond::Equals { field: "art".into(), value: "c".into() });
    let f = form(vec![Item::Field(field("art", Kind::Radio { options: choices(&["a", "b"]) })), Item::Field(req)]);
    assert!(has(&f, "den Wert „c“"));
    let mut yes = field("x", Kind::Email);
    yes.visible_if = Some(Cond::Not(Box::new(Cond::Yes { field: "y".into() })));
    assert!(has(&form(vec![text("y"), Item::Field(yes)]), "keine Ja/Nein-Frage"));
    let mut in_group = field("x", Kind::Email);
    in_group.visible_if = Some(Cond::Filled { field: "name".into() });
    let group = Item::Group(Group {
        id: "kinder".into(),
        label: "Kinder".into(),
        fields: vec![field("name", Kind::Name)],
        repeat: Some(Repeat { min: 0, max: 5 }),
        visible_if: None,
    });
    assert!(has(&form(vec![group, Item::Field(in_group)]), "„name“"), "fields of repeating groups are rows");

    let mut f = form(vec![text("t")]);
    f.computed.push(Computed {
        id: "summe".into(),
        label: "Summe".into(),
        expr: Expr::Sum(vec![Expr::Field("t".into()), Expr::Count("t".into()), Expr::Field("weg".into())]),
    });
    assert!(has(&f, "kein Zahl- oder Eurofeld") && has(&f, "keine wiederholbare Gruppe") && has(&f, "„weg“"));
    f.rules.push(Rule::DateAfter { field: "t".into(), other: "nirgends".into(), message: String::new() });
    f.rules.push(Rule::WithinDays { field: "t".into(), days: 3, message: "Bald".into() });
    assert!(has(&f, "Regel 1: „Feld t“ ist kein Datumsfeld"));
    assert!(has(&f, "Regel 1: das Feld „nirgends“") && has(&f, "Regel 1 hat keine Meldung"));
    assert!(has(&f, "Regel 2: „Feld t“ ist kein Datumsfeld"));
}

#[test]
fn direct_submission_needs_one_page_without_uploads() {
    let mut f = form(vec![Item::Field(field("name", Kind::Text { max_len: 200 }))]);
    f.direct_submit = true;
    assert!(check(&f).is_empty(), "{:?}", check(&f));
    let mut upload = f.clone();
    upload.steps[0].items.push(Item::Field(field("plan", Kind::File { accept: vec![], max_bytes: 0 })));
    assert!(check(&upload).iter().any(|m| m.contains("Direkt absenden")));
    let mut two = f.clone();
    two.steps.push(Step { id: "zwei".into(), title: "Zwei".into(), items: vec![], visible_if: None });
    assert!(check(&two).iter().any(|m| m.contains("Direkt absenden")));
}

#[test]
fn findings_name_their_target() {
    let f = form(vec![Item::Field(field("s", Kind::Select { options: vec![] }))]);
    assert_eq!(findings(&f)[0].target, Target::Item("s".into()));
}

#[test]
fn imported_ids_are_tidied_with_their_references() {
    let mut shown = field("F2", Kind::Email);
    shown.visible_if = Some(Cond::Yes { field: "G1_F1".into() });
    let mut f = form(vec![Item::Field(field("G1_F1", Kind::YesNo)), Item::Field(shown)]);
    f.id = "S00000121".into();
    f.steps[0].id = "G00000630".into();
    f.computed.push(Computed { id: "Fee".into(), label: "Gebühr".into(), expr: Expr::Cents(100) });
    assert!(!check(&f).is_empty());
    tidy_ids(&mut f);
    assert_eq!(check(&f), Vec::<String>::new());
    assert_eq!((f.id.as_str(), f.steps[0].id.as_str()), ("s00000121", "g00000630"));
    assert_eq!(tidy_id("Ä b.c"), "__b_c");
}

#[test]
fn ids_from_labels() {
    let mut taken = BTreeSet::new();
    assert_eq!(id_from_label("Straße und Hausnummer", &taken), "strasse_und_hausnummer");
    assert_eq!(id_from_label("  Größe (in m²) ", &taken), "groesse_in_m");
    assert_eq!(id_from_label("!!!", &taken), "feld");
    assert_eq!(id_from_label("Prüfen", &taken), "pruefen_2", "reserved step words are avoided");
    taken.insert("name".to_owned());
    taken.insert("name_2".to_owned());
    assert_eq!(id_from_label("Name", &taken), "name_3");
    assert!(valid_id(&id_from_label("Ärger über „Öl“ – 100 %", &taken)));
}

#[test]
fn an_appointment_offer_needs_a_leika_key() {
    let mut f = form(vec![text("name")]);
    f.appointment = Some(crate::model::AppointmentOffer { required: true, leika: "99102013001000".into() });
    assert_eq!(check(&f), Vec::<String>::new());
    f.appointment = Some(crate::model::AppointmentOffer { required: false, leika: "Ausweis".into() });
    assert!(check(&f).iter().any(|m| m.contains("Terminbuchung")));
}

#[test]
fn the_payment_names_a_computed_amount() {
    let mut f = form(vec![]);
    f.computed.push(Computed { id: "gebuehr".into(), label: "Gebühr".into(), expr: Expr::Cents(1200) });
    let json = serde_json::json!({"mode": "vorab", "amount": "gebuehr"});
    f.payment = Some(serde_json::from_value(json).unwrap());
    assert_eq!(check(&f), Vec::<String>::new());
    let back: Form = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(back.payment.as_ref().map(|p| p.mode), Some(crate::model::FormPayMode::Vorab));
    f.payment = Some(crate::model::PaymentSpec {
        mode: crate::model::FormPayMode::Rechnung,
        amount: "jahressteuer".into(),
        purpose: String::new(),
    });
    assert_eq!(check(&f).len(), 1, "{:?}", check(&f));
    assert!(check(&f)[0].contains("jahressteuer"));
    let unknown_mode = serde_json::json!({"mode": "bar", "amount": "gebuehr"});
    assert!(serde_json::from_value::<crate::model::PaymentSpec>(unknown_mode).is_err());
}
