//! The receipt ("Eingangsbestätigung") of a submitted application as a document,
//! and the port that prints it. The application layer fills a [`Receipt`] from the
//! answers in words; a [`ReceiptPrinter`] (the typst-based one in `crates/pdf`) turns
//! it into a PDF. A port, so that only the binary links the typesetter: the web
//! edge and the application layer never compile it.

/// Everything that goes onto one receipt. All strings are shown verbatim.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    /// Name of the authority, e.g. "Stadt Moorbrück".
    pub authority: String,
    /// Title of the form, e.g. "Hundesteuer anmelden".
    pub title: String,
    /// The receipt number, e.g. "MOO-2026-000001".
    pub receipt_number: String,
    /// When the application came in, already formatted ("23.11.2026, 14:05 Uhr").
    pub submitted: String,
    /// One entry per form step: the step title and its (label, answer) lines.
    pub sections: Vec<(String, Vec<(String, String)>)>,
    /// Computed values as (label, formatted value), e.g. ("Gebühr", "12,50 €").
    pub computed: Vec<(String, String)>,
    /// Attachments as (file name, size in bytes). No checksums: the receipt is for
    /// people; the hand-over packages for the authority carry them for machines.
    pub files: Vec<(String, i64)>,
    /// What is to be paid and how, when the form charges a fee.
    pub payment: Option<ReceiptPayment>,
}

/// The payment part of a receipt: Kassenzeichen, amount, state and — for an
/// invoice — the bank details with a GiroCode.
#[derive(Debug, Clone, Default)]
pub struct ReceiptPayment {
    /// (label, value), e.g. ("Kassenzeichen", "MOO-2026-000001"), ("Betrag", "12,50 €").
    pub lines: Vec<(String, String)>,
    /// The GiroCode as an SVG document (no scripts, no external references).
    pub girocode_svg: Option<String>,
    /// A sentence for the citizen, e.g. how to pay.
    pub note: String,
}

/// Prints a receipt as a PDF. Blocking and CPU-bound: callers run it off the async
/// workers.
pub trait ReceiptPrinter: Send + Sync {
    /// The PDF bytes of `r`.
    ///
    /// # Errors
    /// A message for the log when the document cannot be produced.
    fn print(&self, r: &Receipt) -> Result<Vec<u8>, String>;
}
