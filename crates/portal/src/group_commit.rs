//! Group commit for submissions: request handlers hand their checked submission to
//! one writer task, which stores everything waiting in one transaction and answers
//! each handler after the commit. Under load many citizens share one commit (and
//! one fsync); alone, a submission is committed at once. A receipt still means
//! committed — the handler waits for its own result.

use amtsweg_store::Store;
use amtsweg_store::payments::NewPayment;
use amtsweg_store::submissions::{OwnedSubmission, Submitted};
use tokio::sync::{mpsc, oneshot};

/// At most this many submissions share one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<amtsweg_store::Result<Submitted>>;

/// A submission with its payment (if the form charges a fee), and where to answer.
type Job = (OwnedSubmission, Option<NewPayment>, Reply);

/// The handle request handlers submit through. Cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task for `store`; it ends when the last handle is dropped.
    #[must_use]
    pub fn start(store: Store) -> Self {
        let (queue, mut rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
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
                let (items, replies): (Vec<(OwnedSubmission, Option<NewPayment>)>, Vec<Reply>) =
                    batch.drain(..).map(|(s, p, r)| ((s, p), r)).unzip();
                let results = store.submit_all_with(&items).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    // The handler may be gone (client disconnected): the submission is
                    // stored all the same, and a retry with its token finds it.
                    let _ = reply.send(result);
                }
            }
        });
        Self { queue }
    }

    /// Stores `s` (in a shared commit) and returns once it is committed.
    ///
    /// # Errors
    /// The store's error for this submission, or when the writer is gone.
    pub async fn submit(&self, s: OwnedSubmission) -> amtsweg_store::Result<Submitted> {
        self.submit_with_payment(s, None).await
    }

    /// Stores `s` with its payment (in a shared commit) and returns once it is
    /// committed. A payment that holds the submission stores it as
    /// `zahlung_ausstehend`, without deliveries.
    ///
    /// # Errors
    /// The store's error for this submission, or when the writer is gone.
    pub async fn submit_with_payment(
        &self,
        s: OwnedSubmission,
        payment: Option<NewPayment>,
    ) -> amtsweg_store::Result<Submitted> {
        let (tx, rx) = oneshot::channel();
        let gone = || amtsweg_store::StoreError::Invalid("the submission writer has stopped".into());
        self.queue.send((s, payment, tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}
