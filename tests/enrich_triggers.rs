//! Triggers: the embedded Atomic Red Team index, reading a local checkout, and the
//! reproduction of the committed index by its importer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigwiki::enrich::import::import_atomics;
use sigwiki::enrich::{AtomicsError, Triggers};

fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SIGWIKI_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    if dir.join("data/atomic-red-team").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {test} needs the shared folder (set SIGWIKI_SHARED or put it at ../shared)"
        );
        None
    }
}

#[test]
fn embedded_index_knows_rundll32() {
    let triggers = Triggers::embedded();
    let trigger = triggers
        .for_technique("t1218.011")
        .expect("T1218.011 has atomics");
    assert_eq!(trigger.technique_id, "T1218.011");
    assert!(trigger.test_count >= 10, "{}", trigger.test_count);
    assert_eq!(
        trigger.url,
        "https://github.com/redcanaryco/atomic-red-team/blob/master/atomics/T1218.011/T1218.011.md"
    );
    assert!(trigger.tests.is_empty());
    // Revoked IDs are not in the index: the caller resolves T1085 to T1218.011 first.
    assert!(triggers.for_technique("T1085").is_none());
    assert!(triggers.technique_ids().count() > 300);
    assert!(triggers.source().contains("Red Canary"));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_checkout_lists_tests() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("atomics/T1218.011/T1218.011.yaml"),
        "attack_technique: T1218.011\ndisplay_name: 'Signed Binary Proxy Execution: Rundll32'\natomic_tests:\n\
         - name: Rundll32 execute JavaScript\n  auto_generated_guid: 57ba4ce9-ee7a-4f27-9928-3c70c489b59d\n  description: x\n  supported_platforms:\n  - windows\n  executor:\n    name: command_prompt\n    command: rundll32.exe\n\
         - name: Second\n  auto_generated_guid: 638730e7-7aed-43dc-bf8c-8117f805f5bb\n  supported_platforms: [windows, linux]\n  executor:\n    name: sh\n",
    );
    write(
        &dir.path().join("atomics/T1003/T1003.yaml"),
        "attack_technique: T1003\natomic_tests: []\n",
    );
    write(
        &dir.path().join("atomics/Indexes/index.yaml"),
        "not: a technique\n",
    );
    let triggers = Triggers::with_atomics_dir(dir.path()).unwrap();
    let trigger = triggers.for_technique("T1218.011").unwrap();
    assert_eq!(trigger.test_count, 2);
    assert_eq!(trigger.tests[0].name, "Rundll32 execute JavaScript");
    assert_eq!(
        trigger.tests[0].guid,
        "57ba4ce9-ee7a-4f27-9928-3c70c489b59d"
    );
    assert_eq!(trigger.tests[0].platforms, ["windows"]);
    assert_eq!(trigger.tests[1].platforms, ["windows", "linux"]);
    assert_eq!(trigger.tests[1].executor.as_deref(), Some("sh"));
    assert!(
        triggers.for_technique("T1003").is_none(),
        "no tests, no trigger"
    );
    // The `atomics` folder itself works too.
    let same = Triggers::with_atomics_dir(&dir.path().join("atomics")).unwrap();
    assert_eq!(same.for_technique("T1218.011"), Some(trigger));

    write(
        &dir.path().join("atomics/T1059/T1059.yaml"),
        "atomic_tests:\n  - name: [broken\n",
    );
    let err = Triggers::with_atomics_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, AtomicsError::Invalid { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("T1059.yaml:2:"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Triggers::with_atomics_dir(empty.path()),
        Err(AtomicsError::NoAtomics { .. })
    ));
}

#[test]
fn committed_index_is_reproduced_by_the_importer() {
    let Some(shared) = shared_or_skip("committed_index_is_reproduced_by_the_importer") else {
        return;
    };
    let art = shared.join("data/atomic-red-team");
    let imported = import_atomics(&art).unwrap();
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/atomic-red-team.json"),
    )
    .unwrap();
    assert!(
        imported.to_json() == committed,
        "data/atomic-red-team.json is stale: rerun `sigwiki data import-atomics` (see data/atomic-red-team.SOURCE.md)"
    );
    assert_eq!(imported.techniques.len(), 341);
    assert_eq!(imported.techniques.values().sum::<usize>(), 1819);

    // The YAML path of the importer agrees with the CSV path: a checkout rebuilt from the
    // snapshot's per-test facts gives the same counts.
    let compact: BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(&std::fs::read_to_string(art.join("atomics-compact.json")).unwrap())
            .unwrap();
    let checkout = tempfile::tempdir().unwrap();
    for (technique, tests) in &compact {
        let mut yaml = format!("attack_technique: {technique}\natomic_tests:\n");
        for test in tests {
            let field = |k: &str| serde_json::to_string(&test[k]).unwrap();
            yaml.push_str(&format!(
                "- name: {}\n  auto_generated_guid: {}\n  supported_platforms: {}\n  executor:\n    name: {}\n",
                field("name"),
                field("guid"),
                field("platforms"),
                field("executor")
            ));
        }
        write(
            &checkout
                .path()
                .join(format!("atomics/{technique}/{technique}.yaml")),
            &yaml,
        );
    }
    let from_yaml = import_atomics(checkout.path()).unwrap();
    assert_eq!(from_yaml.techniques, imported.techniques);
    let triggers = Triggers::with_atomics_dir(checkout.path()).unwrap();
    let rundll32 = triggers.for_technique("T1218.011").unwrap();
    assert_eq!(rundll32.tests.len(), rundll32.test_count);
    assert!(
        rundll32
            .tests
            .iter()
            .all(|t| !t.guid.is_empty() && !t.platforms.is_empty())
    );
}
