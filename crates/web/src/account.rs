//! The account flows the staff sign-in (`verwaltung/login.rs`, `konten.rs`) and the
//! citizen sign-in (`konto/anmelden.rs`, `registrieren.rs`) share: the second-factor
//! code, signing out (this session or everywhere) and asking for a password-reset
//! link. Each area keeps its own pages, texts and redirects; the rules — throttling,
//! one-time links stored only as hashes, answers alike for unknown addresses, audit
//! entries — are written once, here.

use crate::AppState;
use crate::error::AppError;
use crate::second_factor;
use crate::session;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_store::outbox::EmailMessage;

/// Password-reset links are valid this long.
pub(crate) const RESET_MINUTES: i64 = 60;

/// Whose account a flow is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Staff,
    Citizen,
}

impl Who {
    /// The kind of session the store keeps for this account.
    pub(crate) fn session_kind(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Citizen => "citizen",
        }
    }

    /// The audit log's actor for account `id`.
    pub(crate) fn actor(self, id: i64) -> String {
        format!("{}:{id}", self.session_kind())
    }

    fn code_key(self, id: i64) -> String {
        match self {
            Self::Staff => format!("totp:{id}"),
            Self::Citizen => format!("citizen-totp:{id}"),
        }
    }
}

fn entry(actor: String, action: &str, target: String, outcome: &str) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor,
        authority_id: None,
        action: action.into(),
        target,
        outcome: outcome.into(),
    }
}

/// What the code page says after too many wrong codes.
pub(crate) const TOO_MANY_CODES: &str = "Zu viele falsche Codes. Bitte versuchen Sie es in einer Stunde erneut.";
/// What the code page says after a wrong code.
pub(crate) const WRONG_CODE: &str =
    "Der Code ist nicht gültig. Bitte geben Sie den aktuellen sechsstelligen Code aus Ihrer App ein.";

/// What the code page says for a code that was accepted before.
pub(crate) const REUSED_CODE: &str = "Dieser Code wurde schon verwendet. Jeder Code gilt nur einmal. Bitte warten Sie, bis Ihre App einen neuen Code anzeigt, und geben Sie diesen ein.";

/// What a second-factor code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// Too many wrong codes for this account within the hour: not even checked.
    Throttled,
    /// Wrong (counted and audited).
    Wrong,
    /// Valid, but its time step was accepted before (counted and audited).
    Reused,
    /// Right: the caller marks the session's second factor done.
    Right,
}

impl Who {
    fn holder(self, id: i64) -> second_factor::TotpHolder {
        match self {
            Self::Staff => second_factor::TotpHolder::Staff(id),
            Self::Citizen => second_factor::TotpHolder::Citizen(id),
        }
    }
}

/// Checks a second-factor code of account `id` against its stored (sealed) TOTP
/// secret: at most [`session::MAX_CODE_FAILURES_PER_HOUR`] wrong codes an hour, each
/// one counted (in the database, so across nodes) and audited; each code is accepted
/// once (its time step must be later than the last accepted one).
///
/// # Errors
/// On store errors, or a stored secret that does not open.
pub(crate) async fn check_code(
    state: &AppState,
    who: Who,
    id: i64,
    stored: &str,
    code: &str,
) -> Result<Code, AppError> {
    let secret = second_factor::open_secret(&state.portal, &who.holder(id), stored).await?;
    check_and_claim(state, who, id, &secret, code).await
}

/// As [`check_code`] for a secret being enrolled, waiting sealed in the session
/// `session` (id hash). The accepted step counts for the account, so the code that
/// confirmed the enrolment does not sign in again.
///
/// # Errors
/// On store errors, or a stored secret that does not open.
pub(crate) async fn check_enrolment_code(
    state: &AppState,
    who: Who,
    id: i64,
    session: &str,
    stored: &str,
    code: &str,
) -> Result<Code, AppError> {
    let holder = second_factor::TotpHolder::Enrolment(session.to_owned());
    let secret = second_factor::open_secret(&state.portal, &holder, stored).await?;
    check_and_claim(state, who, id, &secret, code).await
}

async fn check_and_claim(state: &AppState, who: Who, id: i64, secret: &str, code: &str) -> Result<Code, AppError> {
    let key = who.code_key(id);
    if !session::may_try(state, &key).await? {
        return Ok(Code::Throttled);
    }
    let mut tx = state.store.begin().await?;
    let verdict = match second_factor::matching_step(secret, code) {
        Some(step) if tx.claim_totp_step(&who.holder(id), step).await? => Code::Right,
        Some(_) => Code::Reused,
        None => Code::Wrong,
    };
    if verdict != Code::Right {
        tx.record_login_failure(&key, amtsweg_store::now_ms()).await?;
        tx.append_audit(&entry(who.actor(id), "login.second_factor", who.session_kind().into(), "failure")).await?;
    }
    tx.commit().await?;
    Ok(verdict)
}

/// A secret being enrolled (sealed for session `session`), sealed again for the
/// account it now belongs to.
///
/// # Errors
/// When it does not open, or on store errors.
pub(crate) async fn enrolled_secret(
    state: &AppState,
    who: Who,
    id: i64,
    session: &str,
    stored: &str,
) -> Result<String, AppError> {
    let holder = second_factor::TotpHolder::Enrolment(session.to_owned());
    let secret = second_factor::open_secret(&state.portal, &holder, stored).await?;
    Ok(second_factor::seal_secret(&state.portal, &who.holder(id), &secret).await?)
}

/// A new secret to enrol, sealed for the session `session` it waits in: (clear for
/// the page, sealed for the store).
///
/// # Errors
/// On store or crypto errors.
pub(crate) async fn new_enrolment(state: &AppState, session: &str) -> Result<(String, String), AppError> {
    let secret = second_factor::new_secret();
    let holder = second_factor::TotpHolder::Enrolment(session.to_owned());
    let sealed = second_factor::seal_secret(&state.portal, &holder, &secret).await?;
    Ok((secret, sealed))
}

/// The secret being enrolled in session `session`, opened for the page.
///
/// # Errors
/// When it does not open.
pub(crate) async fn pending_secret(state: &AppState, session: &str, stored: &str) -> Result<String, AppError> {
    let holder = second_factor::TotpHolder::Enrolment(session.to_owned());
    Ok(second_factor::open_secret(&state.portal, &holder, stored).await?)
}

/// Ends the session `this` (its id hash) or, with `None`, every session of account
/// `id` on every portal of the Verbund; audited. Returns how many sessions ended.
///
/// # Errors
/// On store errors.
pub(crate) async fn sign_out(state: &AppState, who: Who, id: i64, this: Option<&str>) -> Result<u64, AppError> {
    let mut tx = state.store.begin().await?;
    let (n, action) = match this {
        Some(hash) => {
            tx.delete_session(hash).await?;
            (1, "logout")
        }
        None => (tx.delete_sessions_of(who.session_kind(), id).await?, "logout.everywhere"),
    };
    tx.append_audit(&entry(who.actor(id), action, format!("sessions:{n}"), "success")).await?;
    tx.commit().await?;
    Ok(n)
}

/// Someone asked for a new password for `email` (already normalised; empty for an
/// address that is not one). The answer is the same whether or not an account exists:
/// only an active account gets a one-time link (only its hash is stored, valid
/// [`RESET_MINUTES`]); every request counts against the mail limits per address and
/// per `client` (`limits::quotas::mail_allowed`), beyond which nothing is sent, so
/// nobody can flood an inbox with our mails.
///
/// # Errors
/// On store errors.
pub(crate) async fn request_reset(
    state: &AppState,
    who: Who,
    email: &str,
    client: &crate::limits::Client,
) -> Result<(), AppError> {
    if email.is_empty() || !crate::limits::quotas::mail_allowed(state, email, client).await? {
        return Ok(());
    }
    let mut tx = state.store.begin().await?;
    let account = match who {
        Who::Staff => state
            .store
            .staff_by_email(email)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| (u.id, u.email.clone(), format!("Guten Tag {},", u.display_name))),
        Who::Citizen => state
            .store
            .citizen_by_email(email)
            .await?
            .filter(|c| !c.disabled)
            .map(|c| (c.id, email.to_owned(), "Guten Tag,".to_owned())),
    };
    if let Some((id, to, greeting)) = account {
        let token = session::random_token();
        let hash = session::hash_token(&token);
        let expires = amtsweg_store::now_ms() + RESET_MINUTES * 60_000;
        let (subject, path) = match who {
            Who::Staff => {
                tx.insert_staff_token(&hash, "reset", id, expires).await?;
                ("Neues Passwort für die Verwaltung", "/verwaltung/passwort-neu/")
            }
            Who::Citizen => {
                tx.insert_citizen_token(&hash, "reset", id, expires).await?;
                ("Neues Passwort für Ihr Bürgerkonto", "/konto/passwort-neu/")
            }
        };
        tx.enqueue_email(&EmailMessage {
            to,
            subject: subject.into(),
            body: format!(
                "{greeting}\n\nSie (oder jemand anderes) haben ein neues Passwort angefordert. Der Link gilt {RESET_MINUTES} Minuten und nur einmal:\n\n{}{path}{token}\n\nWenn Sie das nicht waren, ignorieren Sie diese E-Mail; Ihr Passwort bleibt unverändert.\n",
                state.config.public_base_url.trim_end_matches('/'),
            ),
            attachments: Vec::new(),
        })
        .await?;
        let action = format!("{}.password_reset_request", who.session_kind());
        tx.append_audit(&entry(who.actor(id), &action, who.actor(id), "success")).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets the password of account `id` through a one-time link (`kind`: "reset", or
/// "invite" for staff) whose token hashes to `token_hash`, in one transaction: the
/// link is used up, the password set (Argon2id hash, computed off the async
/// workers), every session of the account ended — whoever knew the old password is
/// out — and the change audited. A citizen's address counts as confirmed: the link
/// reached it. `Ok(false)`: the link was used in the meantime.
///
/// # Errors
/// On store errors.
pub(crate) async fn set_password_by_link(
    state: &AppState,
    who: Who,
    kind: &str,
    token_hash: &str,
    id: i64,
    password: String,
) -> Result<bool, AppError> {
    let hash = crate::limits::hashing::hash_password(state, password).await?;
    let mut tx = state.store.begin().await?;
    let used = match who {
        Who::Staff => tx.use_staff_token(token_hash, kind).await?,
        Who::Citizen => tx.use_citizen_token(token_hash, kind).await?,
    };
    if !used {
        return Ok(false);
    }
    match who {
        // Setting a staff password also ends the account's sessions; an accepted
        // invitation is also the only way back for a disabled account.
        Who::Staff => {
            tx.set_staff_password(id, &hash).await?;
            if kind == "invite" {
                tx.enable_staff(id).await?;
            }
        }
        Who::Citizen => {
            tx.set_citizen_password(id, &hash).await?;
            tx.delete_sessions_of(who.session_kind(), id).await?;
            tx.mark_email_verified(id).await?;
        }
    }
    let action = match (who, kind) {
        (Who::Staff, "invite") => "staff.accept_invite".to_owned(),
        _ => format!("{}.password_reset", who.session_kind()),
    };
    tx.append_audit(&entry(who.actor(id), &action, who.actor(id), "success")).await?;
    tx.commit().await?;
    Ok(true)
}
