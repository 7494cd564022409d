//! The shared part of every parser fuzz harness (see `fuzz/README.md`), included by
//! the harnesses with `#[path]` so that no extra crate is needed: seeds from
//! `fuzz/corpus/<target>/`, structured mutations of them, the number of cases, and
//! the check that work grows linearly with the input.
//!
//! A harness asserts three things for its parser: it never panics, its output stays
//! bounded by the input, and eight times the input takes clearly less than the
//! sixty-four times as long a quadratic parser would need.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The seed files of a target, in name order. Seeds are small files written for
/// this project; a missing or empty folder is a broken checkout, so it fails.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The corpus as text (seeds are UTF-8 files).
pub fn corpus_text(target: &str) -> Vec<String> {
    corpus(target).into_iter().map(|b| String::from_utf8(b).expect("seeds are UTF-8")).collect()
}

/// Cases per property: `PROPTEST_CASES` when set (a long local run), else `default`
/// (small enough that the whole fuzz set stays within about two minutes in CI).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The proptest configuration of a harness: `cases(default)` cases; failures are
/// not written next to the sources (the failing input is printed, shrunk, instead:
/// add it to the corpus when fixing the parser).
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        max_shrink_time: 60_000,
        ..Config::default()
    }
}

/// Words of the input language that mutations insert, and pairs of them that
/// mutations nest (an opening and its closing text).
#[derive(Clone, Copy)]
pub struct Dict {
    pub tokens: &'static [&'static str],
    pub pairs: &'static [(&'static str, &'static str)],
}

/// One change to a seed. Positions are taken modulo the current length, so every
/// generated value applies to every seed.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte with a mask (never zero).
    Flip { at: usize, mask: u8 },
    /// Cut the input off.
    Truncate { at: usize },
    /// Remove up to `len` bytes.
    Delete { at: usize, len: usize },
    /// Insert a dictionary token.
    Insert { at: usize, token: usize },
    /// Repeat a stretch of the input (up to 64 bytes) several times in place.
    Repeat { at: usize, len: usize, times: usize },
    /// Wrap the input from `at` on in `depth` levels of a dictionary pair.
    Nest { at: usize, pair: usize, depth: usize },
    /// Replace the tail with the tail of another seed.
    Splice { seed: usize, from: usize, at: usize },
}

/// Mutations as proptest values; `big` allows large repetitions and deep nesting
/// (for the inputs that test the limits, not only the logic).
pub fn mutation(big: bool) -> impl Strategy<Value = Mutation> {
    let (times, depth) = if big { (1..4096usize, 1..2048usize) } else { (1..16usize, 1..16usize) };
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<usize>(), 1..64usize, times).prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        2 => (any::<usize>(), any::<usize>(), depth).prop_map(|(at, pair, depth)| Mutation::Nest { at, pair, depth }),
        1 => (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(seed, from, at)| Mutation::Splice { seed, from, at }),
    ]
}

/// Applies `m` to `input`.
pub fn apply(input: &mut Vec<u8>, m: &Mutation, dict: Dict, seeds: &[Vec<u8>]) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *m {
        Mutation::Flip { at, mask } => {
            if !input.is_empty() {
                let i = at % input.len();
                input[i] ^= mask;
            }
        }
        Mutation::Truncate { at } => input.truncate(pos(at, input.len())),
        Mutation::Delete { at, len } => {
            let start = pos(at, input.len());
            let end = (start + len).min(input.len());
            input.drain(start..end);
        }
        Mutation::Insert { at, token } => {
            if !dict.tokens.is_empty() {
                let at = pos(at, input.len());
                let t = dict.tokens[token % dict.tokens.len()].as_bytes();
                input.splice(at..at, t.iter().copied());
            }
        }
        Mutation::Repeat { at, len, times } => {
            let start = pos(at, input.len());
            let end = (start + len).min(input.len());
            let stretch = input[start..end].to_vec();
            let repeated: Vec<u8> = stretch.iter().copied().cycle().take(stretch.len() * times).collect();
            input.splice(end..end, repeated);
        }
        Mutation::Nest { at, pair, depth } => {
            if !dict.pairs.is_empty() {
                let (open, close) = dict.pairs[pair % dict.pairs.len()];
                let at = pos(at, input.len());
                let mut out = input[..at].to_vec();
                out.extend(open.repeat(depth).bytes());
                out.extend_from_slice(&input[at..]);
                out.extend(close.repeat(depth).bytes());
                *input = out;
            }
        }
        Mutation::Splice { seed, from, at } => {
            if !seeds.is_empty() {
                let other = &seeds[seed % seeds.len()];
                let at = pos(at, input.len());
                let from = pos(from, other.len());
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
        }
    }
}

/// A seed with up to `max` mutations applied; `big` as in [`mutation`].
pub fn mutated(seeds: Vec<Vec<u8>>, dict: Dict, max: usize, big: bool) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    (0..n, proptest::collection::vec(mutation(big), 0..=max)).prop_map(move |(i, ms)| {
        let mut input = seeds[i].clone();
        for m in &ms {
            apply(&mut input, m, dict, &seeds);
        }
        input
    })
}

/// Like [`mutated`], as text (invalid UTF-8 from flips becomes U+FFFD, as a
/// server that decodes leniently would see it).
pub fn mutated_text(seeds: Vec<Vec<u8>>, dict: Dict, max: usize, big: bool) -> impl Strategy<Value = String> {
    mutated(seeds, dict, max, big).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Fastest of three runs (the least disturbed by other work on the machine).
fn fastest(run: &mut dyn FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Largest `n` the calibration tries. Work still below the time floor there is too
/// cheap to matter; larger inputs would measure the memory system, not the parser.
const MAX_N: usize = 1 << 18;

/// How much longer eight times the input takes: the input of `make(n)` is grown from
/// `n` until one run takes at least `floor` (so timer noise does not matter), then
/// compared with `make(8n)`. About 8 for linear work, about 64 for quadratic.
pub fn growth<T>(mut n: usize, floor: Duration, make: &dyn Fn(usize) -> T, run: &dyn Fn(&T)) -> (usize, f64) {
    let mut small;
    loop {
        let input = make(n);
        small = fastest(&mut || run(&input));
        if small >= floor || n >= MAX_N {
            break;
        }
        n *= 2;
    }
    let large_input = make(8 * n);
    let large = fastest(&mut || run(&large_input));
    (n, large.as_secs_f64() / small.max(floor).as_secs_f64())
}

/// The most eight times the input may cost: generous for a loaded two-core CI
/// machine, still well below the 64 of quadratic work.
pub const MAX_GROWTH: f64 = 40.0;

/// Fails when eight times the input of `make` costs [`MAX_GROWTH`] times as long or
/// more, in each of three attempts (one bad attempt is a disturbance, not a parser).
pub fn assert_linear<T>(what: &str, n: usize, make: impl Fn(usize) -> T, run: impl Fn(&T)) {
    assert_linear_with(what, n, 10, make, run);
}

/// [`assert_linear`] with the time (ms) the smaller input must take at least: lower
/// for parsers with a size limit that eight times the input must stay below.
pub fn assert_linear_with<T>(what: &str, n: usize, floor_ms: u64, make: impl Fn(usize) -> T, run: impl Fn(&T)) {
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (at, ratio) = growth(n, Duration::from_millis(floor_ms), &make, &run);
        if ratio < MAX_GROWTH {
            eprintln!("{what}: eight times the input took {ratio:.1}× as long (n = {at})");
            return;
        }
        seen.push(format!("{ratio:.1}× at n = {at}"));
    }
    panic!("{what}: eight times the input took {} as long — super-linear", seen.join(", "));
}

/// Self-test of the time check: a deliberately quadratic function is caught, a
/// linear one passes. Call from one test of each harness binary that wants it.
pub fn self_test() {
    let make = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
    let quadratic = |v: &Vec<String>| {
        // The mistake of finding 1: looking every key up in a Vec of the others.
        let mut seen: Vec<&String> = Vec::new();
        for s in v {
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        std::hint::black_box(seen.len());
    };
    let linear = |v: &Vec<String>| {
        let seen: std::collections::HashSet<&String> = v.iter().collect();
        std::hint::black_box(seen.len());
    };
    // On a loaded machine a single measurement can come out low (the small run was
    // disturbed): the check must catch quadratic work in one of three attempts, with a
    // higher floor so that timer and scheduler noise weigh less.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, q) = growth(64, Duration::from_millis(40), &make, &quadratic);
        if q >= MAX_GROWTH {
            break;
        }
        seen.push(q);
    }
    assert!(seen.len() < 3, "the time check must catch quadratic work (it measured {seen:.1?}×)");
    assert_linear("linear reference", 64, make, linear);
}
