//! The DNS resolver of policy clients: resolves with the system resolver and hands
//! the connector only addresses that pass the policy, so the address connected to is
//! the address checked — also when the answer changed since the URL was saved.

use crate::Policy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub(crate) struct Guarded(pub(crate) Policy);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<_> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = policy.filter(&host, found).inspect_err(|r| {
                tracing::warn!(host = %host, reason = %r, "outbound: connection refused by the policy");
            })?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
