//! Golden tests of the evaluator: per modifier and per correlation type, the same rule on events
//! it must match and events it must not.

use std::path::Path;

use sigwiki::eval::{CorrelationState, Engine, Event, LogSourceTable, Scratch};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};

fn engine(yaml: &str) -> Engine {
    let file = parse_source(
        Path::new("golden.yml"),
        Path::new("golden.yml"),
        yaml.to_string(),
        &ParseOptions::default(),
    );
    assert!(
        !file.has_errors(),
        "rule has errors: {:?}",
        file.diagnostics
    );
    Engine::compile(&RuleSet::new(vec![file]), &LogSourceTable::embedded())
}

fn event(json: &str) -> Event {
    Event::from_json(&serde_json::from_str(json).expect("test event is JSON"))
}

/// Whether the first rule of `yaml` (with `detection` as given) matches the flat event.
fn matches(detection: &str, json: &str) -> bool {
    let yaml = format!(
        "title: golden\nid: 5f3d0c52-0000-4000-8000-000000000001\nlogsource:\n  product: windows\ndetection:\n{detection}\n"
    );
    let engine = engine(&yaml);
    assert!(
        engine.rules()[0].unevaluable.is_none(),
        "{:?}",
        engine.rules()[0].unevaluable
    );
    let mut scratch = Scratch::default();
    engine.matches(&event(json), &mut scratch).contains(&0)
}

/// Asserts the detection matches every event of `yes` and none of `no`.
fn golden(detection: &str, yes: &[&str], no: &[&str]) {
    for json in yes {
        assert!(
            matches(detection, json),
            "should match: {json}\n{detection}"
        );
    }
    for json in no {
        assert!(
            !matches(detection, json),
            "should not match: {json}\n{detection}"
        );
    }
}

#[test]
fn plain_values_are_case_insensitive_and_cased_is_not() {
    golden(
        "  sel:\n    Image: 'C:\\Windows\\CMD.exe'\n  condition: sel",
        &[r#"{"Image": "c:\\windows\\cmd.exe"}"#],
        &[r#"{"Image": "c:\\windows\\cmd.exe2"}"#, r#"{"Other": "x"}"#],
    );
    golden(
        "  sel:\n    Image|cased: 'CMD.exe'\n  condition: sel",
        &[r#"{"Image": "CMD.exe"}"#],
        &[r#"{"Image": "cmd.exe"}"#],
    );
}

#[test]
fn wildcards_and_escapes() {
    golden(
        "  sel:\n    CommandLine: 'a*b?c'\n  condition: sel",
        &[r#"{"CommandLine": "aXXbYc"}"#, r#"{"CommandLine": "abzc"}"#],
        &[r#"{"CommandLine": "abc"}"#, r#"{"CommandLine": "xaXbYc"}"#],
    );
    golden(
        "  sel:\n    CommandLine: 'lit\\*star'\n  condition: sel",
        &[r#"{"CommandLine": "lit*star"}"#],
        &[r#"{"CommandLine": "litXstar"}"#],
    );
}

#[test]
fn contains_startswith_endswith_all() {
    golden(
        "  sel:\n    CommandLine|contains: 'mimi'\n  condition: sel",
        &[r#"{"CommandLine": "run MIMIkatz now"}"#],
        &[r#"{"CommandLine": "mim ikatz"}"#],
    );
    golden(
        "  sel:\n    Image|startswith: 'C:\\Temp'\n  condition: sel",
        &[r#"{"Image": "c:\\temp\\x.exe"}"#],
        &[r#"{"Image": "d:\\c:\\temp"}"#],
    );
    golden(
        "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel",
        &[r#"{"Image": "c:\\temp\\X.EXE"}"#],
        &[r#"{"Image": "c:\\temp\\x.exe.txt"}"#],
    );
    golden(
        "  sel:\n    CommandLine|contains|all:\n      - '-enc'\n      - 'hidden'\n  condition: sel",
        &[r#"{"CommandLine": "powershell -w hidden -enc AAA"}"#],
        &[r#"{"CommandLine": "powershell -enc AAA"}"#],
    );
}

#[test]
fn regex_with_flags() {
    golden(
        "  sel:\n    CommandLine|re: '^a.b$'\n  condition: sel",
        &[r#"{"CommandLine": "aXb"}"#],
        &[r#"{"CommandLine": "AXB"}"#, r#"{"CommandLine": "a\nb"}"#],
    );
    golden(
        "  sel:\n    CommandLine|re|i|s: '^a.b$'\n  condition: sel",
        &[r#"{"CommandLine": "A\nB"}"#],
        &[r#"{"CommandLine": "AXXB"}"#],
    );
    golden(
        "  sel:\n    CommandLine|re|m: '^b$'\n  condition: sel",
        &[r#"{"CommandLine": "a\nb\nc"}"#],
        &[r#"{"CommandLine": "abc"}"#],
    );
}

#[test]
fn cidr() {
    golden(
        "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel",
        &[r#"{"DestinationIp": "10.20.30.40"}"#],
        &[
            r#"{"DestinationIp": "11.0.0.1"}"#,
            r#"{"DestinationIp": "fe80::1"}"#,
            r#"{"DestinationIp": "nope"}"#,
        ],
    );
    golden(
        "  sel:\n    DestinationIp|cidr: 'fe80::/10'\n  condition: sel",
        &[r#"{"DestinationIp": "fe80::1"}"#],
        &[r#"{"DestinationIp": "10.0.0.1"}"#],
    );
}

#[test]
fn base64_and_base64offset() {
    // "whoami" in Base64 is d2hvYW1p.
    golden(
        "  sel:\n    CommandLine|base64: 'whoami'\n  condition: sel",
        &[r#"{"CommandLine": "d2hvYW1p"}"#],
        &[
            r#"{"CommandLine": "x d2hvYW1p"}"#,
            r#"{"CommandLine": "whoami"}"#,
        ],
    );
    // The three offsets of "http": aHR0c, h0dH, odHRw.
    golden(
        "  sel:\n    CommandLine|base64offset|contains: 'http'\n  condition: sel",
        &[
            r#"{"CommandLine": "-e aHR0cDovL2V4"}"#,
            r#"{"CommandLine": "-e eGh0dHA6"}"#,
            r#"{"CommandLine": "-e eHhodHRwOi"}"#,
        ],
        &[r#"{"CommandLine": "http://x"}"#],
    );
}

#[test]
fn utf16_wide_and_base64() {
    // "cmd" as UTF-16LE then Base64: YwBtAGQA; as UTF-16BE: AGMAbQBk.
    golden(
        "  sel:\n    CommandLine|wide|base64offset|contains: 'cmd'\n  condition: sel",
        &[r#"{"CommandLine": "x YwBtAGQA y"}"#],
        &[r#"{"CommandLine": "Y21k"}"#],
    );
    golden(
        "  sel:\n    CommandLine|utf16le|base64: 'cmd'\n  condition: sel",
        &[r#"{"CommandLine": "YwBtAGQA"}"#],
        &[r#"{"CommandLine": "AGMAbQBk"}"#],
    );
    golden(
        "  sel:\n    CommandLine|utf16be|base64: 'cmd'\n  condition: sel",
        &[r#"{"CommandLine": "AGMAbQBk"}"#],
        &[r#"{"CommandLine": "YwBtAGQA"}"#],
    );
}

#[test]
fn windash() {
    golden(
        "  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel",
        &[
            r#"{"CommandLine": "ps -enc x"}"#,
            r#"{"CommandLine": "ps /enc x"}"#,
            "{\"CommandLine\": \"ps \u{2013}enc x\"}",
        ],
        &[r#"{"CommandLine": "ps enc x"}"#],
    );
}

#[test]
fn exists_and_null() {
    golden(
        "  sel:\n    ParentImage|exists: true\n  condition: sel",
        &[r#"{"ParentImage": "x"}"#, r#"{"ParentImage": ""}"#],
        &[r#"{"Image": "x"}"#],
    );
    golden(
        "  sel:\n    ParentImage|exists: false\n  condition: sel",
        &[r#"{"Image": "x"}"#],
        &[r#"{"ParentImage": "x"}"#],
    );
    golden(
        "  sel:\n    OriginalFileName: null\n  condition: sel",
        &[
            r#"{"Image": "x"}"#,
            r#"{"OriginalFileName": null}"#,
            r#"{"OriginalFileName": ""}"#,
        ],
        &[r#"{"OriginalFileName": "a.exe"}"#],
    );
}

#[test]
fn numbers_and_comparisons() {
    golden(
        "  sel:\n    DestinationPort: 445\n  condition: sel",
        &[
            r#"{"DestinationPort": 445}"#,
            r#"{"DestinationPort": "445"}"#,
        ],
        &[
            r#"{"DestinationPort": 4450}"#,
            r#"{"DestinationPort": "0445x"}"#,
        ],
    );
    golden(
        "  sel:\n    Size|gt: 100\n  condition: sel",
        &[r#"{"Size": 101}"#, r#"{"Size": "1000"}"#],
        &[r#"{"Size": 100}"#, r#"{"Size": "big"}"#, r#"{"Other": 1}"#],
    );
    golden(
        "  sel:\n    Size|gte: 100\n  condition: sel",
        &[r#"{"Size": 100}"#],
        &[r#"{"Size": 99.5}"#],
    );
    golden(
        "  sel:\n    Size|lt: 10\n  condition: sel",
        &[r#"{"Size": 9}"#],
        &[r#"{"Size": 10}"#],
    );
    golden(
        "  sel:\n    Size|lte: 10\n  condition: sel",
        &[r#"{"Size": 10}"#],
        &[r#"{"Size": 11}"#],
    );
}

#[test]
fn booleans() {
    golden(
        "  sel:\n    Enabled: true\n  condition: sel",
        &[r#"{"Enabled": true}"#, r#"{"Enabled": "True"}"#],
        &[r#"{"Enabled": false}"#],
    );
}

#[test]
fn fieldref() {
    golden(
        "  sel:\n    ParentImage|fieldref: Image\n  condition: sel",
        &[r#"{"Image": "C:\\a.exe", "ParentImage": "c:\\A.exe"}"#],
        &[
            r#"{"Image": "C:\\a.exe", "ParentImage": "C:\\b.exe"}"#,
            r#"{"ParentImage": "x"}"#,
        ],
    );
}

#[test]
fn neq() {
    golden(
        "  sel:\n    Image: '*'\n    User|neq: 'SYSTEM'\n  condition: sel",
        &[r#"{"Image": "a", "User": "bob"}"#],
        &[r#"{"Image": "a", "User": "system"}"#],
    );
}

#[test]
fn time_parts() {
    golden(
        "  sel:\n    UtcTime|hour: 3\n  condition: sel",
        &[r#"{"UtcTime": "2025-10-24 03:41:00.589"}"#],
        &[r#"{"UtcTime": "2025-10-24 13:41:00.589"}"#],
    );
    golden(
        "  sel:\n    UtcTime|month: 10\n  condition: sel",
        &[r#"{"UtcTime": "2025-10-24T03:41:00Z"}"#],
        &[r#"{"UtcTime": "2025-11-24T03:41:00Z"}"#],
    );
}

#[test]
fn keywords_search_every_value() {
    golden(
        "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords",
        &[
            r#"{"CommandLine": "run Mimikatz.exe"}"#,
            r#"{"a": {"b": "x sekurlsa::"}}"#,
        ],
        &[r#"{"CommandLine": "mimi katz"}"#],
    );
}

#[test]
fn conditions_selectors_and_negation() {
    let detection = "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  filter:\n    C: 1\n  condition: 1 of sel_* and not filter";
    golden(
        detection,
        &[r#"{"A": 1}"#, r#"{"B": 1, "C": 2}"#],
        &[r#"{"A": 1, "C": 1}"#, r#"{"D": 1}"#],
    );
    let detection = "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  condition: all of sel_*";
    golden(detection, &[r#"{"A": 1, "B": 1}"#], &[r#"{"A": 1}"#]);
    let detection = "  sel:\n    - A: 1\n    - B: 1\n  condition: sel";
    golden(detection, &[r#"{"B": 1}"#], &[r#"{"C": 1}"#]);
    let detection = "  sel:\n    A: 1\n  other:\n    B: 1\n  condition:\n    - sel\n    - other";
    golden(detection, &[r#"{"B": 1}"#], &[r#"{"C": 1}"#]);
}

#[test]
fn placeholders_and_pipe_aggregations_say_why_they_cannot_be_evaluated() {
    let compiled = engine(
        "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    User|expand: '%admins%'\n  condition: sel\n",
    );
    let reason = compiled.rules()[0]
        .unevaluable
        .clone()
        .expect("a placeholder");
    assert!(reason.contains("%admins%"), "{reason}");
    let compiled = engine(
        "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: 1\n  condition: sel | count() by B > 3\n",
    );
    assert!(
        compiled.rules()[0]
            .unevaluable
            .as_deref()
            .unwrap_or_default()
            .contains("count")
    );
}

#[test]
fn log_sources_and_field_renames() {
    let compiled = engine(
        "title: t\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n",
    );
    let mut scratch = Scratch::default();
    let sysmon = event(
        r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\Windows\\whoami.exe"}}}"#,
    );
    let security = event(
        r##"{"Event":{"System":{"EventID":{"#text":4688},"Channel":"Security"},"EventData":{"NewProcessName":"C:\\Windows\\whoami.exe"}}}"##,
    );
    let wrong_id = event(
        r#"{"Event":{"System":{"EventID":11,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\Windows\\whoami.exe"}}}"#,
    );
    let winlogbeat = event(
        r#"{"winlog":{"event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","event_data":{"Image":"C:\\Windows\\whoami.exe"}}}"#,
    );
    assert_eq!(compiled.matches(&sysmon, &mut scratch), &[0]);
    assert_eq!(compiled.matches(&security, &mut scratch), &[0]);
    assert!(compiled.matches(&wrong_id, &mut scratch).is_empty());
    assert_eq!(compiled.matches(&winlogbeat, &mut scratch), &[0]);
    let linux = engine_rule_product("linux");
    assert!(linux.matches(&sysmon, &mut scratch).is_empty());
}

fn engine_rule_product(product: &str) -> Engine {
    engine(&format!(
        "title: t\nlogsource:\n  category: process_creation\n  product: {product}\ndetection:\n  sel:\n    Image|endswith: 'whoami.exe'\n  condition: sel\n"
    ))
}

/// Events at `seconds` past a start, each `{"User": user, "Bytes": n, "Kind": kind}`.
fn timed(events: &[(i64, &str, i64, &str)]) -> Vec<Event> {
    events
        .iter()
        .map(|(s, user, bytes, kind)| {
            event(&format!(
                r#"{{"@timestamp": "2025-01-01T00:{:02}:{:02}Z", "User": "{user}", "Bytes": {bytes}, "Kind": "{kind}"}}"#,
                s / 60,
                s % 60
            ))
        })
        .collect()
}

const BASE_RULES: &str = "title: a\nname: rule_a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Kind: a\n  condition: sel\n---\ntitle: b\nname: rule_b\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Kind: b\n  condition: sel\n";

/// How often the correlation (the third document) fires over `events`.
fn fired(correlation: &str, events: &[Event]) -> usize {
    let engine = engine(&format!(
        "{BASE_RULES}---\ntitle: corr\ncorrelation:\n{correlation}\n"
    ));
    assert_eq!(engine.correlations().len(), 1);
    assert!(engine.correlations()[0].unevaluable.is_none());
    let mut scratch = Scratch::default();
    let mut other = Scratch::default();
    let mut state = CorrelationState::default();
    for e in events {
        let matched = engine.matches(e, &mut scratch).to_vec();
        engine.observe(e, &matched, &mut state, &mut other);
    }
    engine.correlation_results(&state)[0]
}

#[test]
fn event_count() {
    let c = "  type: event_count\n  rules: [rule_a]\n  group-by: [User]\n  timespan: 1m\n  condition:\n    gte: 3";
    let burst = timed(&[(0, "bob", 1, "a"), (10, "bob", 1, "a"), (20, "bob", 1, "a")]);
    assert_eq!(fired(c, &burst), 1);
    let spread = timed(&[
        (0, "bob", 1, "a"),
        (50, "bob", 1, "a"),
        (120, "bob", 1, "a"),
    ]);
    assert_eq!(fired(c, &spread), 0);
    let mixed = timed(&[(0, "bob", 1, "a"), (10, "eve", 1, "a"), (20, "bob", 1, "a")]);
    assert_eq!(fired(c, &mixed), 0);
}

#[test]
fn value_count() {
    let c = "  type: value_count\n  rules: [rule_a]\n  group-by: [Kind]\n  timespan: 1h\n  condition:\n    field: User\n    gte: 3";
    let many = timed(&[
        (0, "bob", 1, "a"),
        (10, "eve", 1, "a"),
        (20, "mallory", 1, "a"),
    ]);
    assert_eq!(fired(c, &many), 1);
    let same = timed(&[(0, "bob", 1, "a"), (10, "bob", 1, "a"), (20, "eve", 1, "a")]);
    assert_eq!(fired(c, &same), 0);
}

#[test]
fn temporal() {
    let c = "  type: temporal\n  rules: [rule_a, rule_b]\n  group-by: [User]\n  timespan: 1m";
    let both = timed(&[(0, "bob", 1, "b"), (30, "bob", 1, "a")]);
    assert_eq!(fired(c, &both), 1);
    let far = timed(&[(0, "bob", 1, "b"), (300, "bob", 1, "a")]);
    assert_eq!(fired(c, &far), 0);
}

#[test]
fn temporal_ordered() {
    let c =
        "  type: temporal_ordered\n  rules: [rule_a, rule_b]\n  group-by: [User]\n  timespan: 1m";
    let in_order = timed(&[(0, "bob", 1, "a"), (30, "bob", 1, "b")]);
    assert_eq!(fired(c, &in_order), 1);
    let reversed = timed(&[(0, "bob", 1, "b"), (30, "bob", 1, "a")]);
    assert_eq!(fired(c, &reversed), 0);
}

#[test]
fn value_sum_and_avg() {
    let sum = "  type: value_sum\n  rules: [rule_a]\n  group-by: [User]\n  timespan: 1h\n  condition:\n    field: Bytes\n    gt: 100";
    let big = timed(&[(0, "bob", 60, "a"), (10, "bob", 50, "a")]);
    assert_eq!(fired(sum, &big), 1);
    let small = timed(&[(0, "bob", 40, "a"), (10, "bob", 50, "a")]);
    assert_eq!(fired(sum, &small), 0);
    let avg = "  type: value_avg\n  rules: [rule_a]\n  group-by: [User]\n  timespan: 1h\n  condition:\n    field: Bytes\n    gt: 50";
    assert_eq!(
        fired(avg, &timed(&[(0, "bob", 40, "a"), (10, "bob", 100, "a")])),
        1
    );
    assert_eq!(
        fired(avg, &timed(&[(0, "bob", 40, "a"), (10, "bob", 50, "a")])),
        0
    );
}

#[test]
fn value_percentile() {
    // Fires when the event's value is at most 30 % of the window's events.
    let c = "  type: value_percentile\n  rules: [rule_a]\n  group-by: [Kind]\n  timespan: 1h\n  condition:\n    field: User\n    lte: 30";
    let rare = timed(&[
        (0, "bob", 1, "a"),
        (1, "bob", 1, "a"),
        (2, "bob", 1, "a"),
        (3, "bob", 1, "a"),
        (4, "eve", 1, "a"),
    ]);
    assert_eq!(fired(c, &rare), 1);
    let common = timed(&[(0, "bob", 1, "a"), (1, "bob", 1, "a")]);
    assert_eq!(fired(c, &common), 0);
}

/// A rule and a filter that tunes it, as two files of one rule set.
fn engine_with_filter(filter_condition: &str) -> Engine {
    let rule = "title: whoami\nid: 5f3d0c52-0000-4000-8000-0000000000f1\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
    let filter = format!(
        "title: admins\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules:\n    - 5f3d0c52-0000-4000-8000-0000000000f1\n  admin:\n    User|startswith: 'adm_'\n  condition: {filter_condition}\n"
    );
    let files = [("rule.yml", rule.to_string()), ("filter.yml", filter)]
        .into_iter()
        .map(|(name, text)| {
            let file = parse_source(
                Path::new(name),
                Path::new(name),
                text,
                &ParseOptions::default(),
            );
            assert!(!file.has_errors(), "{:?}", file.diagnostics);
            file
        })
        .collect();
    Engine::compile(&RuleSet::new(files), &LogSourceTable::embedded())
}

fn sysmon_process(user: &str) -> Event {
    event(&format!(
        r#"{{"Event":{{"System":{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"Image":"C:\\Windows\\whoami.exe","User":"{user}"}}}}}}"#
    ))
}

#[test]
fn filters_tune_the_rules_they_name_when_evaluating() {
    let mut scratch = Scratch::default();
    let excluding = engine_with_filter("not admin");
    assert_eq!(excluding.rules().len(), 1);
    assert_eq!(
        excluding.matches(&sysmon_process("alice"), &mut scratch),
        &[0]
    );
    assert!(
        excluding
            .matches(&sysmon_process("adm_bob"), &mut scratch)
            .is_empty(),
        "the filter excludes administrators"
    );
    assert!(!excluding.matches_rule(0, &sysmon_process("adm_bob"), &mut scratch));
    assert!(excluding.matches_rule(0, &sysmon_process("alice"), &mut scratch));
    // A filter's condition narrows: `admin` alone keeps only administrators.
    let narrowing = engine_with_filter("admin");
    assert!(
        narrowing
            .matches(&sysmon_process("alice"), &mut scratch)
            .is_empty()
    );
    assert_eq!(
        narrowing.matches(&sysmon_process("adm_bob"), &mut scratch),
        &[0]
    );
}

#[test]
fn events_without_a_channel_are_tested_against_every_rule_on_its_own_field_names() {
    let windows = engine(
        "title: t\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n",
    );
    let linux = engine(
        "title: t\nlogsource:\n  category: process_creation\n  product: linux\ndetection:\n  sel:\n    Image|endswith: '/whoami'\n  condition: sel\n",
    );
    let mut scratch = Scratch::default();
    let flat_windows = event(r#"{"Image":"C:\\Windows\\whoami.exe","EventID":1}"#);
    let flat_linux = event(r#"{"Image":"/usr/bin/whoami"}"#);
    // No channel: no log source to go by, every rule is tested on the fields it names.
    assert_eq!(windows.matches(&flat_windows, &mut scratch), &[0]);
    assert_eq!(linux.matches(&flat_linux, &mut scratch), &[0]);
    assert!(windows.matches(&flat_linux, &mut scratch).is_empty());
    // Without a channel, the names of a log source's other recording (Security 4688's
    // `NewProcessName`) are not tried: the rule's own `Image` is what is looked for.
    let security_shape = event(r#"{"NewProcessName":"C:\\Windows\\whoami.exe","EventID":4688}"#);
    assert!(windows.matches(&security_shape, &mut scratch).is_empty());
    // With a channel, the log source decides: a Linux rule never sees a Windows event.
    let sysmon = sysmon_process("alice");
    assert!(linux.matches(&sysmon, &mut scratch).is_empty());
    assert_eq!(windows.matches(&sysmon, &mut scratch), &[0]);
}
