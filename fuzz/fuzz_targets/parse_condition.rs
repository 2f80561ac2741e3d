//! Fuzz target: any text as a detection condition, against a fixed set of search identifiers.
//! It must never panic, and errors must point inside the condition text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigwiki::sigma::condition::parse_condition;
use sigwiki::sigma::diagnostic::{NodePath, Where};

const IDENTIFIERS: [&str; 6] = [
    "selection",
    "selection_img",
    "selection_cli",
    "filter_main",
    "keywords",
    "_hidden",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let identifiers: Vec<String> = IDENTIFIERS.iter().map(|s| s.to_string()).collect();
    let path = NodePath::root(0).key("detection").key("condition");
    match parse_condition(&text, &identifiers, &path, 64) {
        Ok(condition) => {
            for name in condition.expr.identifiers() {
                assert!(identifiers.iter().any(|i| i == name));
            }
            let _ = condition.expr.to_string();
        }
        Err(problem) => {
            if let Where::Node(node) = &problem.at {
                assert!(node.offset.is_none_or(|o| o <= text.chars().count()));
            }
        }
    }
});
