//! Replays every fuzz target's checked-in corpus (`fuzz/corpus/<target>/`:
//! the seeds, and each crash the fuzzer ever found, kept as a regression)
//! through the target's body, on every `cargo test`.

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, run) in palisade_fuzz::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a seed corpus)", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 3, "{name}: only {} seeds", inputs.len());
        for path in inputs {
            let data = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} fails its target", path.display());
        }
    }
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    let bins = Path::new(env!("CARGO_MANIFEST_DIR")).join("libfuzzer/fuzz_targets");
    for (name, _) in palisade_fuzz::TARGETS {
        assert!(bins.join(format!("{name}.rs")).is_file(), "fuzz/libfuzzer/fuzz_targets/{name}.rs is missing");
    }
}
