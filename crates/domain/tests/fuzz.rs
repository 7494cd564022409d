//! Fuzz harness of what is read from uploaded files (anyone can upload with an
//! application): the type check by content and name, the image size read from the
//! header, and the removal of image metadata. Seeds from `fuzz/corpus/uploads/`.
//! Nothing panics, stripping never grows a file or changes its type, and the work
//! grows linearly with the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use amtsweg_domain::files::{FileType, check_upload, strip_metadata};
use harness::Dict;
use proptest::prelude::*;

const DICT: Dict = Dict {
    tokens: &[
        "\u{0}\u{0}\u{0}\u{0}",
        "\u{7f}\u{7f}\u{7f}\u{7f}",
        "IHDR",
        "IEND",
        "tEXt",
        "eXIf",
        "IDAT",
        "\u{0}\u{0}\u{0}\u{d}IHDR",
        "%PDF-",
        "%%EOF",
        "/JavaScript",
    ],
    pairs: &[],
};

/// JPEG markers and lengths are bytes outside UTF-8, so they are mutated in here.
fn jpeg_bits() -> impl Strategy<Value = Vec<u8>> {
    let segment = (0xC0..=0xFFu8, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..16))
        .prop_map(|(m, len, data)| [&[0xFF, m][..], &len.to_be_bytes(), &data].concat());
    proptest::collection::vec(segment, 0..12).prop_map(|segs| [vec![0xFF, 0xD8], segs.concat()].concat())
}

fn accept() -> Vec<String> {
    ["pdf", "png", "jpg", "jpeg"].map(str::to_owned).to_vec()
}

fn exercise(name: &str, bytes: &[u8]) {
    if let Ok(kind) = check_upload(name, bytes, &accept()) {
        let stripped = strip_metadata(kind, bytes.to_vec());
        assert!(stripped.len() <= bytes.len(), "stripping grew the file");
        assert_eq!(FileType::sniff(&stripped), Some(kind), "stripping changed the type");
    }
    if let Some(kind) = FileType::sniff(bytes) {
        let stripped = strip_metadata(kind, bytes.to_vec());
        assert!(stripped.len() <= bytes.len(), "stripping grew the file");
    }
}

proptest! {
    #![proptest_config(harness::config(512))]

    #[test]
    fn mutated_uploads_never_panic(
        bytes in harness::mutated(harness::corpus("uploads"), DICT, 8, false),
        name in prop_oneof![
            Just("foto.png".to_owned()),
            Just("foto.jpg".to_owned()),
            Just("antrag.pdf".to_owned()),
            Just("x.JPEG".to_owned()),
            "\\PC{0,20}",
        ],
    ) {
        exercise(&name, &bytes);
    }

    #[test]
    fn generated_jpeg_segments_never_panic(bytes in jpeg_bits()) {
        exercise("foto.jpg", &bytes);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise("datei.pdf", &bytes);
        exercise("datei.png", &bytes);
    }
}

proptest! {
    #![proptest_config(harness::config(48))]

    #[test]
    fn heavily_mutated_uploads_never_panic(bytes in harness::mutated(harness::corpus("uploads"), DICT, 3, true)) {
        exercise("foto.png", &bytes);
        exercise("foto.jpg", &bytes);
    }
}

#[test]
fn the_seeds_are_accepted_and_lose_their_metadata() {
    let seeds = harness::corpus("uploads");
    for (name, bytes) in ["antrag.pdf", "foto.jpg", "foto.png"].iter().zip(&seeds) {
        let kind = check_upload(name, bytes, &accept()).unwrap_or_else(|e| panic!("{name}: {}", e.0));
        let stripped = strip_metadata(kind, bytes.clone());
        assert!(!stripped.windows(5).any(|w| w == b"Erika" || w == b"Exif\0" || w == b"Komme"), "{name}");
    }
}

#[test]
fn file_checks_take_linear_time() {
    let png = |n: usize| {
        let chunk = |kind: &[u8], data: &[u8]| [&(data.len() as u32).to_be_bytes()[..], kind, data, &[0; 4]].concat();
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(chunk(b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]));
        for _ in 0..n {
            b.extend(chunk(b"tEXt", b"k\0v"));
            b.extend(chunk(b"IDAT", b"xx"));
        }
        b.extend(chunk(b"IEND", b""));
        b
    };
    harness::assert_linear("png chunks", 64, png, |b| {
        let kind = check_upload("a.png", b, &accept()).unwrap();
        std::hint::black_box(strip_metadata(kind, b.clone()));
    });
    let jpeg = |n: usize| {
        let mut b = vec![0xFF, 0xD8];
        b.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x02, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00]);
        for _ in 0..n {
            b.extend([0xFF, 0xE1, 0x00, 0x06, b'E', b'x', b'i', b'f']);
            b.extend([0xFF, 0xFE, 0x00, 0x03, b'c']);
        }
        b.extend([0xFF, 0xDA, 0x00, 0x02, 1, 2, 0xFF, 0xD9]);
        b
    };
    harness::assert_linear("jpeg segments", 64, jpeg, |b| {
        let kind = check_upload("a.jpg", b, &accept()).unwrap();
        std::hint::black_box(strip_metadata(kind, b.clone()));
    });
}
