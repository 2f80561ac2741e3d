//! The legacy sigmac family (`es-qs`, `graylog`, `xpack-watcher`) and field mappings, through
//! the library and the `sigwiki convert` command line.
//!
//! The golden cases are small rules that each stress one construct. Those marked `sigmac: true`
//! print exactly what sigmac 0.23.1 prints (checked against it with the reference install);
//! the others are constructs where sigmac failed or was wrong, with the output we chose (see
//! `src/convert/legacy.rs`).

mod common;

use std::path::Path;

use assert_cmd::Command;
use sigwiki::convert::{self, mapping::FieldMapping};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};

struct Case {
    name: &'static str,
    /// Whether the expected output is byte for byte what sigmac 0.23.1 prints.
    sigmac: bool,
    /// The `detection` section (indented by two spaces).
    detection: &'static str,
    /// The es-qs query, or a fragment of the refusal.
    es_qs: Result<&'static str, &'static str>,
    /// The graylog query when it differs from es-qs.
    graylog: Option<Result<&'static str, &'static str>>,
}

const CASES: &[Case] = &[
    Case {
        name: "keywords_all_with_number",
        sigmac: false,
        detection: r#"  keywords:
    '|all':
      - POST
      - 200
  condition: keywords
"#,
        es_qs: Ok(r#"\*.keyword:(*POST* AND *200*)"#),
        graylog: None,
    },
    Case {
        name: "all",
        sigmac: true,
        detection: r#"  sel:
    A|contains|all: [a, b]
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:*a* AND A.keyword:*b*)"#),
        graylog: None,
    },
    Case {
        name: "all_of_keyword_list",
        sigmac: true,
        detection: r#"  keywords:
    - alpha
    - beta
  condition: all of keywords
"#,
        es_qs: Ok(r#"\*.keyword:(*alpha* AND *beta*)"#),
        graylog: None,
    },
    Case {
        name: "all_of_pattern",
        sigmac: true,
        detection: r#"  selection_a:
    Image|endswith: '\a.exe'
  selection_b:
    CommandLine|contains: 'x y'
  condition: all of selection_*
"#,
        es_qs: Ok(r#"(Image.keyword:*\\a.exe AND CommandLine.keyword:*x\ y*)"#),
        graylog: None,
    },
    Case {
        name: "all_of_them",
        sigmac: true,
        detection: r#"  sel:
    A: x
  other:
    B|startswith: y
  condition: all of them
"#,
        es_qs: Ok(r#"(A:"x" AND B.keyword:y*)"#),
        graylog: None,
    },
    Case {
        name: "all_with_other_field",
        sigmac: true,
        detection: r#"  sel:
    A|contains|all: ['a b', 'c:d']
    Image|endswith: ['\x.exe', '\y.exe']
  condition: sel
"#,
        es_qs: Ok(
            r#"(A.keyword:*a\ b* AND A.keyword:*c\:d* AND Image.keyword:(*\\x.exe OR *\\y.exe))"#,
        ),
        graylog: Some(Ok(
            r#"(A.keyword:*a\ b* AND A.keyword:*c\:d* AND Image.keyword:(*\\x.exe *\\y.exe))"#,
        )),
    },
    Case {
        name: "and_chain_with_not",
        sigmac: true,
        detection: r#"  a:
    A: 1
  b:
    B: 2
  c:
    C: 3
  condition: a and not b and c
"#,
        es_qs: Ok(r#"(A:"1" AND (NOT (B:"2")) AND C:"3")"#),
        graylog: None,
    },
    Case {
        name: "base64offset",
        sigmac: true,
        detection: r#"  sel:
    CommandLine|base64offset|contains: '::FromBase64String'
  condition: sel
"#,
        es_qs: Ok(
            r#"(CommandLine.keyword:*OjpGcm9tQmFzZTY0U3RyaW5n* OR CommandLine.keyword:*o6RnJvbUJhc2U2NFN0cmluZ* OR CommandLine.keyword:*6OkZyb21CYXNlNjRTdHJpbm*)"#,
        ),
        graylog: None,
    },
    Case {
        name: "contains",
        sigmac: true,
        detection: r#"  sel:
    A|contains: axios
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:*axios*"#),
        graylog: None,
    },
    Case {
        name: "duplicates",
        sigmac: true,
        detection: r#"  sel1:
    A: x
  sel2:
    A: x
  condition: sel1 or sel2
"#,
        es_qs: Ok(r#"A:"x""#),
        graylog: None,
    },
    Case {
        name: "empty_string",
        sigmac: true,
        detection: r#"  sel:
    A: ''
  condition: sel
"#,
        es_qs: Ok(r#"A:"""#),
        graylog: None,
    },
    Case {
        name: "equals_sign_graylog",
        sigmac: true,
        detection: r#"  sel:
    query|contains: '=='
  condition: sel
"#,
        es_qs: Ok(r#"query.keyword:*\=\=*"#),
        graylog: Some(Ok(r#"query.keyword:*==*"#)),
    },
    Case {
        name: "escaped_backslash_star",
        sigmac: true,
        detection: r#"  sel:
    ShareName: '\\\\\*\\IPC$'
  condition: sel
"#,
        es_qs: Ok(r#"ShareName.keyword:\\\\\*\\IPC$"#),
        graylog: None,
    },
    Case {
        name: "escaped_wildcards",
        sigmac: true,
        detection: r#"  sel:
    A: 'lit\*star'
  condition: sel
"#,
        es_qs: Ok(r#"A:"lit\*star""#),
        graylog: None,
    },
    Case {
        name: "keyword_after_term",
        sigmac: true,
        detection: r#"  sel:
    A: x
  keywords:
    - REPLACE
  condition: sel and keywords
"#,
        es_qs: Ok(r#"(A:"x" AND "REPLACE")"#),
        graylog: None,
    },
    Case {
        name: "keyword_list",
        sigmac: true,
        detection: r#"  keywords:
    - 'two words'
    - 'with"quote'
    - 'star*inside'
    - 5
  condition: keywords
"#,
        es_qs: Ok(r#"\*.keyword:(*two\ words* OR *with\"quote* OR *star*inside* OR 5)"#),
        graylog: None,
    },
    Case {
        name: "keyword_single",
        sigmac: true,
        detection: r#"  keywords:
    - 'REPLACE'
  condition: keywords
"#,
        es_qs: Ok(r#"REPLACE"#),
        graylog: None,
    },
    Case {
        name: "keyword_single_escaped",
        sigmac: true,
        detection: r#"  keywords:
    - '.git/'
  condition: keywords
"#,
        es_qs: Ok(r#".git\/"#),
        graylog: None,
    },
    Case {
        name: "list_of_maps",
        sigmac: true,
        detection: r#"  sel:
    - A: 1
      B: 2
    - C: 3
  condition: sel
"#,
        es_qs: Ok(r#"((A:"1" AND B:"2") OR C:"3")"#),
        graylog: None,
    },
    Case {
        name: "mixed_list",
        sigmac: true,
        detection: r#"  sel:
    A:
      - plain
      - 'wild*'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:(plain OR wild*)"#),
        graylog: Some(Ok(r#"A.keyword:(plain wild*)"#)),
    },
    Case {
        name: "negative_number",
        sigmac: true,
        detection: r#"  sel:
    Code: -1
  condition: sel
"#,
        es_qs: Ok(r#"Code:"\-1""#),
        graylog: None,
    },
    Case {
        name: "not_group",
        sigmac: true,
        detection: r#"  a:
    A: 1
  b:
    B: 2
    C: 3
  condition: not (a or b)
"#,
        es_qs: Ok(r#"(NOT ((A:"1" OR (B:"2" AND C:"3"))))"#),
        graylog: None,
    },
    Case {
        name: "not_list_of_maps",
        sigmac: true,
        detection: r#"  sel:
    X: 0
  filter:
    - A: 1
      B: 2
    - C: 3
  condition: sel and not filter
"#,
        es_qs: Ok(r#"(X:"0" AND (NOT (A:"1" AND B:"2" OR C:"3")))"#),
        graylog: None,
    },
    Case {
        name: "not_null",
        sigmac: true,
        detection: r#"  sel:
    User: null
  condition: not sel
"#,
        es_qs: Ok(r#"(NOT (NOT _exists_:User))"#),
        graylog: None,
    },
    Case {
        name: "not_one_of",
        sigmac: true,
        detection: r#"  sel_a:
    A: x
  sel_b:
    B|startswith: y
  filter_a:
    C|endswith: z
  filter_b:
    D: 1
  condition: 1 of sel_* and not 1 of filter_*
"#,
        es_qs: Ok(r#"((A:"x" OR B.keyword:y*) AND (NOT ((C.keyword:*z) OR (D:"1"))))"#),
        graylog: None,
    },
    Case {
        name: "null_value",
        sigmac: true,
        detection: r#"  sel:
    A: x
    B: null
  condition: sel
"#,
        es_qs: Ok(r#"(A:"x" AND NOT _exists_:B)"#),
        graylog: None,
    },
    Case {
        name: "number",
        sigmac: true,
        detection: r#"  sel:
    EventID: 4624
  condition: sel
"#,
        es_qs: Ok(r#"EventID:"4624""#),
        graylog: None,
    },
    Case {
        name: "number_list",
        sigmac: true,
        detection: r#"  sel:
    EventID: [4624, 4625]
  condition: sel
"#,
        es_qs: Ok(r#"EventID:("4624" OR "4625")"#),
        graylog: Some(Ok(r#"EventID:("4624" "4625")"#)),
    },
    Case {
        name: "one_of_list_definition",
        sigmac: true,
        detection: r#"  sel:
    - A: 1
    - B: 2
  condition: all of sel
"#,
        es_qs: Ok(r#"(A:"1" AND B:"2")"#),
        graylog: None,
    },
    Case {
        name: "one_of_pattern",
        sigmac: true,
        detection: r#"  selection_a:
    Image|endswith: '\csexec.exe'
  selection_b:
    Description: csexec
  condition: 1 of selection_*
"#,
        es_qs: Ok(r#"(Image.keyword:*\\csexec.exe OR Description:"csexec")"#),
        graylog: None,
    },
    Case {
        name: "plain_string",
        sigmac: true,
        detection: r#"  sel:
    A: x
  condition: sel
"#,
        es_qs: Ok(r#"A:"x""#),
        graylog: None,
    },
    Case {
        name: "regex_anchors",
        sigmac: true,
        detection: r#"  sel:
    A|re: '^ab.*c$'
    B|re: '^x'
    C|re: 'y$'
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:/ab.*c/ AND B.keyword:/x.*/ AND C.keyword:/.*y/)"#),
        graylog: None,
    },
    Case {
        name: "regex_slash",
        sigmac: false,
        detection: r#"  sel:
    A|re: 'https?://x'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:/https?:\/\/x/"#),
        graylog: None,
    },
    Case {
        name: "seed_shape",
        sigmac: true,
        detection: r#"  selection:
    EventID: 3
    Image|endswith: '\rundll32.exe'
  filter:
    DestinationIp|startswith: ['10.', '192.168.', '172.']
  condition: selection and not filter
"#,
        es_qs: Ok(
            r#"((EventID:"3" AND Image.keyword:*\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))"#,
        ),
        graylog: Some(Ok(
            r#"((EventID:"3" AND Image.keyword:*\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* 192.168.* 172.*))))"#,
        )),
    },
    Case {
        name: "specials",
        sigmac: true,
        detection: r#"  sel:
    A:
      - 'say "hi" & <b>'
      - 'a+b-c=d!e(f)g{h}i[j]k^l~m:n/o|p'
      - 'x && y || z'
  condition: sel
"#,
        es_qs: Ok(
            r#"A:("say\ \"hi\"\ &\ <b>" OR "a\+b\-c\=d\!e\(f\)g\{h\}i\[j\]k\^l\~m\:n\/o|p" OR "x\ \&&\ y\ \||\ z")"#,
        ),
        graylog: Some(Ok(
            r#"A:("say\ \"hi\"\ &\ <b>" "a\+b\-c=d\!e\(f\)g\{h\}i\[j\]k\^l\~m\:n\/o|p" "x\ \&&\ y\ \||\ z")"#,
        )),
    },
    Case {
        name: "startswith_endswith",
        sigmac: true,
        detection: r#"  sel:
    A|startswith: efs
    B|endswith: '\\cmd.exe'
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:efs* AND B.keyword:*\\cmd.exe)"#),
        graylog: None,
    },
    Case {
        name: "trailing_backslash_startswith",
        sigmac: true,
        detection: r#"  sel:
    A|startswith: '\\\\'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:\\\\\*"#),
        graylog: None,
    },
    Case {
        name: "unicode_space",
        sigmac: true,
        detection: r#"  sel:
    A: "a\u00a0b"
  condition: sel
"#,
        es_qs: Ok(r#"A:"a\ b""#),
        graylog: None,
    },
    Case {
        name: "wildcards",
        sigmac: true,
        detection: r#"  sel:
    A: 'a?b*c'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:a?b*c"#),
        graylog: None,
    },
    Case {
        name: "windash_no_dash_list",
        sigmac: true,
        detection: r#"  sel:
    CommandLine|windash|contains: [foo, bar]
  condition: sel
"#,
        es_qs: Ok(r#"CommandLine.keyword:(*foo* OR *bar*)"#),
        graylog: Some(Ok(r#"CommandLine.keyword:(*foo* *bar*)"#)),
    },
    Case {
        name: "windash_single",
        sigmac: true,
        detection: r#"  sel:
    CommandLine|contains|windash: ' -accepteula'
  condition: sel
"#,
        es_qs: Ok(
            r#"(CommandLine.keyword:*\ \-accepteula* OR CommandLine.keyword:*\ \/accepteula*)"#,
        ),
        graylog: None,
    },
    Case {
        name: "windows_path",
        sigmac: true,
        detection: r#"  sel:
    Image: 'C:\Windows\System32\cmd.exe'
  condition: sel
"#,
        es_qs: Ok(r#"Image:"C\:\\Windows\\System32\\cmd.exe""#),
        graylog: None,
    },
    Case {
        name: "aggregation",
        sigmac: false,
        detection: r#"  sel:
    EventID: 4625
  condition: sel | count() by TargetUserName > 5
"#,
        es_qs: Err(r#"a query string selects events; it cannot count or aggregate "#),
        graylog: Some(Err(
            r#"a query string selects events; it cannot count or aggregate "#,
        )),
    },
    Case {
        name: "base64offset_list",
        sigmac: false,
        detection: r#"  sel:
    A|base64offset|contains: ['ab', 'cd']
  condition: sel
"#,
        es_qs: Ok(
            r#"(A.keyword:*YW* OR A.keyword:*Fi* OR A.keyword:*hY* OR A.keyword:*Y2* OR A.keyword:*Nk* OR A.keyword:*jZ*)"#,
        ),
        graylog: None,
    },
    Case {
        name: "bool_list",
        sigmac: false,
        detection: r#"  sel:
    Initiated: ['true', false]
  condition: sel
"#,
        es_qs: Ok(r#"Initiated:("true" OR "false")"#),
        graylog: Some(Ok(r#"Initiated:("true" "false")"#)),
    },
    Case {
        name: "bool_true",
        sigmac: false,
        detection: r#"  sel:
    Signed: true
  condition: sel
"#,
        es_qs: Ok(r#"Signed:"true""#),
        graylog: None,
    },
    Case {
        name: "cased",
        sigmac: false,
        detection: r#"  sel:
    A|cased: MiXeD
    B|cased|contains: Part
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:MiXeD AND B.keyword:*Part*)"#),
        graylog: None,
    },
    Case {
        name: "cidr_host",
        sigmac: false,
        detection: r#"  sel:
    DestinationIp|cidr: '52.238.78.88/32'
  condition: sel
"#,
        es_qs: Ok(r#"DestinationIp.keyword:52.238.78.88"#),
        graylog: None,
    },
    Case {
        name: "cidr_ipv6",
        sigmac: false,
        detection: r#"  sel:
    DestinationIp|cidr: 'fe80::/10'
  condition: sel
"#,
        es_qs: Ok(r#"DestinationIp:"fe80\:\:\/10""#),
        graylog: None,
    },
    Case {
        name: "cidr_list",
        sigmac: false,
        detection: r#"  sel:
    DestinationIp|cidr: ['127.0.0.0/8', '::1/128', '192.168.0.0/16']
  condition: not sel
"#,
        es_qs: Ok(
            r#"(NOT (DestinationIp.keyword:(127.* OR 192.168.*) OR DestinationIp:"\:\:1\/128"))"#,
        ),
        graylog: Some(Ok(
            r#"(NOT (DestinationIp.keyword:(127.* 192.168.*) OR DestinationIp:"\:\:1\/128"))"#,
        )),
    },
    Case {
        name: "cidr_octet",
        sigmac: false,
        detection: r#"  sel:
    DestinationIp|cidr: '10.0.0.0/8'
  condition: sel
"#,
        es_qs: Ok(r#"DestinationIp.keyword:10.*"#),
        graylog: None,
    },
    Case {
        name: "cidr_partial",
        sigmac: false,
        detection: r#"  sel:
    DestinationIp|cidr: '172.16.0.0/12'
  condition: sel
"#,
        es_qs: Ok(
            r#"DestinationIp.keyword:(172.16.* OR 172.17.* OR 172.18.* OR 172.19.* OR 172.20.* OR 172.21.* OR 172.22.* OR 172.23.* OR 172.24.* OR 172.25.* OR 172.26.* OR 172.27.* OR 172.28.* OR 172.29.* OR 172.30.* OR 172.31.*)"#,
        ),
        graylog: Some(Ok(
            r#"DestinationIp.keyword:(172.16.* 172.17.* 172.18.* 172.19.* 172.20.* 172.21.* 172.22.* 172.23.* 172.24.* 172.25.* 172.26.* 172.27.* 172.28.* 172.29.* 172.30.* 172.31.*)"#,
        )),
    },
    Case {
        name: "compare",
        sigmac: false,
        detection: r#"  sel:
    A|gt: 5
    B|gte: -1
    C|lt: 10
    D|lte: 1.5
  condition: sel
"#,
        es_qs: Ok(r#"(A:>5 AND B:>=\-1 AND C:<10 AND D:<=1.5)"#),
        graylog: None,
    },
    Case {
        name: "exists",
        sigmac: false,
        detection: r#"  sel:
    A|exists: true
    B|exists: false
  condition: sel
"#,
        es_qs: Ok(r#"(_exists_:A AND NOT _exists_:B)"#),
        graylog: None,
    },
    Case {
        name: "expand",
        sigmac: false,
        detection: r#"  sel:
    A|expand: '%servers%'
  condition: sel
"#,
        es_qs: Err(r#"`%name%` stands for a list kept outside the rule (user group"#),
        graylog: Some(Err(
            r#"`%name%` stands for a list kept outside the rule (user group"#,
        )),
    },
    Case {
        name: "fieldref",
        sigmac: false,
        detection: r#"  sel:
    A|fieldref: B
  condition: sel
"#,
        es_qs: Err(r#"a Lucene query tests each field against constant values; it "#),
        graylog: Some(Err(
            r#"a Lucene query tests each field against constant values; it "#,
        )),
    },
    Case {
        name: "float",
        sigmac: false,
        detection: r#"  sel:
    A: 1.5
  condition: sel
"#,
        es_qs: Ok(r#"A:"1.5""#),
        graylog: None,
    },
    Case {
        name: "hour",
        sigmac: false,
        detection: r#"  sel:
    T|hour: 3
  condition: sel
"#,
        es_qs: Err(r#"a Lucene query cannot extract the hour, day, week, month or "#),
        graylog: Some(Err(
            r#"a Lucene query cannot extract the hour, day, week, month or "#,
        )),
    },
    Case {
        name: "keywords_all",
        sigmac: false,
        detection: r#"  sel:
    type: EXECVE
  keywords:
    '|all':
      - grep
      - password
  condition: sel and keywords
"#,
        es_qs: Ok(r#"(type:"EXECVE" AND \*.keyword:(*grep* AND *password*))"#),
        graylog: None,
    },
    Case {
        name: "keywords_all_alone",
        sigmac: false,
        detection: r#"  keywords:
    '|all':
      - 'a b'
      - c
  condition: keywords
"#,
        es_qs: Ok(r#"\*.keyword:(*a\ b* AND *c*)"#),
        graylog: None,
    },
    Case {
        name: "near",
        sigmac: false,
        detection: r#"  a:
    A: 1
  b:
    B: 1
  timeframe: 5m
  condition: a | near b
"#,
        es_qs: Err(r#"`| near` needs events to be correlated over time, which one "#),
        graylog: Some(Err(
            r#"`| near` needs events to be correlated over time, which one "#,
        )),
    },
    Case {
        name: "neq",
        sigmac: false,
        detection: r#"  sel:
    A|neq: x
    B: y
  condition: sel
"#,
        es_qs: Ok(r#"((NOT A:"x") AND B:"y")"#),
        graylog: None,
    },
    Case {
        name: "not_not",
        sigmac: false,
        detection: r#"  sel:
    A: 1
  condition: not (not sel)
"#,
        es_qs: Ok(r#"(NOT ((NOT (A:"1"))))"#),
        graylog: None,
    },
    Case {
        name: "regex_dotall",
        sigmac: false,
        detection: r#"  sel:
    A|re|s: 'a.b'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:/a.b/"#),
        graylog: None,
    },
    Case {
        name: "regex_ignore_case",
        sigmac: false,
        detection: r#"  sel:
    A|re|i: 'ab[c-e]\d'
  condition: sel
"#,
        es_qs: Ok(r#"A.keyword:/[aA][bB][c-eC-E]\d/"#),
        graylog: None,
    },
    Case {
        name: "regex_list",
        sigmac: false,
        detection: r#"  sel:
    A|re: ['^a', 'b$']
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:/a.*/ OR A.keyword:/.*b/)"#),
        graylog: None,
    },
    Case {
        name: "regex_list_all",
        sigmac: false,
        detection: r#"  sel:
    A|re|all: ['a', 'b']
  condition: sel
"#,
        es_qs: Ok(r#"(A.keyword:/a/ AND A.keyword:/b/)"#),
        graylog: None,
    },
    Case {
        name: "regex_multiline",
        sigmac: false,
        detection: r#"  sel:
    A|re|m: '^ab'
  condition: sel
"#,
        es_qs: Err(r#"Elasticsearch regular expressions always match the whole val"#),
        graylog: None,
    },
    Case {
        name: "two_conditions",
        sigmac: false,
        detection: r#"  a:
    A: 1
  b:
    B: 2
  condition:
    - a
    - b
"#,
        es_qs: Ok(r#"(A:"1") OR (B:"2")"#),
        graylog: None,
    },
    Case {
        name: "wide_base64offset_list",
        sigmac: false,
        detection: r#"  sel:
    A|wide|base64offset|contains: ['ab', 'cd']
  condition: sel
"#,
        es_qs: Ok(
            r#"(A.keyword:*YQBiA* OR A.keyword:*EAYg* OR A.keyword:*hAGIA* OR A.keyword:*YwBkA* OR A.keyword:*MAZA* OR A.keyword:*jAGQA*)"#,
        ),
        graylog: None,
    },
    Case {
        name: "windash_list",
        sigmac: false,
        detection: r#"  sel:
    CommandLine|contains|windash: [' -a ', ' -b ']
  condition: sel
"#,
        es_qs: Ok(
            r#"(CommandLine.keyword:*\ \-a\ * OR CommandLine.keyword:*\ \/a\ * OR CommandLine.keyword:*\ \-b\ * OR CommandLine.keyword:*\ \/b\ *)"#,
        ),
        graylog: None,
    },
    Case {
        name: "windash_list_mixed",
        sigmac: false,
        detection: r#"  sel:
    CommandLine|contains|windash: [' -a ', 'plain']
  condition: sel
"#,
        es_qs: Ok(
            r#"(CommandLine.keyword:*\ \-a\ * OR CommandLine.keyword:*\ \/a\ * OR CommandLine.keyword:*plain*)"#,
        ),
        graylog: None,
    },
];

fn rule_text(name: &str, detection: &str) -> String {
    format!("title: {name}\nlogsource:\n  product: windows\ndetection:\n{detection}")
}

fn convert_text(
    target: &str,
    text: &str,
    mapping: Option<&FieldMapping>,
) -> Result<String, String> {
    let file = parse_source(
        Path::new("rule.yml"),
        Path::new("rule.yml"),
        text.to_string(),
        &ParseOptions::default(),
    );
    let rules = RuleSet::new(vec![file]);
    let backend = convert::backend(target).expect("target is registered");
    convert::convert_file_with(backend, &rules.files[0], &rules, mapping).map_err(|e| e.to_string())
}

fn check(target: &str, case: &Case, expected: Result<&str, &str>) -> Option<String> {
    let got = convert_text(target, &rule_text(case.name, case.detection), None);
    let ok = match (&got, expected) {
        (Ok(out), Ok(want)) => out.strip_suffix('\n') == Some(want),
        (Err(e), Err(fragment)) => e.contains(fragment),
        _ => false,
    };
    (!ok).then(|| format!("{target} {}: expected {expected:?}, got {got:?}", case.name))
}

#[test]
fn golden_cases_es_qs_and_graylog() {
    let mut failures = Vec::new();
    for case in CASES {
        failures.extend(check("es-qs", case, case.es_qs));
        failures.extend(check("graylog", case, case.graylog.unwrap_or(case.es_qs)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 60);
    assert!(CASES.iter().filter(|c| c.sigmac).count() >= 35);
}

#[test]
fn watcher_query_is_the_es_qs_query() {
    for case in CASES {
        let text = rule_text(case.name, case.detection);
        let (Ok(query), Ok(watch)) = (
            convert_text("es-qs", &text, None),
            convert_text("xpack-watcher", &text, None),
        ) else {
            continue;
        };
        if watch.matches("<<EOF\n").count() > 1 {
            // One watch per condition; the es-qs query is their OR.
            continue;
        }
        let body = watch
            .split_once("<<EOF\n")
            .and_then(|(_, rest)| rest.strip_suffix("\nEOF\n\n"))
            .unwrap_or_else(|| panic!("{}: not a curl document: {watch}", case.name));
        let json: serde_json::Value = serde_json::from_str(body).expect("the watch is JSON");
        let inner = &json["input"]["search"]["request"]["body"]["query"]["bool"]["must"][0]["query_string"]
            ["query"];
        assert_eq!(inner.as_str(), Some(query.trim_end()), "{}", case.name);
        assert_eq!(json["metadata"]["query"], *inner, "{}", case.name);
    }
}

/// A rule shaped like the reference page's rule (written for this test).
const RUNDLL32_RULE: &str = r"title: Rundll32 Network Activity
id: 0c4f2d5e-4f7a-4a57-9d0e-6f0b8e1f6a10
status: test
description: Rundll32 talking to public addresses
tags:
  - attack.defense-evasion
  - attack.t1218.011
logsource:
  product: windows
  service: sysmon
detection:
  selection:
    EventID: 3
    Image|endswith: '\rundll32.exe'
  filter:
    DestinationIp|startswith:
      - '10.'
      - '192.168.'
      - '172.'
  condition: selection and not filter
level: medium
";

#[test]
fn seed_shape_matches_the_reference_outputs() {
    // converter-reference.md §2.1, sigmac --shoot-yourself-in-the-foot / -t graylog / -c winlogbeat
    // / -c winlogbeat-modules-enabled.
    assert_eq!(
        convert_text("es-qs", RUNDLL32_RULE, None).unwrap(),
        "((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))\n"
    );
    assert_eq!(
        convert_text("graylog", RUNDLL32_RULE, None).unwrap(),
        "((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* 192.168.* 172.*))))\n"
    );
    let winlogbeat = FieldMapping::builtin("winlogbeat").unwrap().unwrap();
    assert_eq!(
        convert_text("es-qs", RUNDLL32_RULE, Some(&winlogbeat)).unwrap(),
        "(winlog.channel:\"Microsoft\\-Windows\\-Sysmon\\/Operational\" AND (winlog.event_id:\"3\" AND winlog.event_data.Image.keyword:*\\\\rundll32.exe) AND (NOT (winlog.event_data.DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))\n"
    );
    let ecs = FieldMapping::builtin("ecs-windows").unwrap().unwrap();
    assert_eq!(
        convert_text("es-qs", RUNDLL32_RULE, Some(&ecs)).unwrap(),
        "(winlog.channel:\"Microsoft\\-Windows\\-Sysmon\\/Operational\" AND (event.code:\"3\" AND process.executable.keyword:*\\\\rundll32.exe) AND (NOT (destination.ip.keyword:(10.* OR 192.168.* OR 172.*))))\n"
    );
    // The mapping works the same for every target.
    assert_eq!(
        convert_text("graylog", RUNDLL32_RULE, Some(&ecs)).unwrap(),
        "(winlog.channel:\"Microsoft\\-Windows\\-Sysmon\\/Operational\" AND (event.code:\"3\" AND process.executable.keyword:*\\\\rundll32.exe) AND (NOT (destination.ip.keyword:(10.* 192.168.* 172.*))))\n"
    );
}

#[test]
fn watcher_document_is_sigmacs() {
    let watch = convert_text("xpack-watcher", RUNDLL32_RULE, None).unwrap();
    let expected = r#"curl -s -XPUT -H 'Content-Type: application/json' --data-binary @- localhost:9200/_watcher/watch/0c4f2d5e-4f7a-4a57-9d0e-6f0b8e1f6a10 <<EOF
{
  "metadata": {
    "name": "Rundll32 Network Activity",
    "description": "Rundll32 talking to public addresses",
    "tags": [
      "attack.defense-evasion",
      "attack.t1218.011"
    ],
    "query": "((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))"
  },
  "trigger": {
    "schedule": {
      "interval": "30m"
    }
  },
  "input": {
    "search": {
      "request": {
        "body": {
          "size": 0,
          "query": {
            "bool": {
              "must": [
                {
                  "query_string": {
                    "query": "((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))",
                    "analyze_wildcard": true
                  }
                }
              ],
              "filter": {
                "range": {
                  "timestamp": {
                    "gte": "now-30m/m"
                  }
                }
              }
            }
          }
        },
        "indices": []
      }
    }
  },
  "condition": {
    "compare": {
      "ctx.payload.hits.total": {
        "not_eq": 0
      }
    }
  },
  "actions": {
    "send_email": {
      "throttle_period": "15m",
      "email": {
        "profile": "standard",
        "from": "root@localhost",
        "to": "root@localhost",
        "subject": "Sigma Rule 'Rundll32 Network Activity'",
        "body": "Hits:\n{{#ctx.payload.hits.hits}}{{_source}}\n================================================================================\n{{/ctx.payload.hits.hits}}",
        "attachments": {
          "data.json": {
            "data": {
              "format": "json"
            }
          }
        }
      }
    }
  }
}
EOF

"#;
    assert_eq!(watch, expected);
}

#[test]
fn watcher_ids_titles_and_json_escapes() {
    let rule = "title: Agg (test) rule\ndescription: \"\u{fc} \\\"q\\\" \\U0001F600\"\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n";
    let watch = convert_text("xpack-watcher", rule, None).unwrap();
    assert!(
        watch.contains("/_watcher/watch/Agg-test-rule <<EOF\n"),
        "{watch}"
    );
    assert!(
        watch.contains(r#""description": "\u00fc \"q\" \ud83d\ude00","#),
        "{watch}"
    );
    assert!(watch.contains(r#""tags": "","#), "{watch}");
}

#[test]
fn watcher_aggregates_count_by_like_sigmac() {
    let rule = "title: Agg\nid: 11111111-2222-3333-4444-555555555555\nlogsource: {product: windows}\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection | count() by TargetUserName > 5\n";
    let watch = convert_text("xpack-watcher", rule, None).unwrap();
    let body = watch
        .split_once("<<EOF\n")
        .unwrap()
        .1
        .strip_suffix("\nEOF\n\n")
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let aggs = &json["input"]["search"]["request"]["body"]["aggs"]["by"]["terms"];
    assert_eq!(aggs["field"], "TargetUserName");
    assert_eq!(aggs["order"]["_count"], "desc");
    assert_eq!(aggs["min_doc_count"], 6);
    assert_eq!(
        json["condition"]["compare"]["ctx.payload.aggregations.by.buckets.0.doc_count"]["gt"],
        5
    );
    // The look-back stays sigmac's 30 minutes; the schedule follows the timeframe.
    assert_eq!(
        json["input"]["search"]["request"]["body"]["query"]["bool"]["filter"]["range"]["timestamp"]
            ["gte"],
        "now-30m/m"
    );
    // `count(G) by F`: sigmac's terms aggregation on G inside the one on F, both ordered by
    // document count, the comparison on the first bucket of each.
    let rule = rule.replace(
        "count() by TargetUserName > 5",
        "count(TargetUserName) by IpAddress >= 10",
    );
    let watch = convert_text("xpack-watcher", &rule, None).unwrap();
    let body = watch
        .split_once("<<EOF\n")
        .unwrap()
        .1
        .strip_suffix("\nEOF\n\n")
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let by = &json["input"]["search"]["request"]["body"]["aggs"]["by"];
    assert_eq!(by["terms"]["field"], "IpAddress");
    assert_eq!(by["terms"]["order"]["_count"], "desc");
    assert_eq!(by["terms"]["min_doc_count"], 10);
    assert_eq!(by["aggs"]["agg"]["terms"]["field"], "TargetUserName");
    assert_eq!(by["aggs"]["agg"]["terms"]["min_doc_count"], 10);
    assert_eq!(
        json["condition"]["compare"]["ctx.payload.aggregations.by.buckets.0.agg.buckets.0.doc_count"]
            ["gte"],
        10
    );
    assert_eq!(
        json["actions"]["send_email"]["email"]["body"],
        "Hits:\n{{#aggregations.agg.buckets}}\n {{key}} {{doc_count}}\n\n{{#by.buckets}}\n-- {{key}} {{doc_count}}\n{{/by.buckets}}\n\n{{/aggregations.agg.buckets}}\n"
    );
    // `<` orders the buckets upwards and sets no minimum count.
    let less = rule.replace(">= 10", "< 3");
    let watch = convert_text("xpack-watcher", &less, None).unwrap();
    assert!(watch.contains("\"_count\": \"asc\""), "{watch}");
    assert!(!watch.contains("min_doc_count"), "{watch}");
    assert!(watch.contains("\"lt\": 3"), "{watch}");
    // `| near`: sigmac's watch of the search before the pipe, alerting on any hit.
    let near = "title: Near\nid: 11111111-2222-3333-4444-555555555556\nlogsource: {product: windows}\ndetection:\n  a:\n    EventID: 4625\n  b:\n    EventID: 4624\n  timeframe: 5m\n  condition: a | near b\n";
    let watch = convert_text("xpack-watcher", near, None).unwrap();
    let body = watch
        .split_once("<<EOF\n")
        .unwrap()
        .1
        .strip_suffix("\nEOF\n\n")
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["metadata"]["query"], "EventID:\"4625\"");
    assert_eq!(json["trigger"]["schedule"]["interval"], "5m");
    assert_eq!(
        json["condition"]["compare"]["ctx.payload.hits.total"]["not_eq"],
        0
    );
    for target in ["es-qs", "graylog"] {
        let e = convert_text(target, near, None).unwrap_err();
        assert!(e.contains("near"), "{e}");
    }
    // es-qs and graylog cannot aggregate.
    for target in ["es-qs", "graylog"] {
        let e = convert_text(target, &rule, None).unwrap_err();
        assert!(e.contains("line 7"), "{e}");
        assert!(e.contains("cannot count or aggregate"), "{e}");
    }
}

const CORRELATED: &str = "title: Failed logon\nid: 7d3f2a51-5b83-4a8e-8d0c-2f6d9a1b3c41\nname: failed_logon\nlogsource: {product: windows, service: security}\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection\n---\n";

fn correlation_watch(correlation: &str) -> Result<serde_json::Value, String> {
    let text = format!("{CORRELATED}title: Correlation\n{correlation}");
    let watch = convert_text("xpack-watcher", &text, None)?;
    let second = watch.rsplit("<<EOF\n").next().unwrap();
    let body = second.strip_suffix("\nEOF\n\n").unwrap();
    Ok(serde_json::from_str(body).unwrap())
}

#[test]
fn watcher_correlations_are_aggregations() {
    let json = correlation_watch(
        "correlation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {gte: 10}\n",
    )
    .unwrap();
    assert_eq!(json["trigger"]["schedule"]["interval"], "1h");
    let body = &json["input"]["search"]["request"]["body"];
    assert_eq!(
        body["query"]["bool"]["must"][0]["query_string"]["query"],
        "EventID:\"4625\""
    );
    assert_eq!(
        body["query"]["bool"]["filter"]["range"]["timestamp"]["gte"],
        "now-1h/m"
    );
    assert_eq!(body["aggs"]["by"]["terms"]["field"], "TargetUserName");
    assert_eq!(body["aggs"]["by"]["terms"]["min_doc_count"], 10);
    let json = correlation_watch(
        "correlation:\n  type: value_count\n  rules: [failed_logon]\n  group-by: [IpAddress]\n  timespan: 10m\n  condition: {gt: 5, field: TargetUserName}\n",
    )
    .unwrap();
    let by = &json["input"]["search"]["request"]["body"]["aggs"]["by"];
    assert_eq!(by["aggs"]["agg"]["cardinality"]["field"], "TargetUserName");
    let json = correlation_watch(
        "correlation:\n  type: temporal\n  rules: [failed_logon]\n  group-by: [IpAddress, TargetUserName]\n  timespan: 10m\n",
    )
    .unwrap();
    let by = &json["input"]["search"]["request"]["body"]["aggs"]["by"];
    assert_eq!(by["multi_terms"]["terms"][1]["field"], "TargetUserName");
    assert!(by["aggs"]["all_rules"]["bucket_selector"].is_object());
    let e = correlation_watch(
        "correlation:\n  type: temporal_ordered\n  rules: [failed_logon]\n  group-by: [IpAddress]\n  timespan: 10m\n",
    )
    .unwrap_err();
    assert!(e.contains("order"), "{e}");
    for target in ["es-qs", "graylog"] {
        let text = format!(
            "{CORRELATED}title: C\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [A]\n  timespan: 1h\n  condition: {{gte: 10}}\n"
        );
        let e = convert_text(target, &text, None).unwrap_err();
        assert!(e.contains("correlation"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The command line.

fn sigwiki() -> Command {
    Command::cargo_bin("sigwiki").expect("binary builds")
}

fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/net.yml"), RUNDLL32_RULE).unwrap();
    std::fs::write(
        dir.join("ref.yml"),
        "title: Fieldref\nlogsource: {product: windows}\ndetection:\n  sel:\n    A|fieldref: B\n  condition: sel\n",
    )
    .unwrap();
}

#[test]
fn cli_jsonl_shape_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path());
    let out = sigwiki()
        .args(["convert", "-t", "es-qs", "--format", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a rule fails: exit 1");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["rule"], "ref.yml");
    assert_eq!(lines[0]["target"], "es-qs");
    assert_eq!(lines[0]["status"], "err");
    assert!(lines[0]["error"].as_str().unwrap().contains("line 5"));
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot compare")
    );
    assert!(lines[0].get("output").is_none());
    assert_eq!(lines[1]["rule"], "sub/net.yml");
    assert_eq!(lines[1]["status"], "ok");
    assert!(lines[1]["output"].as_str().unwrap().ends_with(")))\n"));

    // One good file given directly: exit 0, `rule` as given.
    let file = dir.path().join("sub/net.yml");
    let out = sigwiki()
        .args(["convert", "-t", "xpack-watcher", "--format", "jsonl"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["rule"], file.to_string_lossy().as_ref());
    assert!(line["output"].as_str().unwrap().ends_with("EOF\n\n"));

    // Text format: the queries on stdout, the failure on stderr.
    let out = sigwiki()
        .args(["convert", "-t", "graylog"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* 192.168.* 172.*))))\n"
    );
    assert!(String::from_utf8(out.stderr).unwrap().contains("ref.yml"));
}

#[test]
fn cli_mapping_by_name_and_by_file() {
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path());
    let rule = dir.path().join("sub/net.yml");
    let out = sigwiki()
        .args(["convert", "-t", "es-qs", "--mapping", "winlogbeat"])
        .arg(&rule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with(
        "(winlog.channel:\"Microsoft\\-Windows\\-Sysmon\\/Operational\" AND (winlog.event_id:\"3\""
    ));

    let mapping = dir.path().join("mine.yml");
    std::fs::write(
        &mapping,
        "name: mine\nfields:\n  EventID: code\nlogsources:\n  - match: {service: sysmon}\n    conditions:\n      source: sysmon\n    fields:\n      Image: exe\n",
    )
    .unwrap();
    let out = sigwiki()
        .args(["convert", "-t", "graylog", "--mapping"])
        .arg(&mapping)
        .arg(&rule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "(source:\"sysmon\" AND (code:\"3\" AND exe.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* 192.168.* 172.*))))\n"
    );

    // A broken mapping: exit 2, the file, line and column named.
    std::fs::write(&mapping, "fields:\n  EventID: code\n  Image: [a, b]\n").unwrap();
    let out = sigwiki()
        .args(["convert", "-t", "es-qs", "--mapping"])
        .arg(&mapping)
        .arg(&rule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:3:", mapping.display())),
        "{stderr}"
    );
    assert!(stderr.contains("one target field"), "{stderr}");

    let out = sigwiki()
        .args(["convert", "-t", "es-qs", "--mapping", "no-such-mapping"])
        .arg(&rule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("winlogbeat, ecs-windows")
    );
}

#[test]
fn cli_lists_the_legacy_targets_with_their_titles() {
    let out = sigwiki()
        .args(["convert", "--list-targets"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for (name, title) in [
        ("es-qs", "Kibana query"),
        ("xpack-watcher", "X-Pack Watcher"),
        ("graylog", "Graylog"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l.ends_with(title)),
            "{text}"
        );
    }
    let out = sigwiki()
        .args(["convert", "-t", "nope", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn shipped_seed_rule_converts_like_the_reference() {
    let Some(shared) = common::shared_or_skip("the seed rule comparison") else {
        return;
    };
    let seed = shared.join("seed/sysmon_rundll32_net_connections.yml");
    let out = sigwiki()
        .args(["convert", "-t", "es-qs", "--mapping", "winlogbeat"])
        .arg(&seed)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "(winlog.channel:\"Microsoft\\-Windows\\-Sysmon\\/Operational\" AND (winlog.event_id:\"3\" AND winlog.event_data.Image.keyword:*\\\\rundll32.exe) AND (NOT (winlog.event_data.DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))\n"
    );
}

mod never_panics {
    use super::convert_text;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        proptest::string::string_regex(r#"[a-c \\*?"()/&|:=\-\[\]{}^~!+éü\t]{0,12}"#).unwrap()
    }

    const CHAINS: &[&str] = &[
        "",
        "|contains",
        "|startswith",
        "|endswith",
        "|contains|all",
        "|windash|contains",
        "|base64offset|contains",
        "|re",
        "|cased",
        "|neq",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_value_converts_or_is_refused(
            values in proptest::collection::vec(value(), 1..4),
            chain in 0..CHAINS.len(),
            negate in any::<bool>(),
            keywords in any::<bool>(),
        ) {
            let quoted: Vec<String> = values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
            let detection = if keywords {
                format!("  sel:\n    - {}\n  condition: {}sel\n", quoted.join("\n    - "), if negate { "not " } else { "" })
            } else {
                format!("  sel:\n    Field{}:\n      - {}\n    Other: x\n  condition: {}sel\n", CHAINS[chain], quoted.join("\n      - "), if negate { "not " } else { "" })
            };
            let rule = format!("title: fuzz\nlogsource:\n  product: windows\ndetection:\n{detection}");
            for target in ["es-qs", "graylog", "xpack-watcher"] {
                if let Ok(out) = convert_text(target, &rule, None) {
                    prop_assert!(out.ends_with('\n'));
                    if target != "xpack-watcher" {
                        prop_assert!(balanced(&out), "{out}");
                    }
                }
            }
        }
    }

    /// Whether the parentheses outside quotes, regexes and escapes balance.
    fn balanced(query: &str) -> bool {
        let mut depth = 0i64;
        let (mut escaped, mut quoted, mut regex) = (false, false, false);
        for c in query.chars() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '"' if !regex => quoted = !quoted,
                '/' if !quoted => regex = !regex,
                '(' if !quoted && !regex => depth += 1,
                ')' if !quoted && !regex => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return false;
            }
        }
        depth == 0 && !quoted
    }
}
