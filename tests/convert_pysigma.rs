//! Golden tests of the pySigma-family targets (`lucene`, `splunk`, `eql`, `esql`, `kusto`):
//! small rules, each stressing one construct, converted through `sigwiki convert --format
//! jsonl`, compared with outputs checked by hand — against the reference converter
//! (sigma-cli 3.1.0) where it is right, and against the target language's documentation
//! where we go beyond it (`|cidr`, `|windash` lists, booleans, `|exists`, `|fieldref`,
//! `|cased`, keyword search in ES|QL, several regexes in Splunk, aggregations, correlations).
//! Refusals are checked by their message.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;

/// What a case's file holds.
enum Kind {
    /// A detection rule; `body` is its `detection` section.
    Rule,
    /// A detection rule with a `name` (referenced by the correlation cases).
    NamedRule(&'static str),
    /// A correlation rule; `body` is its `correlation` section.
    Correlation,
}

/// The expected conversion: the output without its final newline, or the error message
/// without its line number.
enum Expect {
    Ok(&'static str),
    Err(&'static str),
}

use Expect::{Err, Ok};

struct Case {
    name: &'static str,
    kind: Kind,
    body: &'static str,
    expect: [(&'static str, Expect); 5],
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn rule_text(index: usize, case: &Case) -> String {
    let id = format!("9e0f0000-0000-4000-8000-{:012}", index + 1);
    match case.kind {
        Kind::Correlation => format!(
            "title: Golden {}\nid: {id}\nstatus: test\ncorrelation:\n{}\nlevel: high\n",
            case.name,
            indent(case.body)
        ),
        Kind::Rule | Kind::NamedRule(_) => {
            let name = match case.kind {
                Kind::NamedRule(n) => format!("name: {n}\n"),
                _ => String::new(),
            };
            format!(
                "title: Golden {}\nid: {id}\n{name}status: test\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n{}\nlevel: low\n",
                case.name,
                indent(case.body)
            )
        }
    }
}

/// Writes every case as a rule file and converts the folder once with `target`.
fn convert_all(dir: &Path, target: &str) -> HashMap<String, serde_json::Value> {
    let output = Command::cargo_bin("sigwiki")
        .expect("the sigwiki binary")
        .args(["convert", "-t", target, "--format", "jsonl"])
        .arg(dir)
        .output()
        .expect("sigwiki runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let rule = v["rule"]
                .as_str()
                .expect("rule")
                .trim_end_matches(".yml")
                .to_string();
            (rule, v)
        })
        .collect()
}

fn check(target: &str) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (i, case) in CASES.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("{}.yml", case.name)),
            rule_text(i, case),
        )
        .expect("rule written");
    }
    let results = convert_all(dir.path(), target);
    let mut failures = Vec::new();
    for case in CASES {
        let (_, expected) = case
            .expect
            .iter()
            .find(|(t, _)| *t == target)
            .expect("an expectation per target");
        let Some(got) = results.get(case.name) else {
            failures.push(format!("{}: no result", case.name));
            continue;
        };
        let status = got["status"].as_str().unwrap_or_default();
        match expected {
            Ok(text) => {
                let output = got["output"].as_str().unwrap_or_default();
                let matches = if text.is_empty() {
                    status == "empty" && output.is_empty()
                } else {
                    status == "ok" && output == format!("{text}\n")
                };
                if !matches {
                    failures.push(format!(
                        "{}:\n  expected: {text}\n  got:      {}",
                        case.name,
                        if status == "ok" {
                            output.trim_end()
                        } else {
                            got["error"].as_str().unwrap_or_default()
                        }
                    ));
                }
            }
            Err(message) => {
                let error = got["error"].as_str().unwrap_or_default();
                if status != "err" || !error.ends_with(message) {
                    failures.push(format!(
                        "{}:\n  expected error: {message}\n  got:            {}",
                        case.name,
                        if status == "err" {
                            error
                        } else {
                            got["output"].as_str().unwrap_or_default()
                        }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {} golden cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_lucene() {
    check("lucene");
}

#[test]
fn golden_splunk() {
    check("splunk");
}

#[test]
fn golden_eql() {
    check("eql");
}

#[test]
fn golden_esql() {
    check("esql");
}

#[test]
fn golden_kusto() {
    check("kusto");
}

#[test]
fn every_target_is_registered_with_its_title() {
    let output = Command::cargo_bin("sigwiki")
        .expect("the sigwiki binary")
        .args(["convert", "--list-targets"])
        .output()
        .expect("sigwiki runs");
    let listing = String::from_utf8(output.stdout).expect("UTF-8 output");
    for (name, title) in [
        ("lucene", "Elasticsearch Lucene"),
        ("splunk", "Splunk SPL"),
        ("eql", "Elasticsearch EQL"),
        ("esql", "Elasticsearch ES|QL"),
        ("kusto", "Microsoft Sentinel (KQL)"),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(name) && l.ends_with(title)),
            "{name} ({title}) missing from:\n{listing}"
        );
    }
}

#[test]
fn text_output_concatenates_rules_and_reports_failures() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("a.yml"), rule_text(0, &CASES[1])).expect("written");
    std::fs::write(
        dir.path().join("b.yml"),
        rule_text(
            1,
            CASES
                .iter()
                .find(|c| c.name == "placeholder")
                .expect("case"),
        ),
    )
    .expect("written");
    let output = Command::cargo_bin("sigwiki")
        .expect("the sigwiki binary")
        .args(["convert", "-t", "lucene"])
        .arg(dir.path())
        .output()
        .expect("sigwiki runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a refused rule makes the exit code 1"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "EventID:4688\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("b.yml") && stderr.contains("line 9"),
        "{stderr}"
    );
}

/// Every case, in the order of its file's id.
const CASES: &[Case] = &[
    Case {
        name: "plain_string",
        kind: Kind::Rule,
        body: r#"selection:
    Image: 'C:\Windows\System32\cmd.exe'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Image:C\:\\Windows\\System32\\cmd.exe"#)),
            ("splunk", Ok(r#"Image="C:\\Windows\\System32\\cmd.exe""#)),
            (
                "eql",
                Ok(r#"any where Image:"C:\\Windows\\System32\\cmd.exe""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where Image=="C:\\Windows\\System32\\cmd.exe""#,
                ),
            ),
            ("kusto", Ok(r#"Image =~ "C:\\Windows\\System32\\cmd.exe""#)),
        ],
    },
    Case {
        name: "number",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 4688
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"EventID:4688"#)),
            ("splunk", Ok(r#"EventID=4688"#)),
            ("eql", Ok(r#"any where EventID == 4688"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where EventID==4688"#),
            ),
            ("kusto", Ok(r#"EventID == 4688"#)),
        ],
    },
    Case {
        name: "number_list",
        kind: Kind::Rule,
        body: r#"selection:
    EventID:
        - 4624
        - 4625
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"EventID:(4624 OR 4625)"#)),
            ("splunk", Ok(r#"EventID IN (4624, 4625)"#)),
            ("eql", Ok(r#"any where EventID in (4624, 4625)"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where EventID in (4624, 4625)"#),
            ),
            ("kusto", Ok(r#"EventID in~ ("4624", "4625")"#)),
        ],
    },
    Case {
        name: "string_list",
        kind: Kind::Rule,
        body: r#"selection:
    User:
        - alice
        - bob
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"User:(alice OR bob)"#)),
            ("splunk", Ok(r#"User IN ("alice", "bob")"#)),
            ("eql", Ok(r#"any where User like~ ("alice", "bob")"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where User in ("alice", "bob")"#),
            ),
            ("kusto", Ok(r#"User in~ ("alice", "bob")"#)),
        ],
    },
    Case {
        name: "numeric_string",
        kind: Kind::Rule,
        body: r#"selection:
    DestinationPort: '445'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"DestinationPort:445"#)),
            ("splunk", Ok(r#"DestinationPort="445""#)),
            ("eql", Ok(r#"any where DestinationPort:"445""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where DestinationPort=="445""#),
            ),
            ("kusto", Ok(r#"DestinationPort =~ "445""#)),
        ],
    },
    Case {
        name: "float_negative",
        kind: Kind::Rule,
        body: r#"selection:
    Ratio: 1.5
    Offset: -3
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Ratio:1.5 AND Offset:-3"#)),
            ("splunk", Ok(r#"Ratio=1.5 Offset=-3"#)),
            ("eql", Ok(r#"any where Ratio == 1.5 and Offset == -3"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Ratio==1.5 and Offset==-3"#),
            ),
            ("kusto", Ok(r#"Ratio == 1.5 and Offset == -3"#)),
        ],
    },
    Case {
        name: "contains",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|contains: 'whoami'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:*whoami*"#)),
            ("splunk", Ok(r#"CommandLine="*whoami*""#)),
            ("eql", Ok(r#"any where CommandLine:"*whoami*""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine like "*whoami*""#),
            ),
            ("kusto", Ok(r#"CommandLine contains "whoami""#)),
        ],
    },
    Case {
        name: "startswith",
        kind: Kind::Rule,
        body: r#"selection:
    Image|startswith: 'C:\Users\'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Image:C\:\\Users\\*"#)),
            ("splunk", Ok(r#"Image="C:\\Users\\*""#)),
            ("eql", Ok(r#"any where Image:"C:\\Users\\*""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where starts_with(Image, "C:\\Users\\")"#,
                ),
            ),
            ("kusto", Ok(r#"Image startswith "C:\\Users\\""#)),
        ],
    },
    Case {
        name: "endswith",
        kind: Kind::Rule,
        body: r#"selection:
    Image|endswith: '\rundll32.exe'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Image:*\\rundll32.exe"#)),
            ("splunk", Ok(r#"Image="*\\rundll32.exe""#)),
            ("eql", Ok(r#"any where Image:"*\\rundll32.exe""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\rundll32.exe")"#,
                ),
            ),
            ("kusto", Ok(r#"Image endswith "\\rundll32.exe""#)),
        ],
    },
    Case {
        name: "contains_list",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|contains:
        - ' -enc '
        - ' -e '
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:(*\ \-enc\ * OR *\ \-e\ *)"#)),
            ("splunk", Ok(r#"CommandLine IN ("* -enc *", "* -e *")"#)),
            (
                "eql",
                Ok(r#"any where CommandLine like~ ("* -enc *", "* -e *")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "* -enc *" or CommandLine like "* -e *""#,
                ),
            ),
            (
                "kusto",
                Ok(r#"CommandLine contains " -enc " or CommandLine contains " -e ""#),
            ),
        ],
    },
    Case {
        name: "contains_all",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|contains|all:
        - 'net'
        - 'user'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:*net* AND CommandLine:*user*"#)),
            ("splunk", Ok(r#"CommandLine="*net*" CommandLine="*user*""#)),
            (
                "eql",
                Ok(r#"any where CommandLine:"*net*" and CommandLine:"*user*""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "*net*" and CommandLine like "*user*""#,
                ),
            ),
            (
                "kusto",
                Ok(r#"CommandLine contains "net" and CommandLine contains "user""#),
            ),
        ],
    },
    Case {
        name: "mixed_wildcards_list",
        kind: Kind::Rule,
        body: r#"selection:
    Image:
        - '*\cmd.exe'
        - 'C:\Temp\\*'
        - 'exact.exe'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"Image:(*\\cmd.exe OR C\:\\Temp\\* OR exact.exe)"#),
            ),
            (
                "splunk",
                Ok(r#"Image IN ("*\\cmd.exe", "C:\\Temp\\*", "exact.exe")"#),
            ),
            (
                "eql",
                Ok(r#"any where Image like~ ("*\\cmd.exe", "C:\\Temp\\*", "exact.exe")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\cmd.exe") or starts_with(Image, "C:\\Temp\\") or Image=="exact.exe""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"Image in~ ("exact.exe") or Image endswith "\\cmd.exe" or Image startswith "C:\\Temp\\""#,
                ),
            ),
        ],
    },
    Case {
        name: "inner_wildcard",
        kind: Kind::Rule,
        body: r#"selection:
    Image: 'C:\\*\evil.exe'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Image:C\:\\*\\evil.exe"#)),
            ("splunk", Ok(r#"Image="C:\\*\\evil.exe""#)),
            ("eql", Ok(r#"any where Image:"C:\\*\\evil.exe""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Image like "C:\\*\\evil.exe""#),
            ),
            (
                "kusto",
                Ok(r#"Image matches regex "C:\\\\.*\\\\evil\\.exe""#),
            ),
        ],
    },
    Case {
        name: "single_char_wildcard",
        kind: Kind::Rule,
        body: r#"selection:
    Image: 'cmd?.exe'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Image:cmd?.exe"#)),
            ("splunk", Ok(r#"Image="cmd*.exe""#)),
            ("eql", Ok(r#"any where Image:"cmd?.exe""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Image like "cmd?.exe""#),
            ),
            ("kusto", Ok(r#"Image matches regex "cmd.\\.exe""#)),
        ],
    },
    Case {
        name: "escaped_wildcard",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine: 'literal\*star'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:literal\*star"#)),
            ("splunk", Ok(r#"CommandLine="literal\*star""#)),
            (
                "eql",
                Ok(r#"any where CommandLine regex~ "literal\\*star""#),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine=="literal\*star""#),
            ),
            ("kusto", Ok(r#"CommandLine =~ "literal*star""#)),
        ],
    },
    Case {
        name: "trailing_backslash",
        kind: Kind::Rule,
        body: r#"selection:
    Path|endswith: 'dir\\'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Path:*dir\\"#)),
            ("splunk", Ok(r#"Path="*dir\\""#)),
            ("eql", Ok(r#"any where Path:"*dir\\""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where ends_with(Path, "dir\\")"#),
            ),
            ("kusto", Ok(r#"Path endswith "dir\\""#)),
        ],
    },
    Case {
        name: "empty_string",
        kind: Kind::Rule,
        body: r#"selection:
    Description: ''
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Description:"""#)),
            ("splunk", Ok(r#"Description="""#)),
            ("eql", Ok(r#"any where Description=="""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Description=="""#),
            ),
            ("kusto", Ok(r#"Description =~ """#)),
        ],
    },
    Case {
        name: "special_characters",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine: 'say "hi" & <b> | (x)'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"CommandLine:"say \"hi\" \& \<b\> \| \(x\)""#),
            ),
            ("splunk", Ok(r#"CommandLine="say \"hi\" & <b> | (x)""#)),
            (
                "eql",
                Ok(r#"any where CommandLine:"say \"hi\" & <b> | (x)""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine=="say \"hi\" & <b> | (x)""#,
                ),
            ),
            ("kusto", Ok(r#"CommandLine =~ "say \"hi\" & <b> | (x)""#)),
        ],
    },
    Case {
        name: "unicode",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|contains: 'é —'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:*é\ —*"#)),
            ("splunk", Ok(r#"CommandLine="*é —*""#)),
            ("eql", Ok(r#"any where CommandLine:"*é —*""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine like "*é —*""#),
            ),
            ("kusto", Ok(r#"CommandLine contains "é —""#)),
        ],
    },
    Case {
        name: "null",
        kind: Kind::Rule,
        body: r#"selection:
    User: null
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"NOT _exists_:User"#)),
            ("splunk", Ok(r#"NOT User=*"#)),
            ("eql", Ok(r#"any where ?User == null"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where User is null"#),
            ),
            ("kusto", Ok(r#"isnull(User)"#)),
        ],
    },
    Case {
        name: "not_null",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 1
filter:
    User: null
condition: selection and not filter"#,
        expect: [
            ("lucene", Ok(r#"EventID:1 AND _exists_:User"#)),
            ("splunk", Ok(r#"EventID=1 NOT NOT User=*"#)),
            ("eql", Ok(r#"any where EventID == 1 and ?User != null"#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==1 and not User is null"#,
                ),
            ),
            ("kusto", Ok(r#"EventID == 1 and (not(isnull(User)))"#)),
        ],
    },
    Case {
        name: "bool_true",
        kind: Kind::Rule,
        body: r#"selection:
    Enabled: true
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Enabled:true"#)),
            ("splunk", Ok(r#"Enabled=true"#)),
            ("eql", Ok(r#"any where Enabled == true"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Enabled==true"#),
            ),
            ("kusto", Ok(r#"Enabled == true"#)),
        ],
    },
    Case {
        name: "bool_false",
        kind: Kind::Rule,
        body: r#"selection:
    Enabled: false
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Enabled:false"#)),
            ("splunk", Ok(r#"Enabled=false"#)),
            ("eql", Ok(r#"any where Enabled == false"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Enabled==false"#),
            ),
            ("kusto", Ok(r#"Enabled == false"#)),
        ],
    },
    Case {
        name: "exists_true",
        kind: Kind::Rule,
        body: r#"selection:
    User|exists: true
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"_exists_:User"#)),
            ("splunk", Ok(r#"User=*"#)),
            ("eql", Ok(r#"any where ?User != null"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where User is not null"#),
            ),
            ("kusto", Ok(r#"isnotempty(User)"#)),
        ],
    },
    Case {
        name: "exists_false",
        kind: Kind::Rule,
        body: r#"selection:
    User|exists: false
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"NOT _exists_:User"#)),
            ("splunk", Ok(r#"NOT User=*"#)),
            ("eql", Ok(r#"any where ?User == null"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where User is null"#),
            ),
            ("kusto", Ok(r#"isempty(User)"#)),
        ],
    },
    Case {
        name: "compare_gt",
        kind: Kind::Rule,
        body: r#"selection:
    Count|gt: 5
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Count:>5"#)),
            ("splunk", Ok(r#"Count>5"#)),
            ("eql", Ok(r#"any where Count > 5"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Count>5"#),
            ),
            ("kusto", Ok(r#"Count > 5"#)),
        ],
    },
    Case {
        name: "compare_gte_lt",
        kind: Kind::Rule,
        body: r#"selection:
    Size|gte: 10
    Age|lt: 3
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Size:>=10 AND Age:<3"#)),
            ("splunk", Ok(r#"Size>=10 Age<3"#)),
            ("eql", Ok(r#"any where Size >= 10 and Age < 3"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Size>=10 and Age<3"#),
            ),
            ("kusto", Ok(r#"Size >= 10 and Age < 3"#)),
        ],
    },
    Case {
        name: "compare_lte",
        kind: Kind::Rule,
        body: r#"selection:
    Count|lte: 7
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Count:<=7"#)),
            ("splunk", Ok(r#"Count<=7"#)),
            ("eql", Ok(r#"any where Count <= 7"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Count<=7"#),
            ),
            ("kusto", Ok(r#"Count <= 7"#)),
        ],
    },
    Case {
        name: "cidr_v4",
        kind: Kind::Rule,
        body: r#"selection:
    DestinationIp|cidr: '10.0.0.0/8'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"DestinationIp:10.0.0.0\/8"#)),
            ("splunk", Ok(r#"DestinationIp="10.0.0.0/8""#)),
            (
                "eql",
                Ok(r#"any where cidrMatch(DestinationIp, "10.0.0.0/8")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where cidr_match(DestinationIp, "10.0.0.0/8")"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"ipv4_is_in_range(DestinationIp, "10.0.0.0/8")"#),
            ),
        ],
    },
    Case {
        name: "cidr_list_v6",
        kind: Kind::Rule,
        body: r#"selection:
    DestinationIp|cidr:
        - '192.168.0.0/16'
        - 'fe80::/10'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"DestinationIp:192.168.0.0\/16 OR DestinationIp:fe80\:\:\/10"#),
            ),
            (
                "splunk",
                Ok(r#"DestinationIp="192.168.0.0/16" OR DestinationIp="fe80::/10""#),
            ),
            (
                "eql",
                Ok(
                    r#"any where cidrMatch(DestinationIp, "192.168.0.0/16") or cidrMatch(DestinationIp, "fe80::/10")"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where cidr_match(DestinationIp, "192.168.0.0/16") or cidr_match(DestinationIp, "fe80::/10")"#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"ipv4_is_in_range(DestinationIp, "192.168.0.0/16") or ipv4_is_in_range(DestinationIp, "fe80::/10")"#,
                ),
            ),
        ],
    },
    Case {
        name: "not_cidr",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 3
filter:
    DestinationIp|cidr: '172.16.0.0/12'
condition: selection and not filter"#,
        expect: [
            (
                "lucene",
                Ok(r#"EventID:3 AND (NOT DestinationIp:172.16.0.0\/12)"#),
            ),
            (
                "splunk",
                Ok(r#"EventID=3 NOT DestinationIp="172.16.0.0/12""#),
            ),
            (
                "eql",
                Ok(r#"any where EventID == 3 and (not cidrMatch(DestinationIp, "172.16.0.0/12"))"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==3 and not cidr_match(DestinationIp, "172.16.0.0/12")"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"EventID == 3 and (not(ipv4_is_in_range(DestinationIp, "172.16.0.0/12")))"#),
            ),
        ],
    },
    Case {
        name: "regex",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|re: '\s-e(nc)?\s'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:/\s-e(nc)?\s/"#)),
            (
                "splunk",
                Ok(r#"*
| regex CommandLine="\\s-e(nc)?\\s""#),
            ),
            ("eql", Ok(r#"any where CommandLine regex~ "\\s-e(nc)?\\s""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine rlike "\\s-e(nc)?\\s""#,
                ),
            ),
            ("kusto", Ok(r#"CommandLine matches regex "\\s-e(nc)?\\s""#)),
        ],
    },
    Case {
        name: "regex_slash_quote",
        kind: Kind::Rule,
        body: r#"selection:
    Url|re: '/api/v[0-9]+/"x'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Url:/\/api\/v[0-9]+\/"x/"#)),
            (
                "splunk",
                Ok(r#"*
| regex Url="/api/v[0-9]+/\"x""#),
            ),
            ("eql", Ok(r#"any where Url regex~ "/api/v[0-9]+/\"x""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where Url rlike "/api/v[0-9]+/\"x""#),
            ),
            ("kusto", Ok(r#"Url matches regex "/api/v[0-9]+/\"x""#)),
        ],
    },
    Case {
        name: "regex_list",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|re:
        - '^cmd'
        - 'exe$'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:/^cmd/ OR CommandLine:/exe$/"#)),
            (
                "splunk",
                Ok(r#"
| rex field=CommandLine "(?<CommandLineMatch>^cmd)"
| eval CommandLineCondition=if(isnotnull(CommandLineMatch), "true", "false")
| rex field=CommandLine "(?<CommandLineMatch2>exe$)"
| eval CommandLineCondition2=if(isnotnull(CommandLineMatch2), "true", "false")
| search CommandLineCondition="true" OR CommandLineCondition2="true""#),
            ),
            (
                "eql",
                Ok(r#"any where CommandLine regex~ "^cmd" or CommandLine regex~ "exe$""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine rlike "^cmd" or CommandLine rlike "exe$""#,
                ),
            ),
            (
                "kusto",
                Ok(r#"CommandLine matches regex "^cmd" or CommandLine matches regex "exe$""#),
            ),
        ],
    },
    Case {
        name: "regex_ignorecase",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|re|i: 'invoke-\w+'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:/(?i)invoke-\w+/"#)),
            (
                "splunk",
                Ok(r#"*
| regex CommandLine="(?i)invoke-\\w+""#),
            ),
            (
                "eql",
                Ok(r#"any where CommandLine regex~ "(?i)invoke-\\w+""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine rlike "(?i)invoke-\\w+""#,
                ),
            ),
            (
                "kusto",
                Ok(r#"CommandLine matches regex "(?i)invoke-\\w+""#),
            ),
        ],
    },
    Case {
        name: "regex_and_field",
        kind: Kind::Rule,
        body: r#"selection:
    Image|endswith: '\powershell.exe'
    CommandLine|re: '-e(nc)?\s'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"Image:*\\powershell.exe AND CommandLine:/-e(nc)?\s/"#),
            ),
            (
                "splunk",
                Ok(r#"Image="*\\powershell.exe"
| regex CommandLine="-e(nc)?\\s""#),
            ),
            (
                "eql",
                Ok(r#"any where Image:"*\\powershell.exe" and CommandLine regex~ "-e(nc)?\\s""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\powershell.exe") and CommandLine rlike "-e(nc)?\\s""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"Image endswith "\\powershell.exe" and CommandLine matches regex "-e(nc)?\\s""#,
                ),
            ),
        ],
    },
    Case {
        name: "regex_in_or",
        kind: Kind::Rule,
        body: r#"selection:
    Image|endswith: '\powershell.exe'
regex:
    CommandLine|re: '-e(nc)?\s'
condition: selection or regex"#,
        expect: [
            (
                "lucene",
                Ok(r#"Image:*\\powershell.exe OR CommandLine:/-e(nc)?\s/"#),
            ),
            (
                "splunk",
                Ok(r#"
| rex field=CommandLine "(?<CommandLineMatch>-e(nc)?\\s)"
| eval CommandLineCondition=if(isnotnull(CommandLineMatch), "true", "false")
| search Image="*\\powershell.exe" OR CommandLineCondition="true""#),
            ),
            (
                "eql",
                Ok(r#"any where Image:"*\\powershell.exe" or CommandLine regex~ "-e(nc)?\\s""#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\powershell.exe") or CommandLine rlike "-e(nc)?\\s""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"Image endswith "\\powershell.exe" or CommandLine matches regex "-e(nc)?\\s""#,
                ),
            ),
        ],
    },
    Case {
        name: "regex_negated_group",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 1
filter:
    User: 'SYSTEM'
    CommandLine|re: 'svc\d'
condition: selection and not filter"#,
        expect: [
            (
                "lucene",
                Ok(r#"EventID:1 AND (NOT (User:SYSTEM AND CommandLine:/svc\d/))"#),
            ),
            (
                "splunk",
                Ok(r#"EventID=1
| rex field=CommandLine "(?<CommandLineMatch>svc\\d)"
| eval CommandLineCondition=if(isnotnull(CommandLineMatch), "true", "false")
| search NOT (User="SYSTEM" CommandLineCondition="true")"#),
            ),
            (
                "eql",
                Ok(
                    r#"any where EventID == 1 and (not (User:"SYSTEM" and CommandLine regex~ "svc\\d"))"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==1 and not (User=="SYSTEM" and CommandLine rlike "svc\\d")"#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"EventID == 1 and (not((User =~ "SYSTEM" and CommandLine matches regex "svc\\d")))"#,
                ),
            ),
        ],
    },
    Case {
        name: "regex_only",
        kind: Kind::Rule,
        body: r#"selection:
    A|re: 'x+'
    B|re: 'y+'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"A:/x+/ AND B:/y+/"#)),
            (
                "splunk",
                Ok(r#"*
| regex A="x+"
| regex B="y+""#),
            ),
            ("eql", Ok(r#"any where A regex~ "x+" and B regex~ "y+""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where A rlike "x+" and B rlike "y+""#,
                ),
            ),
            (
                "kusto",
                Ok(r#"A matches regex "x+" and B matches regex "y+""#),
            ),
        ],
    },
    Case {
        name: "windash",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|windash|contains: ' -accepteula'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(
                    r#"CommandLine:(*\ \-accepteula* OR *\ \/accepteula* OR *\ –accepteula* OR *\ —accepteula* OR *\ ―accepteula*)"#,
                ),
            ),
            (
                "splunk",
                Ok(
                    r#"CommandLine="* -accepteula*" OR CommandLine="* /accepteula*" OR CommandLine="* –accepteula*" OR CommandLine="* —accepteula*" OR CommandLine="* ―accepteula*""#,
                ),
            ),
            (
                "eql",
                Ok(
                    r#"any where CommandLine like~ ("* -accepteula*", "* /accepteula*", "* –accepteula*", "* —accepteula*", "* ―accepteula*")"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "* -accepteula*" or CommandLine like "* /accepteula*" or CommandLine like "* –accepteula*" or CommandLine like "* —accepteula*" or CommandLine like "* ―accepteula*""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"CommandLine contains " -accepteula" or CommandLine contains " /accepteula" or CommandLine contains " –accepteula" or CommandLine contains " —accepteula" or CommandLine contains " ―accepteula""#,
                ),
            ),
        ],
    },
    Case {
        name: "windash_list",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|windash|contains:
        - ' -s '
        - ' -p '
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(
                    r#"CommandLine:(*\ \-s\ * OR *\ \/s\ * OR *\ –s\ * OR *\ —s\ * OR *\ ―s\ *) OR CommandLine:(*\ \-p\ * OR *\ \/p\ * OR *\ –p\ * OR *\ —p\ * OR *\ ―p\ *)"#,
                ),
            ),
            (
                "splunk",
                Ok(
                    r#"CommandLine="* -s *" OR CommandLine="* /s *" OR CommandLine="* –s *" OR CommandLine="* —s *" OR CommandLine="* ―s *" OR CommandLine="* -p *" OR CommandLine="* /p *" OR CommandLine="* –p *" OR CommandLine="* —p *" OR CommandLine="* ―p *""#,
                ),
            ),
            (
                "eql",
                Ok(
                    r#"any where CommandLine like~ ("* -s *", "* /s *", "* –s *", "* —s *", "* ―s *") or CommandLine like~ ("* -p *", "* /p *", "* –p *", "* —p *", "* ―p *")"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "* -s *" or CommandLine like "* /s *" or CommandLine like "* –s *" or CommandLine like "* —s *" or CommandLine like "* ―s *" or CommandLine like "* -p *" or CommandLine like "* /p *" or CommandLine like "* –p *" or CommandLine like "* —p *" or CommandLine like "* ―p *""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"CommandLine contains " -s " or CommandLine contains " /s " or CommandLine contains " –s " or CommandLine contains " —s " or CommandLine contains " ―s " or CommandLine contains " -p " or CommandLine contains " /p " or CommandLine contains " –p " or CommandLine contains " —p " or CommandLine contains " ―p ""#,
                ),
            ),
        ],
    },
    Case {
        name: "windash_no_dash",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|windash|contains: 'procdump'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:(*procdump*)"#)),
            ("splunk", Ok(r#"CommandLine="*procdump*""#)),
            ("eql", Ok(r#"any where CommandLine like~ ("*procdump*")"#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "*procdump*""#,
                ),
            ),
            ("kusto", Ok(r#"CommandLine contains "procdump""#)),
        ],
    },
    Case {
        name: "windash_negated",
        kind: Kind::Rule,
        body: r#"selection:
    Image|endswith: '\regsvr32.exe'
filter:
    CommandLine|windash|contains: ' -n '
condition: selection and not filter"#,
        expect: [
            (
                "lucene",
                Ok(
                    r#"Image:*\\regsvr32.exe AND (NOT CommandLine:(*\ \-n\ * OR *\ \/n\ * OR *\ –n\ * OR *\ —n\ * OR *\ ―n\ *))"#,
                ),
            ),
            (
                "splunk",
                Ok(
                    r#"Image="*\\regsvr32.exe" NOT (CommandLine="* -n *" OR CommandLine="* /n *" OR CommandLine="* –n *" OR CommandLine="* —n *" OR CommandLine="* ―n *")"#,
                ),
            ),
            (
                "eql",
                Ok(
                    r#"any where Image:"*\\regsvr32.exe" and (not CommandLine like~ ("* -n *", "* /n *", "* –n *", "* —n *", "* ―n *"))"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\regsvr32.exe") and not (CommandLine like "* -n *" or CommandLine like "* /n *" or CommandLine like "* –n *" or CommandLine like "* —n *" or CommandLine like "* ―n *")"#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"Image endswith "\\regsvr32.exe" and (not(CommandLine contains " -n " or CommandLine contains " /n " or CommandLine contains " –n " or CommandLine contains " —n " or CommandLine contains " ―n "))"#,
                ),
            ),
        ],
    },
    Case {
        name: "cidr_single_address",
        kind: Kind::Rule,
        body: r#"selection:
    SourceIp|cidr: '192.0.2.7'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"SourceIp:192.0.2.7\/32"#)),
            ("splunk", Ok(r#"SourceIp="192.0.2.7/32""#)),
            (
                "eql",
                Ok(r#"any where cidrMatch(SourceIp, "192.0.2.7/32")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where cidr_match(SourceIp, "192.0.2.7/32")"#,
                ),
            ),
            ("kusto", Ok(r#"ipv4_is_in_range(SourceIp, "192.0.2.7/32")"#)),
        ],
    },
    Case {
        name: "regex_multiline_dotall",
        kind: Kind::Rule,
        body: r#"selection:
    Payload|re|m|s: '^begin.*end$'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Payload:/(?ms)^begin.*end$/"#)),
            (
                "splunk",
                Ok(r#"*
| regex Payload="(?ms)^begin.*end$""#),
            ),
            ("eql", Err("the multi-line flag cannot be expressed")),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where Payload rlike "(?ms)^begin.*end$""#,
                ),
            ),
            ("kusto", Ok(r#"Payload matches regex "(?ms)^begin.*end$""#)),
        ],
    },
    Case {
        name: "control_characters",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine: "tab\there"
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:tab\	here"#)),
            ("splunk", Ok(r#"CommandLine="tab	here""#)),
            ("eql", Ok(r#"any where CommandLine:"tab\there""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine=="tab	here""#),
            ),
            ("kusto", Ok(r#"CommandLine =~ "tab\there""#)),
        ],
    },
    Case {
        name: "base64offset",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|base64offset|contains: 'IEX'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:(*SUVY* OR *lFW* OR *JRV*)"#)),
            (
                "splunk",
                Ok(r#"CommandLine="*SUVY*" OR CommandLine="*lFW*" OR CommandLine="*JRV*""#),
            ),
            (
                "eql",
                Ok(r#"any where CommandLine like~ ("*SUVY*", "*lFW*", "*JRV*")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "*SUVY*" or CommandLine like "*lFW*" or CommandLine like "*JRV*""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"CommandLine contains "SUVY" or CommandLine contains "lFW" or CommandLine contains "JRV""#,
                ),
            ),
        ],
    },
    Case {
        name: "wide_base64offset",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|wide|base64offset|contains: 'ping'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"CommandLine:(*cABpAG4AZw* OR *AAaQBuAGcA* OR *wAGkAbgBnA*)"#),
            ),
            (
                "splunk",
                Ok(
                    r#"CommandLine="*cABpAG4AZw*" OR CommandLine="*AAaQBuAGcA*" OR CommandLine="*wAGkAbgBnA*""#,
                ),
            ),
            (
                "eql",
                Ok(
                    r#"any where CommandLine like~ ("*cABpAG4AZw*", "*AAaQBuAGcA*", "*wAGkAbgBnA*")"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "*cABpAG4AZw*" or CommandLine like "*AAaQBuAGcA*" or CommandLine like "*wAGkAbgBnA*""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"CommandLine contains "cABpAG4AZw" or CommandLine contains "AAaQBuAGcA" or CommandLine contains "wAGkAbgBnA""#,
                ),
            ),
        ],
    },
    Case {
        name: "base64",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|base64|contains: 'http'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"CommandLine:*aHR0cA\=\=*"#)),
            ("splunk", Ok(r#"CommandLine="*aHR0cA==*""#)),
            ("eql", Ok(r#"any where CommandLine:"*aHR0cA==*""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where CommandLine like "*aHR0cA==*""#,
                ),
            ),
            ("kusto", Ok(r#"CommandLine contains "aHR0cA==""#)),
        ],
    },
    Case {
        name: "fieldref",
        kind: Kind::Rule,
        body: r#"selection:
    TargetUserName|fieldref: SubjectUserName
condition: selection"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"field references (`|fieldref`): not supported by lucene: a Lucene query string compares fields with constants only, never with another field"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"*
| where 'TargetUserName'='SubjectUserName'"#),
            ),
            (
                "eql",
                Err(
                    r#"field references (`|fieldref`): not supported by eql: Elasticsearch EQL cannot compare a field with another field (its comparison operators take a field and a constant)"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where TargetUserName==SubjectUserName"#,
                ),
            ),
            ("kusto", Ok(r#"TargetUserName == SubjectUserName"#)),
        ],
    },
    Case {
        name: "fieldref_or",
        kind: Kind::Rule,
        body: r#"selection:
    TargetUserName|fieldref: SubjectUserName
other:
    LogonType: 3
condition: selection or other"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"field references (`|fieldref`): not supported by lucene: a Lucene query string compares fields with constants only, never with another field"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"
| eval TargetUserNameEquals=if('TargetUserName'='SubjectUserName', "true", "false")
| search TargetUserNameEquals="true" OR LogonType=3"#),
            ),
            (
                "eql",
                Err(
                    r#"field references (`|fieldref`): not supported by eql: Elasticsearch EQL cannot compare a field with another field (its comparison operators take a field and a constant)"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where TargetUserName==SubjectUserName or LogonType==3"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"TargetUserName == SubjectUserName or LogonType == 3"#),
            ),
        ],
    },
    Case {
        name: "cased_equal",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|cased: 'MiXeD'
condition: selection"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"case-sensitive matching (`|cased`): not supported by lucene: a query string matches analyzed text fields case-insensitively and keyword fields exactly; it has no case-sensitive operator"#,
                ),
            ),
            (
                "splunk",
                Err(
                    r#"case-sensitive matching (`|cased`): not supported by splunk: the Splunk search command matches field values case-insensitively"#,
                ),
            ),
            ("eql", Ok(r#"any where CommandLine == "MiXeD""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine=="MiXeD""#),
            ),
            ("kusto", Ok(r#"CommandLine == "MiXeD""#)),
        ],
    },
    Case {
        name: "cased_contains",
        kind: Kind::Rule,
        body: r#"selection:
    CommandLine|cased|contains: 'MiXeD'
condition: selection"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"case-sensitive matching (`|cased`): not supported by lucene: a query string matches analyzed text fields case-insensitively and keyword fields exactly; it has no case-sensitive operator"#,
                ),
            ),
            (
                "splunk",
                Err(
                    r#"case-sensitive matching (`|cased`): not supported by splunk: the Splunk search command matches field values case-insensitively"#,
                ),
            ),
            ("eql", Ok(r#"any where CommandLine like "*MiXeD*""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where CommandLine like "*MiXeD*""#),
            ),
            ("kusto", Ok(r#"CommandLine contains_cs "MiXeD""#)),
        ],
    },
    Case {
        name: "neq",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 1
    User|neq: 'SYSTEM'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"EventID:1 AND (NOT User:SYSTEM)"#)),
            ("splunk", Ok(r#"EventID=1 NOT User="SYSTEM""#)),
            (
                "eql",
                Ok(r#"any where EventID == 1 and (not User:"SYSTEM")"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==1 and not User=="SYSTEM""#,
                ),
            ),
            ("kusto", Ok(r#"EventID == 1 and (not(User =~ "SYSTEM"))"#)),
        ],
    },
    Case {
        name: "keyword",
        kind: Kind::Rule,
        body: r#"keywords:
    - 'error 404'
condition: keywords"#,
        expect: [
            ("lucene", Ok(r#"*error\ 404*"#)),
            ("splunk", Ok(r#""error 404""#)),
            (
                "eql",
                Err(
                    r#"keyword (field-less) search: not supported by eql: EQL only compares fields; it has no full-text search over a whole event"#,
                ),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where qstr("*error\\ 404*")"#),
            ),
            ("kusto", Ok(r#""error 404""#)),
        ],
    },
    Case {
        name: "keyword_list",
        kind: Kind::Rule,
        body: r#"keywords:
    - 'failed'
    - 'denied'
condition: keywords"#,
        expect: [
            ("lucene", Ok(r#"*failed* OR *denied*"#)),
            ("splunk", Ok(r#""failed" OR "denied""#)),
            (
                "eql",
                Err(
                    r#"keyword (field-less) search: not supported by eql: EQL only compares fields; it has no full-text search over a whole event"#,
                ),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where qstr("*failed* OR *denied*")"#),
            ),
            ("kusto", Ok(r#""failed" or "denied""#)),
        ],
    },
    Case {
        name: "keyword_all",
        kind: Kind::Rule,
        body: r#"keywords:
    '|all':
        - 'alpha'
        - 'beta'
condition: keywords"#,
        expect: [
            ("lucene", Ok(r#"*alpha* AND *beta*"#)),
            ("splunk", Ok(r#""alpha" "beta""#)),
            (
                "eql",
                Err(
                    r#"keyword (field-less) search: not supported by eql: EQL only compares fields; it has no full-text search over a whole event"#,
                ),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where qstr("*alpha* AND *beta*")"#),
            ),
            ("kusto", Ok(r#""alpha" and "beta""#)),
        ],
    },
    Case {
        name: "field_with_dash",
        kind: Kind::Rule,
        body: r#"selection:
    cs-uri-query|contains: '/admin'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"cs-uri-query:*\/admin*"#)),
            ("splunk", Ok(r#""cs-uri-query"="*/admin*""#)),
            ("eql", Ok(r#"any where `cs-uri-query`:"*/admin*""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where `cs-uri-query` like "*/admin*""#,
                ),
            ),
            ("kusto", Ok(r#"'cs-uri-query' contains "/admin""#)),
        ],
    },
    Case {
        name: "field_with_dash_list",
        kind: Kind::Rule,
        body: r#"selection:
    c-uri|endswith:
        - '.php'
        - '.asp'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"c-uri:(*.php OR *.asp)"#)),
            ("splunk", Ok(r#""c-uri" IN ("*.php", "*.asp")"#)),
            ("eql", Ok(r#"any where `c-uri` like~ ("*.php", "*.asp")"#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(`c-uri`, ".php") or ends_with(`c-uri`, ".asp")"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"['c-uri'] endswith ".php" or ['c-uri'] endswith ".asp""#),
            ),
        ],
    },
    Case {
        name: "field_with_space",
        kind: Kind::Rule,
        body: r#"selection:
    'Process Name': 'x'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"Process\ Name:x"#)),
            ("splunk", Ok(r#""Process Name"="x""#)),
            ("eql", Ok(r#"any where `Process Name`:"x""#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where `Process Name`=="x""#),
            ),
            ("kusto", Ok(r#"'Process Name' =~ "x""#)),
        ],
    },
    Case {
        name: "dotted_field",
        kind: Kind::Rule,
        body: r#"selection:
    process.executable|endswith: '\cmd.exe'
condition: selection"#,
        expect: [
            ("lucene", Ok(r#"process.executable:*\\cmd.exe"#)),
            ("splunk", Ok(r#"process.executable="*\\cmd.exe""#)),
            ("eql", Ok(r#"any where process.executable:"*\\cmd.exe""#)),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(process.executable, "\\cmd.exe")"#,
                ),
            ),
            ("kusto", Ok(r#"'process.executable' endswith "\\cmd.exe""#)),
        ],
    },
    Case {
        name: "not_not",
        kind: Kind::Rule,
        body: r#"selection:
    A: 1
condition: not not selection"#,
        expect: [
            ("lucene", Ok(r#"NOT (NOT A:1)"#)),
            ("splunk", Ok(r#"NOT (NOT A=1)"#)),
            ("eql", Ok(r#"any where not (not A == 1)"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where not (not A==1)"#),
            ),
            ("kusto", Ok(r#"not((not(A == 1)))"#)),
        ],
    },
    Case {
        name: "precedence",
        kind: Kind::Rule,
        body: r#"a:
    A: 1
b:
    B: 2
c:
    C: 3
condition: a or b and c"#,
        expect: [
            ("lucene", Ok(r#"A:1 OR (B:2 AND C:3)"#)),
            ("splunk", Ok(r#"A=1 OR (B=2 C=3)"#)),
            ("eql", Ok(r#"any where A == 1 or (B == 2 and C == 3)"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where A==1 or B==2 and C==3"#),
            ),
            ("kusto", Ok(r#"A == 1 or (B == 2 and C == 3)"#)),
        ],
    },
    Case {
        name: "parentheses",
        kind: Kind::Rule,
        body: r#"a:
    A: 1
b:
    B: 2
c:
    C: 3
condition: (a or b) and not c"#,
        expect: [
            ("lucene", Ok(r#"(A:1 OR B:2) AND (NOT C:3)"#)),
            ("splunk", Ok(r#"A=1 OR B=2 NOT C=3"#)),
            (
                "eql",
                Ok(r#"any where (A == 1 or B == 2) and (not C == 3)"#),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where (A==1 or B==2) and not C==3"#),
            ),
            ("kusto", Ok(r#"(A == 1 or B == 2) and (not(C == 3))"#)),
        ],
    },
    Case {
        name: "one_of_pattern",
        kind: Kind::Rule,
        body: r#"selection_a:
    A: 1
selection_b:
    B: 2
filter:
    C: 3
condition: 1 of selection_* and not filter"#,
        expect: [
            ("lucene", Ok(r#"(A:1 OR B:2) AND (NOT C:3)"#)),
            ("splunk", Ok(r#"A=1 OR B=2 NOT C=3"#)),
            (
                "eql",
                Ok(r#"any where (A == 1 or B == 2) and (not C == 3)"#),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where (A==1 or B==2) and not C==3"#),
            ),
            ("kusto", Ok(r#"(A == 1 or B == 2) and (not(C == 3))"#)),
        ],
    },
    Case {
        name: "all_of_them",
        kind: Kind::Rule,
        body: r#"sel1:
    A: 1
sel2:
    B: 2
condition: all of them"#,
        expect: [
            ("lucene", Ok(r#"A:1 AND B:2"#)),
            ("splunk", Ok(r#"A=1 B=2"#)),
            ("eql", Ok(r#"any where A == 1 and B == 2"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where A==1 and B==2"#),
            ),
            ("kusto", Ok(r#"A == 1 and B == 2"#)),
        ],
    },
    Case {
        name: "one_of_them",
        kind: Kind::Rule,
        body: r#"sel1:
    A: 1
sel2:
    B: 2
condition: 1 of them"#,
        expect: [
            ("lucene", Ok(r#"A:1 OR B:2"#)),
            ("splunk", Ok(r#"A=1 OR B=2"#)),
            ("eql", Ok(r#"any where A == 1 or B == 2"#)),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where A==1 or B==2"#),
            ),
            ("kusto", Ok(r#"A == 1 or B == 2"#)),
        ],
    },
    Case {
        name: "list_of_maps",
        kind: Kind::Rule,
        body: r#"selection:
    - Image|endswith: '\a.exe'
      CommandLine|contains: 'x'
    - OriginalFileName: 'a.exe'
condition: selection"#,
        expect: [
            (
                "lucene",
                Ok(r#"(Image:*\\a.exe AND CommandLine:*x*) OR OriginalFileName:a.exe"#),
            ),
            (
                "splunk",
                Ok(r#"(Image="*\\a.exe" CommandLine="*x*") OR OriginalFileName="a.exe""#),
            ),
            (
                "eql",
                Ok(
                    r#"any where (Image:"*\\a.exe" and CommandLine:"*x*") or OriginalFileName:"a.exe""#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where ends_with(Image, "\\a.exe") and CommandLine like "*x*" or OriginalFileName=="a.exe""#,
                ),
            ),
            (
                "kusto",
                Ok(
                    r#"(Image endswith "\\a.exe" and CommandLine contains "x") or OriginalFileName =~ "a.exe""#,
                ),
            ),
        ],
    },
    Case {
        name: "multiple_conditions",
        kind: Kind::Rule,
        body: r#"sel1:
    A: 1
sel2:
    B: 2
condition:
    - sel1
    - sel2"#,
        expect: [
            (
                "lucene",
                Ok(r#"A:1

B:2"#),
            ),
            (
                "splunk",
                Ok(r#"A=1

B=2"#),
            ),
            (
                "eql",
                Ok(r#"any where A == 1

any where B == 2"#),
            ),
            (
                "esql",
                Ok(r#"from * metadata _id, _index, _version | where A==1

from * metadata _id, _index, _version | where B==2"#),
            ),
            (
                "kusto",
                Ok(r#"A == 1

B == 2"#),
            ),
        ],
    },
    Case {
        name: "placeholder",
        kind: Kind::Rule,
        body: r#"selection:
    User|expand: '%admins%'
condition: selection"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"placeholders (`|expand`): not supported by lucene: `%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion"#,
                ),
            ),
            (
                "splunk",
                Err(
                    r#"placeholders (`|expand`): not supported by splunk: `%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion"#,
                ),
            ),
            (
                "eql",
                Err(
                    r#"placeholders (`|expand`): not supported by eql: `%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion"#,
                ),
            ),
            (
                "esql",
                Err(
                    r#"placeholders (`|expand`): not supported by esql: `%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion"#,
                ),
            ),
            (
                "kusto",
                Err(
                    r#"placeholders (`|expand`): not supported by kusto: `%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion"#,
                ),
            ),
        ],
    },
    Case {
        name: "aggregation",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 4625
timeframe: 10m
condition: selection | count() by IpAddress > 20"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"pipe aggregations (`| count() …`): not supported by lucene: a query string selects events; counting them needs an aggregation outside the query"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"EventID=4625

| bin _time span=10m
| stats count as event_count by _time IpAddress

| search event_count > 20"#),
            ),
            (
                "eql",
                Err(
                    r#"pipe aggregations (`| count() …`): not supported by eql: EQL has no aggregation; counting events needs a correlation rule (`sequence`)"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==4625
| eval timebucket=date_trunc(10minutes, @timestamp)
| stats event_count=count() by timebucket, IpAddress
| where event_count > 20"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"EventID == 4625
| summarize event_count = count() by bin(TimeGenerated, 10m), IpAddress
| where event_count > 20"#),
            ),
        ],
    },
    Case {
        name: "aggregation_distinct",
        kind: Kind::Rule,
        body: r#"selection:
    EventID: 4625
condition: selection | count(TargetUserName) by IpAddress > 5"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"pipe aggregations (`| count() …`): not supported by lucene: a query string selects events; counting them needs an aggregation outside the query"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"EventID=4625

| stats dc(TargetUserName) as value_count by IpAddress

| search value_count > 5"#),
            ),
            (
                "eql",
                Err(
                    r#"pipe aggregations (`| count() …`): not supported by eql: EQL has no aggregation; counting events needs a correlation rule (`sequence`)"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==4625
| stats value_count=count_distinct(TargetUserName) by IpAddress
| where value_count > 5"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"EventID == 4625
| summarize value_count = dcount(TargetUserName) by IpAddress
| where value_count > 5"#),
            ),
        ],
    },
    Case {
        name: "base_failed",
        kind: Kind::NamedRule("failed_logon"),
        body: r#"selection:
    EventID: 4625
condition: selection"#,
        // Only correlations with `generate: false` use it: pySigma prints nothing for it.
        expect: [
            ("lucene", Ok("")),
            ("splunk", Ok("")),
            ("eql", Ok("")),
            ("esql", Ok("")),
            ("kusto", Ok("")),
        ],
    },
    Case {
        name: "base_success",
        kind: Kind::NamedRule("successful_logon"),
        body: r#"selection:
    EventID: 4624
    LogonType: 3
condition: selection"#,
        // Only correlations with `generate: false` use it: pySigma prints nothing for it.
        expect: [
            ("lucene", Ok("")),
            ("splunk", Ok("")),
            ("eql", Ok("")),
            ("esql", Ok("")),
            ("kusto", Ok("")),
        ],
    },
    Case {
        name: "corr_event_count",
        kind: Kind::Correlation,
        body: r#"type: event_count
rules:
    - failed_logon
group-by:
    - TargetUserName
timespan: 5m
condition:
    gte: 10"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"correlation rules: not supported by lucene: a query string selects single events; correlating several events needs an aggregation or a sequence outside the query"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"EventID=4625

| bin _time span=5m
| stats count as event_count by _time TargetUserName

| search event_count >= 10"#),
            ),
            (
                "eql",
                Ok(r#"sequence by TargetUserName with maxspan=5m 
 [any where EventID == 4625]  with runs=10"#),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==4625
| eval timebucket=date_trunc(5minutes, @timestamp) | stats event_count=count() by timebucket, TargetUserName
| where event_count >= 10"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"EventID == 4625
| summarize event_count = count() by bin(TimeGenerated, 5m), TargetUserName
| where event_count >= 10"#),
            ),
        ],
    },
    Case {
        name: "corr_value_count",
        kind: Kind::Correlation,
        body: r#"type: value_count
rules:
    - failed_logon
group-by:
    - IpAddress
timespan: 1h
condition:
    gt: 5
    field: TargetUserName"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"correlation rules: not supported by lucene: a query string selects single events; correlating several events needs an aggregation or a sequence outside the query"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"EventID=4625

| bin _time span=1h
| stats dc(TargetUserName) as value_count by _time IpAddress

| search value_count > 5"#),
            ),
            (
                "eql",
                Err(
                    r#"correlation: eql cannot express `value_count` correlations: EQL sequences match events in order within a time span; they cannot count distinct values, sum, or match unordered events within a window"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where EventID==4625
| eval timebucket=date_trunc(1hours, @timestamp) | stats value_count=count_distinct(TargetUserName) by timebucket, IpAddress
| where value_count > 5"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"EventID == 4625
| summarize value_count = dcount(TargetUserName) by bin(TimeGenerated, 1h), IpAddress
| where value_count > 5"#),
            ),
        ],
    },
    Case {
        name: "corr_temporal",
        kind: Kind::Correlation,
        body: r#"type: temporal
rules:
    - failed_logon
    - successful_logon
group-by:
    - TargetUserName
timespan: 10m"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"correlation rules: not supported by lucene: a query string selects single events; correlating several events needs an aggregation or a sequence outside the query"#,
                ),
            ),
            (
                "splunk",
                Ok(r#"| multisearch
[ search EventID=4625 | eval event_type="failed_logon" ]
[ search EventID=4624 LogonType=3 | eval event_type="successful_logon" ]

| bin _time span=10m
| stats dc(event_type) as event_type_count by _time TargetUserName

| search event_type_count >= 2"#),
            ),
            (
                "eql",
                Err(
                    r#"correlation: eql cannot express `temporal` correlations: EQL sequences match events in order within a time span; they cannot count distinct values, sum, or match unordered events within a window"#,
                ),
            ),
            (
                "esql",
                Ok(
                    r#"from * metadata _id, _index, _version | where (EventID==4625) or (EventID==4624 and LogonType==3)
| eval event_type=case(EventID==4625, "failed_logon", EventID==4624 and LogonType==3, "successful_logon")
| eval timebucket=date_trunc(10minutes, @timestamp) | stats event_type_count=count_distinct(event_type) by timebucket, TargetUserName
| where event_type_count >= 2"#,
                ),
            ),
            (
                "kusto",
                Ok(r#"(EventID == 4625) or (EventID == 4624 and LogonType == 3)
| extend event_type = case(EventID == 4625, "failed_logon", EventID == 4624 and LogonType == 3, "successful_logon", "")
| summarize event_type_count = dcount(event_type) by bin(TimeGenerated, 10m), TargetUserName
| where event_type_count >= 2"#),
            ),
        ],
    },
    Case {
        name: "corr_temporal_ordered",
        kind: Kind::Correlation,
        body: r#"type: temporal_ordered
rules:
    - failed_logon
    - successful_logon
group-by:
    - TargetUserName
timespan: 10m"#,
        expect: [
            (
                "lucene",
                Err(
                    r#"correlation rules: not supported by lucene: a query string selects single events; correlating several events needs an aggregation or a sequence outside the query"#,
                ),
            ),
            (
                "splunk",
                Err(
                    r#"correlation: splunk cannot express `temporal_ordered` correlations: Splunk `stats` counts and aggregates per time bucket, but does not order the events of several rules"#,
                ),
            ),
            (
                "eql",
                Ok(r#"sequence by TargetUserName with maxspan=10m
  [any where EventID == 4625]
  [any where EventID == 4624 and LogonType == 3]"#),
            ),
            (
                "esql",
                Err(
                    r#"correlation: esql cannot express `temporal_ordered` correlations: ES|QL `stats` counts and aggregates per time bucket, but does not order the events of several rules"#,
                ),
            ),
            (
                "kusto",
                Err(
                    r#"correlation: kusto cannot express `temporal_ordered` correlations: `summarize` counts and aggregates per time bin, but does not order the events of several rules"#,
                ),
            ),
        ],
    },
];
