//! Group commit for bookings on SQLite: holds and confirmations of many citizens
//! share one transaction and one fsync.
//!
//! SQLite has one writer and every commit waits for the disk (about a millisecond
//! here), so one transaction per hold and per confirmation caps a rush — a month of
//! times released at once — at a few hundred bookings a second. Request handlers
//! hand their write to one [`BookingWriter`] task instead; it stores everything that
//! arrived while the last commit ran with [`Store::book_all`] and answers each
//! handler after the commit. Alone, a write is committed at once, so nothing waits
//! for a batch to fill.
//!
//! What a citizen is told still means committed: a hold's token is only handed out,
//! and a confirmation page only shown, once the commit is done; a confirmation's
//! e-mails are queued in the same transaction. No step of a booking raises an error
//! for a conflict (a taken time is `None`, a run-out hold `false`), so sharing a
//! transaction changes no answer: two holds for the same time in one batch see each
//! other's units as in two transactions, and exactly one gets them.
//!
//! PostgreSQL keeps one transaction per write: it commits in parallel on its own,
//! and a batch would hold row locks longer and break the lock order of the single
//! booking (see `amtsweg_store::appointments`).

use crate::{Portal, PortalError, Result};
use amtsweg_store::appointments::{BookingOutcome, BookingWrite};
use amtsweg_store::{Backend, Store};
use tokio::sync::{mpsc, oneshot};

/// The operator's settings for appointments (`[web.appointments]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AppointmentsConfig {
    /// Holds and confirmations share commits through one writer task (SQLite only;
    /// PostgreSQL always commits each write by itself). Default on; switching it off
    /// is for comparing the two in `amtsweg bench booking`.
    pub group_commit: bool,
}

impl Default for AppointmentsConfig {
    fn default() -> Self {
        Self { group_commit: true }
    }
}

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<amtsweg_store::Result<BookingOutcome>>;

/// The handle request handlers book through. Cheap to clone.
#[derive(Clone)]
pub struct BookingWriter {
    queue: mpsc::Sender<(BookingWrite, Reply)>,
}

impl std::fmt::Debug for BookingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingWriter").finish_non_exhaustive()
    }
}

impl BookingWriter {
    /// The writer for `store` when `enabled` (the operator setting
    /// `[web.appointments] group_commit`) and the store is SQLite; `None` means one
    /// transaction per write.
    #[must_use]
    pub fn for_store(store: &Store, enabled: bool) -> Option<Self> {
        (enabled && store.backend() == Backend::Sqlite).then(|| Self::start(store.clone()))
    }

    /// Starts the writer task for `store`; it ends when the last handle is dropped.
    #[must_use]
    pub fn start(store: Store) -> Self {
        let (queue, mut rx) = mpsc::channel::<(BookingWrite, Reply)>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                // Everything that arrived while the last commit ran goes into this one.
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (writes, replies): (Vec<BookingWrite>, Vec<Reply>) = batch.drain(..).unzip();
                let results = store.book_all(&writes).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    // The handler may be gone (the browser hung up): a hold then runs
                    // out by itself, a confirmation stands and its e-mail goes out.
                    let _ = reply.send(result);
                }
            }
        });
        Self { queue }
    }

    /// Writes `w` (in a shared commit) and returns once it is committed.
    ///
    /// # Errors
    /// The store's error for this write, or when the writer has stopped.
    pub async fn write(&self, w: BookingWrite) -> amtsweg_store::Result<BookingOutcome> {
        let (tx, rx) = oneshot::channel();
        let gone = || amtsweg_store::StoreError::Invalid("the booking writer has stopped".into());
        self.queue.send((w, tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// Commits one booking write: through the portal's writer when it has one (SQLite),
/// else in a transaction of its own.
///
/// # Errors
/// Store errors.
pub(crate) async fn book(portal: &Portal, w: BookingWrite) -> Result<BookingOutcome> {
    if let Some(writer) = &portal.bookings {
        return Ok(writer.write(w).await?);
    }
    // Committed also when refused, as in a batch: a confirmation that finds its
    // units taken over marks the booking expired, the same on both paths.
    let mut tx = portal.store.begin().await?;
    let outcome = tx.book(&w).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The id and counter a hold got, or `None`: the time is taken.
pub(crate) fn held(outcome: BookingOutcome) -> Result<Option<(i64, i64)>> {
    match outcome {
        BookingOutcome::Held(h) => Ok(h),
        BookingOutcome::Confirmed(_) => Err(PortalError::Internal("a hold came back as a confirmation".into())),
    }
}

/// Whether a confirmation went through.
pub(crate) fn confirmed(outcome: BookingOutcome) -> Result<bool> {
    match outcome {
        BookingOutcome::Confirmed(ok) => Ok(ok),
        BookingOutcome::Held(_) => Err(PortalError::Internal("a confirmation came back as a hold".into())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::booking;
    use super::super::testing::{at, both, journey};
    use super::super::view::Contact;
    use amtsweg_store::Backend;

    fn person(i: usize) -> Contact {
        Contact { name: format!("Person {i}"), email: format!("person{i}@example.org"), ..Contact::default() }
    }

    /// Citizens confirming at the same moment share commits on SQLite: each still gets
    /// its own answer and its own e-mail, and a booking confirmed twice at once (two
    /// tabs) is confirmed once, with one e-mail.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_confirmations_each_get_their_own_answer_and_email() {
        for fx in both().await {
            assert_eq!(fx.portal.bookings.is_some(), fx.portal.store.backend() == Backend::Sqlite, "{}", fx.t.name);
            const N: usize = 12;
            let mut tokens = Vec::new();
            for i in 0..N {
                let minutes = i * 20;
                let start = at(8 + i8::try_from(minutes / 60).unwrap(), i8::try_from(minutes % 60).unwrap());
                let held =
                    booking::hold(&fx.portal, fx.authority, &journey(), start, &format!("browser-{i}"), None, None)
                        .await
                        .unwrap()
                        .unwrap();
                tokens.push(held.token);
            }
            let mut tasks = Vec::new();
            for (i, token) in tokens.iter().enumerate() {
                for _tab in 0..2 {
                    let (portal, token) = (fx.portal.clone(), token.clone());
                    tasks.push(tokio::spawn(async move {
                        (i, booking::confirm(&portal, &token, person(i), None).await.unwrap())
                    }));
                }
            }
            let mut confirmed = [0; N];
            for t in tasks {
                let (i, answer) = t.await.unwrap();
                match answer {
                    Ok(c) => {
                        assert!(!c.needs_email);
                        assert_eq!(c.view.contact.map(|c| c.name), Some(format!("Person {i}")), "{}", fx.t.name);
                        confirmed[i] += 1;
                    }
                    Err(message) => assert!(message.contains("Termin"), "a German reason: {message}"),
                }
            }
            assert_eq!(confirmed, [1; N], "{}: every booking confirmed exactly once", fx.t.name);
            let mails = fx.mails().await;
            assert_eq!(mails.len(), N, "{}: one e-mail per booking", fx.t.name);
            for (i, token) in tokens.iter().enumerate() {
                let mine: Vec<_> = mails.iter().filter(|m| m.to == format!("person{i}@example.org")).collect();
                assert_eq!(mine.len(), 1, "{}: person {i}", fx.t.name);
                assert!(mine[0].body.contains(&format!("/termin/{token}")), "the person's own manage link");
                assert!(mine[0].body.contains(&format!("Person {i}")));
                let v = booking::by_token(&fx.portal, token).await.unwrap().unwrap();
                assert_eq!(v.contact.map(|c| c.email), Some(format!("person{i}@example.org")));
            }
            fx.cleanup().await;
        }
    }

    /// Many citizens racing for one time through the writer: the batch gives it to
    /// exactly one, the others are told it was taken and offered other times.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn holds_in_one_batch_for_the_same_time_give_it_to_exactly_one() {
        for fx in both().await {
            let mut tasks = Vec::new();
            for i in 0..20 {
                let portal = fx.portal.clone();
                let authority = fx.authority;
                tasks.push(tokio::spawn(async move {
                    booking::hold(&portal, authority, &journey(), at(9, 0), &format!("c{i}"), None, None).await.unwrap()
                }));
            }
            let (mut won, mut taken) = (0, 0);
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => won += 1,
                    Err(r) => {
                        assert_eq!(r.kind, booking::RefusalKind::Taken, "{}", r.message);
                        assert!(r.message.contains("gerade vergeben"));
                        assert!(!r.next.is_empty(), "next free times are offered");
                        taken += 1;
                    }
                }
            }
            assert_eq!((won, taken), (1, 19), "{}", fx.t.name);
            fx.cleanup().await;
        }
    }
}
