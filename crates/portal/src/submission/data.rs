//! What a submission stores (sealed): the normalised answers, the computed values
//! and the files' hashes — the document whose SHA-256 the receipt prints.

use crate::drafts::FileInfo;
use amtsweg_forms::Answers;
use serde::{Deserialize, Serialize};

/// What is stored (sealed) for a submission: the normalised answers, the computed
/// values and the files' hashes; its SHA-256 is printed on the receipt.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmissionData {
    pub form: String,
    pub version: i64,
    pub answers: Answers,
    pub computed: Vec<(String, i64)>,
    pub files: Vec<SubmittedFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SubmittedFile {
    pub field: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

impl SubmissionData {
    /// The files as the display of answers takes them (ids are positions).
    #[must_use]
    pub fn file_infos(&self) -> Vec<FileInfo> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| FileInfo {
                id: i64::try_from(i).unwrap_or(i64::MAX),
                field: f.field.clone(),
                name: f.name.clone(),
                size: f.size,
            })
            .collect()
    }
}
