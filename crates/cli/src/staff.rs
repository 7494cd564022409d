//! Staff accounts from the command line and the demo's accounts.

use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::Store;
use amtsweg_store::staff::NewStaff;
use anyhow::{Context, anyhow, bail};

/// One demo login, printed by `amtsweg demo`.
pub struct DemoLogin {
    pub email: &'static str,
    pub role: Role,
    pub authority: Option<&'static str>,
    pub totp_secret: Option<&'static str>,
}

/// The password of every demo account (the demo is not for production data).
pub const DEMO_PASSWORD: &str = "Heidekamp-Demo-2026";

pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        email: "verbund-admin@landkreis-heidekamp.example",
        role: Role::VerbundAdmin,
        authority: None,
        totp_secret: Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    },
    DemoLogin {
        email: "admin@moorbrueck.example",
        role: Role::AuthorityAdmin,
        authority: Some("moorbrueck"),
        totp_secret: Some("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"),
    },
    DemoLogin {
        email: "redaktion@moorbrueck.example",
        role: Role::Editor,
        authority: Some("moorbrueck"),
        totp_secret: None,
    },
    DemoLogin {
        email: "sachbearbeitung@moorbrueck.example",
        role: Role::CaseWorker,
        authority: Some("moorbrueck"),
        totp_secret: None,
    },
];

async fn hash(password: &str) -> anyhow::Result<String> {
    let p = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || password_auth::generate_hash(p)).await?)
}

/// Password rules for staff: at least 12 characters, not only spaces.
///
/// # Errors
/// With a message saying what is wrong.
pub fn check_password(p: &str) -> anyhow::Result<()> {
    if p.chars().count() < 12 || p.trim().is_empty() {
        bail!("das Passwort muss mindestens 12 Zeichen lang sein");
    }
    if p.chars().count() > 256 {
        bail!("das Passwort darf höchstens 256 Zeichen lang sein");
    }
    Ok(())
}

/// Creates a staff member with one role; every write is in the audit log.
///
/// # Errors
/// When the authority is unknown, the address is taken or the store fails.
pub async fn create(
    store: &Store,
    email: &str,
    name: &str,
    password: &str,
    role: Role,
    authority_slug: Option<&str>,
    totp_secret: Option<&str>,
) -> anyhow::Result<i64> {
    check_password(password)?;
    if !email.contains('@') || email.trim().len() < 3 {
        bail!("„{email}“ ist keine E-Mail-Adresse");
    }
    if store.staff_by_email(email).await?.is_some() {
        bail!("es gibt bereits ein Konto mit der Adresse {email}");
    }
    let authority_id = match authority_slug {
        Some(slug) => {
            Some(store.authority_by_slug(slug).await?.ok_or_else(|| anyhow!("unbekannte Behörde „{slug}“"))?.id)
        }
        None => None,
    };
    if role != Role::VerbundAdmin && authority_id.is_none() {
        bail!("für die Rolle {} muss eine Behörde angegeben werden (--authority)", role.label());
    }
    let password_hash = hash(password).await?;
    let mut tx = store.begin().await?;
    let id = tx
        .insert_staff(&NewStaff {
            email: email.to_owned(),
            display_name: name.to_owned(),
            password_hash,
            totp_secret: totp_secret.map(str::to_owned),
        })
        .await
        .context("cannot store the account")?;
    tx.grant_role(id, &Grant { role, authority_id, org_unit_id: None }).await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: "system:cli".into(),
        authority_id,
        action: "staff.create".into(),
        target: format!("staff:{id}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Seeds the demo accounts when no staff account exists yet. Returns whether it did.
///
/// # Errors
/// On store errors.
pub async fn seed_demo(store: &Store) -> anyhow::Result<bool> {
    if store.staff_count().await? > 0 {
        return Ok(false);
    }
    for d in DEMO_LOGINS {
        let name = match d.role {
            Role::VerbundAdmin => "Vera Verbund (IT des Landkreises)",
            Role::AuthorityAdmin => "Adrian Admin (Stadt Moorbrück)",
            Role::Editor => "Rita Redaktion (Stadt Moorbrück)",
            Role::CaseWorker => "Sam Sachbearbeitung (Stadt Moorbrück)",
        };
        create(store, d.email, name, DEMO_PASSWORD, d.role, d.authority, d.totp_secret).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_password("kurz").is_err());
        assert!(check_password("            ").is_err());
        assert!(check_password(DEMO_PASSWORD).is_ok());
    }
}
