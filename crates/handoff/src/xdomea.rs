//! xdomea 3.0 export (work in progress).
