use super::*;
use amtsweg_domain::payment::rf_from;
use proptest::prelude::*;

fn cands() -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, kz) in
        ["MB-2026-000123", "MB-2026-000124", "HUND-7", "AB1", "539007547034", "MB-2026-000123"].iter().enumerate()
    {
        out.push(Candidate {
            payment_id: Some(i64::try_from(i).unwrap()),
            claim_id: None,
            kassenzeichen: (*kz).to_owned(),
            rf: if i == 2 { String::new() } else { rf_from(kz).unwrap() },
            open: Cents(1000 * (i64::try_from(i).unwrap() % 3)),
        });
    }
    out
}

fn row(amount: i64, refs: Vec<String>, text: String) -> Row {
    Row {
        key: "k".into(),
        amount: Cents(amount),
        credit: true,
        currency: "EUR".into(),
        booking_date: String::new(),
        value_date: String::new(),
        reversal: false,
        details: EntryDetails { creditor_refs: refs, remittance: vec![text], ..EntryDetails::default() },
    }
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("MB-2026-000123".to_owned()),
        Just("mb 2026 000124".to_owned()),
        Just("MB2026000124X".to_owned()),
        Just("HUND-7".to_owned()),
        Just("AB1".to_owned()),
        Just(amtsweg_domain::payment::rf_printed(&rf_from("539007547034").unwrap())),
        Just(rf_from("HUND-7").unwrap()),
        Just("Miete".to_owned()),
        "[A-Z0-9 -]{0,12}",
    ]
}

proptest! {
    #[test]
    fn the_index_finds_what_a_full_scan_finds(
        pieces in proptest::collection::vec(piece(), 0..5),
        refs in proptest::collection::vec(piece(), 0..2),
        amount in 0i64..3000,
    ) {
        let all = cands();
        let text = pieces.join(" ");
        let want = match_credit(Cents(amount), &refs, &text, &all);
        let (m, idx) = Matcher::new(all).classify(&row(amount, refs, text));
        prop_assert_eq!((m.as_str(), idx), (want.0.as_str(), want.1));
    }
}

#[test]
fn an_exact_payment_lowers_what_is_open() {
    let mut m = Matcher::new(cands());
    assert_eq!(m.classify(&row(1000, vec![], "MB-2026-000124".into())), ("exact".into(), Some(1)));
    assert_eq!(m.classify(&row(1000, vec![], "MB-2026-000124".into())), ("over".into(), Some(1)));
    assert_eq!(m.classify(&row(1000, vec![], "MB-2026-000123".into())).0, "ambiguous", "two payments share it");
    let mut debit = row(1000, vec![], "MB-2026-000124".into());
    debit.credit = false;
    assert_eq!(m.classify(&debit), ("debit".into(), None));
}
