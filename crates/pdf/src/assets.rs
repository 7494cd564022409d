//! What the receipt is typeset with, built once per process: fonts, the font book,
//! glyph coverage, the typst standard library and the parsed template; and the
//! in-memory world of exactly two files one receipt is compiled in.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::layout::Abs;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook, FontStretch, FontStyle, FontVariant, FontVariations, FontWeight};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::chars::is_default_ignorable;
use crate::{MAIN_FONT, TEMPLATE};

/// Things built once per process.
pub(crate) struct Assets {
    pub(crate) library: LazyHash<Library>,
    pub(crate) book: LazyHash<FontBook>,
    pub(crate) fonts: Vec<Font>,
    pub(crate) main: Source,
    pub(crate) data_id: FileId,
    /// Code points typst renders with a real glyph, directly or by fallback.
    pub(crate) any_font: HashSet<u32>,
    /// Code points the regular and bold [`MAIN_FONT`] faces have glyphs for.
    pub(crate) main_font: HashSet<u32>,
    /// What unsupported characters are replaced with.
    pub(crate) replacement: char,
}

static ASSETS: OnceLock<Result<Assets, String>> = OnceLock::new();

pub(crate) fn assets() -> Result<&'static Assets, String> {
    ASSETS.get_or_init(build_assets).as_ref().map_err(Clone::clone)
}

pub(crate) fn build_assets() -> Result<Assets, String> {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    let book = FontBook::from_fonts(&fonts);
    let (any_font, main_font) = displayable(&fonts, &book)?;
    let file = |path: &str| {
        VirtualPath::new(path)
            .map(|p| RootedPath::new(VirtualRoot::Project, p).intern())
            .map_err(|e| format!("virtual path {path}: {e}"))
    };
    let main = Source::new(file("/receipt.typ")?, TEMPLATE.to_owned());
    let replacement = if any_font.contains(&0xFFFD) { '\u{FFFD}' } else { '?' };
    Ok(Assets {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(book),
        fonts,
        main,
        data_id: file("/data.json")?,
        any_font,
        main_font,
        replacement,
    })
}

/// Which code points typst will render with a real glyph: (single characters
/// in regular and bold body text, characters the main font itself has).
///
/// Mirrors typst's font fallback: for a character the main font lacks, typst
/// takes the single best fallback font whose cmap lists the character; if that
/// font maps it to `.notdef` (some cmaps do) the result is a `.notdef` glyph,
/// which PDF/A forbids.
pub(crate) fn displayable(fonts: &[Font], book: &FontBook) -> Result<(HashSet<u32>, HashSet<u32>), String> {
    if fonts.len() > 64 {
        return Err("more than 64 fonts".into());
    }
    let glyphs: Vec<HashSet<u32>> = fonts.iter().map(mapped_code_points).collect();
    let has = |id: usize, u: u32| glyphs.get(id).is_some_and(|g| g.contains(&u));
    // Which fonts' cmaps list a code point: all `select_fallback` looks at.
    let mut listed: HashMap<u32, u64> = HashMap::new();
    for (i, font) in fonts.iter().enumerate() {
        for u in font.info().coverage.iter() {
            *listed.entry(u).or_default() |= 1 << i;
        }
    }
    let faces: Vec<(FontVariant, usize)> = [FontWeight::REGULAR, FontWeight::BOLD]
        .into_iter()
        .map(|weight| {
            let variant = FontVariant::new(FontStyle::Normal, weight, FontStretch::NORMAL);
            book.select(&MAIN_FONT.to_lowercase(), variant)
                .map(|id| (variant, id))
                .ok_or_else(|| format!("font {MAIN_FONT} missing (typst-assets without `fonts` feature?)"))
        })
        .collect::<Result<_, _>>()?;
    let main_font: HashSet<u32> =
        listed.keys().copied().filter(|&u| faces.iter().all(|&(_, face)| has(face, u))).collect();
    let mut any_font = HashSet::new();
    let mut picked: HashMap<(usize, u64), Option<usize>> = HashMap::new();
    let mut buf = [0u8; 4];
    for (&u, &mask) in &listed {
        let Some(c) = char::from_u32(u) else { continue };
        let ok = faces.iter().all(|&(variant, face)| {
            if has(face, u) {
                return true;
            }
            // The pick depends only on which fonts list the character, so it
            // is computed once per font set (whitespace is never a fallback).
            let mut pick = || book.select_fallback(book.info(face), variant, c.encode_utf8(&mut buf));
            let id = if c.is_whitespace() || is_default_ignorable(c) {
                pick()
            } else {
                *picked.entry((face, mask)).or_insert_with(pick)
            };
            id.is_some_and(|id| id != face && has(id, u))
        });
        if ok {
            any_font.insert(u);
        }
    }
    Ok((any_font, main_font))
}

/// The code points of the font's cmap that map to an actual glyph (some
/// cmaps map ranges to glyph 0).
pub(crate) fn mapped_code_points(font: &Font) -> HashSet<u32> {
    let instance = font.clone().instantiate(font.info().variant, Abs::pt(10.0), &FontVariations::default());
    let ttf = instance.ttf();
    font.info()
        .coverage
        .iter()
        .filter(|&u| char::from_u32(u).and_then(|c| ttf.glyph_index(c)).is_some_and(|g| g.0 != 0))
        .collect()
}

impl Assets {
    /// Whether some bundled font has a glyph for `c` (typst falls back to it).
    pub(crate) fn in_any_font(&self, c: char) -> bool {
        self.any_font.contains(&u32::from(c))
    }

    /// Whether every face of the main text font has a glyph for `c`.
    pub(crate) fn in_main_font(&self, c: char) -> bool {
        self.main_font.contains(&u32::from(c))
    }
}

/// The in-memory world one receipt is compiled in.
pub(crate) struct ReceiptWorld {
    pub(crate) assets: &'static Assets,
    pub(crate) data: Bytes,
}

impl ReceiptWorld {
    fn not_found(id: FileId) -> FileError {
        FileError::NotFound(id.vpath().get_with_slash().into())
    }
}

impl World for ReceiptWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.assets.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.assets.main.id() { Ok(self.assets.main.clone()) } else { Err(Self::not_found(id)) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.assets.data_id {
            Ok(self.data.clone())
        } else if id == self.assets.main.id() {
            Ok(Bytes::from_string(self.assets.main.clone()))
        } else {
            Err(Self::not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The template never asks for the date; keeps compilation pure.
        None
    }
}
