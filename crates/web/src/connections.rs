//! How long the server waits for a slow client and how many connections it keeps
//! (`[web.connections]`): a client that sends half a request head, part of a body or
//! nothing at all is cut off, so slow clients cannot use up the connections even
//! without a reverse proxy in front. The header, idle and connection limits are
//! applied by the binary's accept loop, the body and request limits by the layers of
//! every route (`security::layers`), where a timeout gets the German error page.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Limits of a connection and of one request on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connections {
    /// Seconds a client has to send a complete request head, from the moment it
    /// connects or starts the next request. Default 10.
    pub header_seconds: u64,
    /// Longest pause, in seconds, while a request body arrives (uploads stream on as
    /// long as bytes keep coming). Default 60.
    pub body_seconds: u64,
    /// Seconds a whole request may take, body included, before it is answered with
    /// 408. Default 300 (25 MB of uploads on a slow line).
    pub request_seconds: u64,
    /// Seconds a kept-alive connection may stay silent between two requests, and the
    /// longest pause of a client that does not read its answer. Default 60.
    pub idle_seconds: u64,
    /// Connections served at once; further clients wait in the listen queue until one
    /// ends. Default 1024.
    pub max: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Self { header_seconds: 10, body_seconds: 60, request_seconds: 300, idle_seconds: 60, max: 1024 }
    }
}

impl Connections {
    #[must_use]
    pub fn header(&self) -> Duration {
        Duration::from_secs(self.header_seconds.max(1))
    }

    #[must_use]
    pub fn body(&self) -> Duration {
        Duration::from_secs(self.body_seconds.max(1))
    }

    #[must_use]
    pub fn request(&self) -> Duration {
        Duration::from_secs(self.request_seconds.max(1))
    }

    #[must_use]
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_seconds.max(1))
    }

    /// At least one connection.
    #[must_use]
    pub fn max(&self) -> usize {
        self.max.max(1)
    }
}
