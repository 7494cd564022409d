//! Keeps the catalogue snapshot and the search index in step with the store.
//!
//! Polling a cheap watermark works for both databases and for several nodes
//! sharing one database, without a notification channel. At the default interval
//! a published change is visible in pages and search within half a second.

use crate::AppState;
use amtsweg_portal::catalogue::Catalogue;
use std::time::Duration;

/// Reloads once if the store changed since the snapshot was taken. Returns whether it did.
///
/// # Errors
/// On store or index errors (the old snapshot stays in place).
pub async fn refresh(state: &AppState) -> Result<bool, crate::AppError> {
    let current = state.catalogue().watermark;
    if state.store.content_watermark().await? == current {
        return Ok(false);
    }
    let fresh = Catalogue::load(&state.store).await?;
    let docs = amtsweg_portal::search_docs::build(&fresh);
    // Pages first: search results are filtered against the catalogue, so a withdrawn
    // service vanishes from both at once even while the index is being rebuilt.
    state.replace_catalogue(fresh);
    let search = std::sync::Arc::clone(&state.search);
    // Indexing is CPU work; keep it off the async workers serving pages.
    tokio::task::spawn_blocking(move || search.replace_all(&docs))
        .await
        .map_err(|e| crate::AppError::Search(amtsweg_search::SearchError::Tantivy(tantivy_join_error(&e))))??;
    Ok(true)
}

fn tantivy_join_error(e: &tokio::task::JoinError) -> amtsweg_search::TantivyError {
    amtsweg_search::TantivyError::SystemError(format!("indexing task failed: {e}"))
}

/// Runs [`refresh`] every `every` until the process ends.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match refresh(&state).await {
                Ok(true) => tracing::info!("catalogue and search index reloaded"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "catalogue reload failed; keeping the previous snapshot")
                }
            }
        }
    })
}
