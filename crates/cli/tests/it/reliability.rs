//! Reliability of the submission path and the hand-off under crashes and broken
//! receivers (being written).
