//! The bank entries a person resolves: shown with their details opened, assigned to a
//! Kassenzeichen or dismissed with a note.

use super::*;

/// An entry for people, its sealed texts opened.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub id: i64,
    pub statement_ref: i64,
    pub amount: Cents,
    /// "12,50 €".
    pub amount_de: String,
    pub credit: bool,
    pub currency: String,
    /// "03.05.2026".
    pub booking_date: String,
    pub value_date: String,
    /// The RF reference, printed in groups; '' when none.
    pub reference: String,
    pub details: EntryDetails,
    /// The debtor's IBAN printed in groups.
    pub debtor_iban: String,
    pub r#match: String,
    pub match_label: String,
    /// The Kassenzeichen of the payment or claim it was matched (or assigned) to.
    pub kassenzeichen: String,
    pub note: String,
    pub resolved_by: String,
    pub resolved_at: String,
    pub to_resolve: bool,
}

/// Opens an entry for people.
///
/// # Errors
/// On store errors (a sealed text that does not open shows as a notice).
pub async fn entry_view(portal: &Portal, e: &BankEntryRow) -> Result<EntryView> {
    let scope = authority_scope(e.authority_id);
    let rec = record::bank_entry(e.authority_id, &e.entry_key);
    let open = |purpose: &'static str, sealed: &str| {
        let (scope, rec, sealed) = (scope.clone(), rec.clone(), sealed.to_owned());
        async move {
            if sealed.is_empty() {
                return None;
            }
            match portal.open_bound_text(&scope, purpose, &rec, &sealed).await {
                Ok(t) => Some(t),
                Err(err) => {
                    tracing::error!(error = %err, entry = e.id, "bank entry text does not open");
                    None
                }
            }
        }
    };
    let details = match open(DETAILS, &e.details).await {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => EntryDetails { debtor: "(nicht lesbar)".into(), ..EntryDetails::default() },
    };
    let note = if e.note.is_empty() {
        String::new()
    } else {
        open(NOTE, &e.note).await.unwrap_or_else(|| "(nicht lesbar)".into())
    };
    let kassenzeichen = match (e.payment_id, e.claim_id) {
        (Some(p), _) => portal.store.payment(e.authority_id, p).await?.map(|p| p.kassenzeichen).unwrap_or_default(),
        (None, Some(c)) => portal.store.claim(e.authority_id, c).await?.map(|c| c.kassenzeichen).unwrap_or_default(),
        (None, None) => String::new(),
    };
    Ok(EntryView {
        id: e.id,
        statement_ref: e.statement_ref,
        amount: Cents(e.amount_cents),
        amount_de: Cents(e.amount_cents).german(),
        credit: e.credit == 1,
        currency: e.currency.clone(),
        booking_date: german_day(&e.booking_date),
        value_date: german_day(&e.value_date),
        reference: if e.reference.is_empty() { String::new() } else { rf_printed(&e.reference) },
        debtor_iban: Iban::parse(&details.debtor_iban).map_or_else(|_| details.debtor_iban.clone(), |i| i.printed()),
        details,
        r#match: e.r#match.clone(),
        match_label: match_label(&e.r#match).to_owned(),
        kassenzeichen,
        note,
        resolved_by: e.resolved_by.clone(),
        resolved_at: e.resolved_at.map(crate::time::berlin_time).unwrap_or_default(),
        to_resolve: e.credit == 1 && e.resolved_at.is_none() && TO_RESOLVE.contains(&e.r#match.as_str()),
    })
}

fn german_day(iso: &str) -> String {
    iso.parse::<jiff::civil::Date>().map(|d| d.strftime("%d.%m.%Y").to_string()).unwrap_or_else(|_| iso.to_owned())
}

/// The authority's entries a person has to resolve, oldest first.
///
/// # Errors
/// On store errors.
pub async fn to_resolve(portal: &Portal, authority_id: i64) -> Result<Vec<EntryView>> {
    let mut out = Vec::new();
    for e in portal.store.bank_entries_to_resolve(authority_id).await? {
        out.push(entry_view(portal, &e).await?);
    }
    Ok(out)
}

/// The entries of one statement of the authority.
///
/// # Errors
/// On store errors.
pub async fn statement_entries(portal: &Portal, authority_id: i64, statement_ref: i64) -> Result<Vec<EntryView>> {
    let mut out = Vec::new();
    for e in portal.store.bank_entries_of_statement(authority_id, statement_ref).await? {
        out.push(entry_view(portal, &e).await?);
    }
    Ok(out)
}

/// The entry of the authority, if a person can still resolve it; else the German
/// reason.
async fn open_entry(portal: &Portal, authority_id: i64, entry_id: i64) -> Result<Result<BankEntryRow, String>> {
    let Some(e) = portal.store.bank_entry(authority_id, entry_id).await? else {
        return Ok(Err("Diese Buchung gibt es nicht.".into()));
    };
    if e.credit != 1 || e.resolved_at.is_some() || !TO_RESOLVE.contains(&e.r#match.as_str()) {
        return Ok(Err("Diese Buchung ist bereits erledigt.".into()));
    }
    Ok(Ok(e))
}

/// Books a credit a person recognised to the payment or claim with `kassenzeichen`
/// (audited as `payment.bank_assign`). A held application paid in full is released.
///
/// # Errors
/// On store errors.
pub async fn assign(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    entry_id: i64,
    kassenzeichen: &str,
) -> Result<Result<(), String>> {
    let e = match open_entry(portal, authority_id, entry_id).await? {
        Ok(e) => e,
        Err(m) => return Ok(Err(m)),
    };
    if e.currency != "EUR" {
        return Ok(Err(format!(
            "Die Buchung ist in {} und kann keiner Zahlung in Euro zugeordnet werden. Bitte klären Sie sie mit der \
             Kasse und schließen Sie sie dann mit einer Notiz ab.",
            e.currency
        )));
    }
    let want = compact(kassenzeichen);
    if want.is_empty() {
        return Ok(Err("Bitte geben Sie das Kassenzeichen an, dem die Zahlung gehört.".into()));
    }
    let cands = portal.store.match_candidates(authority_id).await?;
    let hits: Vec<&Candidate> = cands.iter().filter(|c| compact(&c.kassenzeichen) == want).collect();
    let c = match hits.as_slice() {
        [] => {
            return Ok(Err(format!(
                "Zum Kassenzeichen „{}“ gibt es keine Zahlung und keine Forderung.",
                kassenzeichen.trim()
            )));
        }
        [c] => (*c).clone(),
        _ => {
            return Ok(Err(format!(
                "Das Kassenzeichen „{}“ gehört zu mehreren Zahlungen oder Forderungen; bitte klären Sie die \
                 Buchung mit der Kasse.",
                kassenzeichen.trim()
            )));
        }
    };
    let booked_on = first_day(&[&e.booking_date, &e.value_date], &crate::time::now_local().date().to_string());
    let mail = match c.payment_id {
        Some(p) => release_mail(portal, authority_id, p).await?,
        None => None,
    };
    let mut tx = portal.store.begin().await?;
    if !tx.resolve_entry(authority_id, e.id, MATCH_ASSIGNED, c.payment_id, c.claim_id, "", &actor.name).await? {
        return Ok(Err("Diese Buchung ist bereits erledigt.".into()));
    }
    let b = NewBooking {
        authority_id,
        payment_id: c.payment_id,
        claim_id: c.claim_id,
        source: SOURCE_BANK,
        amount_cents: e.amount_cents,
        method: METHOD_TRANSFER,
        reference: if e.reference.is_empty() { &c.kassenzeichen } else { &e.reference },
        bank_entry_id: Some(e.id),
        attempt_id: None,
        actor: &actor.audit,
        booked_on: &booked_on,
    };
    tx.book_payment(&b, mail.as_ref()).await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.bank_assign".into(),
        target: format!("bank_entry:{}", e.id),
        outcome: match (c.payment_id, c.claim_id) {
            (Some(p), _) => format!("success:payment:{p}"),
            (None, Some(cl)) => format!("success:claim:{cl}"),
            _ => "success".into(),
        },
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Closes an entry without booking (not a payment of the portal, paid back by the
/// treasury, …) with a note saying why (audited as `payment.bank_dismiss`).
///
/// # Errors
/// On store or crypto errors.
pub async fn dismiss(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    entry_id: i64,
    note: &str,
) -> Result<Result<(), String>> {
    let e = match open_entry(portal, authority_id, entry_id).await? {
        Ok(e) => e,
        Err(m) => return Ok(Err(m)),
    };
    let note = note.trim();
    if note.is_empty() {
        return Ok(Err("Bitte schreiben Sie kurz, warum die Buchung ohne Zuordnung erledigt ist.".into()));
    }
    if note.chars().count() > MAX_NOTE {
        return Ok(Err(format!("Die Notiz darf höchstens {MAX_NOTE} Zeichen lang sein.")));
    }
    let sealed = portal
        .seal_bound(
            &authority_scope(authority_id),
            NOTE,
            &record::bank_entry(authority_id, &e.entry_key),
            note.as_bytes(),
        )
        .await?;
    let mut tx = portal.store.begin().await?;
    if !tx.resolve_entry(authority_id, e.id, MATCH_DISMISSED, None, None, &sealed, &actor.name).await? {
        return Ok(Err("Diese Buchung ist bereits erledigt.".into()));
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.bank_dismiss".into(),
        target: format!("bank_entry:{}", e.id),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
