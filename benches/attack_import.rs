//! Plain-timing benchmark of the ATT&CK importer and catalog (run with
//! `cargo bench --bench attack_import`): importing the v19.1 STIX bundle must take well under
//! 2 s in a release build. Prints the best and median of several runs of each step; skips the
//! import when the shared data (`$SIGWIKI_SHARED` or `<crate root>/../shared`) is absent.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sigwiki::attack::{self, Catalog, EMBEDDED_DATASET, ImportOptions, resolve_tags};

fn measure(label: &str, runs: usize, mut step: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            step();
            started.elapsed()
        })
        .collect();
    times.sort();
    let best = times.first().copied().unwrap_or_default();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    println!("{label:<48} best {best:>10.3?}  median {median:>10.3?}  ({runs} runs)");
    median
}

fn main() {
    let shared = std::env::var_os("SIGWIKI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let bundle = shared.join("data/attack/enterprise-attack-v19.1.json.gz");
    if bundle.exists() {
        let median = measure(
            "import v19.1 bundle (read, gunzip, parse, build)",
            7,
            || {
                let dataset = attack::import_file(&bundle, &ImportOptions::default())
                    .expect("the bundle imports");
                black_box(dataset);
            },
        );
        let dataset =
            attack::import_file(&bundle, &ImportOptions::default()).expect("the bundle imports");
        measure("write the compact dataset", 20, || {
            black_box(dataset.to_json());
        });
        measure("load the bundle as a catalog (--attack)", 5, || {
            black_box(Catalog::load(&bundle).expect("loads"));
        });
        assert!(
            median < Duration::from_secs(2),
            "importing took {median:?}, over the 2 s target"
        );
    } else {
        println!("skipped import: {} not found", bundle.display());
    }
    measure("parse the embedded dataset", 50, || {
        black_box(
            Catalog::from_json(EMBEDDED_DATASET.as_bytes(), Path::new("embedded")).expect("parses"),
        );
    });
    let catalog = Catalog::embedded();
    let tags: Vec<String> = ["attack.t1085", "attack.defense_evasion", "attack.execution"]
        .map(String::from)
        .to_vec();
    measure("resolve the reference rule's tags ×10,000", 5, || {
        for _ in 0..10_000 {
            black_box(resolve_tags(catalog, black_box(&tags)));
        }
    });
}
