//! `xpack-watcher` ("X-Pack Watcher"): a `curl` command that installs an Elasticsearch Watcher
//! watch running the rule's `es-qs` query every 30 minutes and mailing the hits, exactly as
//! legacy sigmac 0.23.1 printed it without a configuration (`curl … <<EOF`, the watch as
//! Python's `json.dumps(indent=2)` writes it, `EOF`, an empty line).
//!
//! The watch id is the rule's `id` (or its title with spaces turned into `-` and parentheses
//! removed), with `-2`, `-3`… when several watches of one file would share it. The query is
//! the `es-qs` query of the shared legacy engine.
//!
//! A rule's Sigma 1 aggregation is watched as sigmac watched it, byte for byte:
//! - `| count(G) by F > n` (and `>=`, `<`, `<=`): `terms` aggregations on `F` and `G` ordered
//!   by document count, with `min_doc_count`, the comparison on the first bucket's
//!   `doc_count`, and the mail body listing `aggregations.by.buckets`; any function counts
//!   documents (sigmac ignored `sum`, `avg`…, and `count(G)` counts the most frequent value of
//!   `G` rather than distinct ones), the schedule follows `timeframe` and the search looks
//!   back 30 minutes whatever it is;
//! - `a | near b`: the watch of `a` alone, alerting on any hit (sigmac dropped the `near`
//!   part, so the watch is wider than the rule: it does not wait for `b`).
//!
//! Beyond sigmac:
//! - `| … == n`, which sigmac could not convert: the metric aggregation the function names
//!   (`cardinality` for `count(G)`), tested on every bucket (`array_compare` with `some`),
//!   looking back over the `timeframe`;
//! - correlation rules (`event_count`, `value_count`, `value_sum`, `value_avg`, `temporal`)
//!   become one watch over the queries of the rules they name, with the matching
//!   aggregation, `group-by` as a `terms` (one field) or `multi_terms` (several) aggregation,
//!   the `timespan` as look-back and schedule, and a mail body reading the buckets under
//!   `ctx.payload`, where Watcher puts them.

use std::fmt::Write as _;

use super::legacy::{self, ES_QS};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};
use crate::sigma::condition::{AggregateFunction, AggregateOp};
use crate::sigma::rule::{CorrelationOp, CorrelationType};
use crate::sigma::{Aggregation, Document, Metadata, SigmaKind};

/// The `xpack-watcher` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct XpackWatcher;

impl Backend for XpackWatcher {
    fn name(&self) -> &'static str {
        "xpack-watcher"
    }

    fn title(&self) -> &'static str {
        "X-Pack Watcher"
    }

    fn support(&self, feature: Feature) -> Support {
        match feature {
            // `| near` as sigmac watched it: see `render`.
            Feature::Aggregation | Feature::Correlation | Feature::Near => Support::Yes,
            other => legacy::support(other),
        }
    }

    /// sigmac predates correlations (see [`Backend::honours_correlation_generate`]).
    fn honours_correlation_generate(&self) -> bool {
        false
    }

    fn render(&self, input: &ConvertInput<'_>) -> Result<String, ConvertError> {
        let mut taken = Vec::new();
        for document in &input.file.documents {
            if document.index >= input.document.index {
                break;
            }
            for _ in 0..watch_count(document) {
                taken.push(watch_id(document.kind.meta(), &taken));
            }
        }
        let mut out = String::new();
        match &input.document.kind {
            SigmaKind::Rule(rule) => {
                let queries = legacy::rule_queries(&ES_QS, input, &rule.detection)?;
                for (query, condition) in queries.into_iter().zip(&rule.detection.conditions) {
                    let id = watch_id(&rule.meta, &taken);
                    let mut watch = Watch::new(&rule.meta, query);
                    if let Some(timeframe) = &rule.detection.timeframe {
                        watch.interval = timeframe.clone();
                    }
                    match &condition.aggregation {
                        None => {}
                        // sigmac's watch of `a | near b`: the search before the `|`, alerting
                        // on any hit (its near aggregation has no threshold to compare).
                        Some(Aggregation::Near { .. }) => {}
                        Some(Aggregation::Function {
                            function,
                            field,
                            group_by,
                            op,
                            threshold,
                        }) => {
                            let threshold = threshold.as_i64().ok_or_else(|| {
                                input.error(
                                    condition.text.clone(),
                                    &condition.path,
                                    "the threshold of an aggregation must be an integer",
                                )
                            })?;
                            let op = compare_of(*op);
                            if op.order().is_some() {
                                watch.sigmac_aggregate(
                                    field.as_deref(),
                                    group_by.as_deref(),
                                    op,
                                    threshold,
                                );
                            } else {
                                // `==`, which sigmac could not convert: the metric the
                                // function names, tested on every bucket.
                                if let Some(timeframe) = &rule.detection.timeframe {
                                    watch.look_back = timeframe.clone();
                                }
                                watch.aggregate(AggregationSpec {
                                    metric: metric_of(*function, field.as_deref()),
                                    group_by: group_by.iter().cloned().collect(),
                                    op,
                                    threshold,
                                });
                            }
                        }
                    }
                    out.push_str(&watch.render(&id));
                    taken.push(id);
                }
            }
            SigmaKind::Correlation(correlation) => {
                let id = watch_id(&correlation.meta, &taken);
                let watch = correlation_watch(input, correlation)?;
                out.push_str(&watch.render(&id));
            }
            SigmaKind::Filter(_) => {
                return Err(legacy::not_a_detection_rule(self.name(), input));
            }
        }
        Ok(out)
    }

    fn join_outputs(&self, outputs: Vec<String>) -> String {
        // sigmac printed all watches of a file at once, followed by a newline.
        let mut out = outputs.concat();
        out.push('\n');
        out
    }
}

/// How many watches a document produces (one per condition of a rule).
fn watch_count(document: &Document) -> usize {
    match &document.kind {
        SigmaKind::Rule(rule) => rule.detection.conditions.len(),
        SigmaKind::Correlation(_) => 1,
        SigmaKind::Filter(_) => 0,
    }
}

/// sigmac's watch id: the rule's id, else its title with spaces → `-` and no parentheses;
/// `-2`, `-3`… when taken.
fn watch_id(meta: &Metadata, taken: &[String]) -> String {
    let base = match meta.id.as_deref() {
        Some(id) if id != "00000000-0000-0000-0000-000000000000" => id.to_string(),
        _ => meta.title.replace(' ', "-").replace(['(', ')'], ""),
    };
    if !taken.contains(&base) {
        return base;
    }
    let mut n = 2;
    loop {
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// The watch.

/// A metric computed per group (or over all hits).
#[derive(Debug, Clone, PartialEq)]
enum Metric {
    /// The number of events (`count()`, `event_count`): the bucket's `doc_count`.
    Count,
    /// A metric aggregation over a field (`cardinality`, `min`, `max`, `avg`, `sum`).
    Field {
        aggregation: &'static str,
        field: String,
    },
}

fn metric_of(function: AggregateFunction, field: Option<&str>) -> Metric {
    let aggregation = match (function, field) {
        (AggregateFunction::Count, None) => return Metric::Count,
        (AggregateFunction::Count, Some(_)) => "cardinality",
        (AggregateFunction::Min, _) => "min",
        (AggregateFunction::Max, _) => "max",
        (AggregateFunction::Avg, _) => "avg",
        (AggregateFunction::Sum, _) => "sum",
    };
    Metric::Field {
        aggregation,
        field: field.unwrap_or_default().to_string(),
    }
}

/// A Watcher comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    NotEq,
}

impl Compare {
    fn name(self) -> &'static str {
        match self {
            Compare::Gt => "gt",
            Compare::Gte => "gte",
            Compare::Lt => "lt",
            Compare::Lte => "lte",
            Compare::Eq => "eq",
            Compare::NotEq => "not_eq",
        }
    }

    /// The bucket order that puts a bucket satisfying the comparison first, if any does.
    fn order(self) -> Option<&'static str> {
        match self {
            Compare::Gt | Compare::Gte => Some("desc"),
            Compare::Lt | Compare::Lte => Some("asc"),
            Compare::Eq | Compare::NotEq => None,
        }
    }
}

fn compare_of(op: AggregateOp) -> Compare {
    match op {
        AggregateOp::Gt => Compare::Gt,
        AggregateOp::Gte => Compare::Gte,
        AggregateOp::Lt => Compare::Lt,
        AggregateOp::Lte => Compare::Lte,
        AggregateOp::Eq => Compare::Eq,
    }
}

/// What to aggregate and test.
struct AggregationSpec {
    metric: Metric,
    group_by: Vec<String>,
    op: Compare,
    threshold: i64,
}

/// One watch, as sigmac laid it out.
struct Watch {
    name: String,
    description: String,
    tags: Json,
    query: String,
    interval: String,
    look_back: String,
    aggs: Option<Json>,
    condition: Json,
    body: String,
    subject: String,
}

const RULER: &str =
    "================================================================================";

impl Watch {
    fn new(meta: &Metadata, query: String) -> Self {
        let tags = if meta.tags.is_empty() {
            Json::Str(String::new())
        } else {
            Json::Arr(meta.tags.iter().map(|t| Json::Str(t.clone())).collect())
        };
        let mut body = String::from("Hits:\n{{#ctx.payload.hits.hits}}");
        if meta.fields.is_empty() {
            body.push_str("{{_source}}\n");
        } else {
            let width = meta
                .fields
                .iter()
                .map(|f| f.chars().count())
                .max()
                .unwrap_or(0);
            body.push_str("Hit on {{_source.@timestamp}}:\n");
            for (i, field) in meta.fields.iter().enumerate() {
                if i > 0 {
                    body.push('\n');
                }
                let _ = write!(body, "{field:>width$} = {{{{_source.{field}}}}}");
            }
        }
        body.push_str(RULER);
        body.push_str("\n{{/ctx.payload.hits.hits}}");
        Watch {
            name: meta.title.clone(),
            description: meta.description.clone().unwrap_or_default(),
            tags,
            query,
            interval: "30m".to_string(),
            look_back: "30m".to_string(),
            aggs: None,
            condition: compare("ctx.payload.hits.total", Compare::NotEq, 0),
            body,
            subject: format!("Sigma Rule '{}'", meta.title),
        }
    }

    /// sigmac's aggregation of a rule's `| count(G) by F op n` (`op` one of `>`, `>=`, `<`,
    /// `<=`): a `terms` aggregation on `F` (named `by`) holding one on `G` (named `agg`), each
    /// ordered by document count (descending for `>`/`>=`, so that the first bucket is the
    /// largest) with `min_doc_count` for `>`/`>=`, and the comparison on the first bucket's
    /// `doc_count`; without either field, on the number of hits. Whatever the function
    /// (`sum`, `avg`… included), sigmac counted documents, and the look-back stays 30 minutes
    /// whatever the `timeframe` (only the schedule follows it).
    fn sigmac_aggregate(
        &mut self,
        field: Option<&str>,
        group_by: Option<&str>,
        op: Compare,
        threshold: i64,
    ) {
        let order = op.order().unwrap_or("desc");
        let terms = |field: &str| {
            let mut terms: Vec<(Key, Json)> = vec![
                ("field".into(), Json::Str(field.to_string())),
                ("size".into(), Json::Int(10)),
                ("order".into(), obj([("_count", Json::Str(order.into()))])),
            ];
            match op {
                Compare::Gt => terms.push((
                    "min_doc_count".into(),
                    Json::Int(threshold.saturating_add(1)),
                )),
                Compare::Gte => terms.push(("min_doc_count".into(), Json::Int(threshold))),
                _ => {}
            }
            vec![("terms".into(), Json::Obj(terms))]
        };
        let mut aggs: Option<Json> = None;
        let mut location = String::new();
        let mut buckets: Vec<String> = Vec::new();
        if let Some(field) = field {
            aggs = Some(obj([("agg", Json::Obj(terms(field)))]));
            location.push_str("agg.buckets.0.");
            buckets.push("agg.buckets".into());
        }
        if let Some(group) = group_by {
            let mut by = terms(group);
            if let Some(inner) = aggs.take() {
                by.push(("aggs".into(), inner));
            }
            aggs = Some(obj([("by", Json::Obj(by))]));
            location.insert_str(0, "by.buckets.0.");
            buckets.push("by.buckets".into());
        }
        let Some(aggs) = aggs else {
            self.condition = compare("ctx.payload.hits.total", op, threshold);
            return;
        };
        self.aggs = Some(aggs);
        self.condition = compare(
            format!("ctx.payload.aggregations.{location}doc_count"),
            op,
            threshold,
        );
        // sigmac's mail body: a section per bucket list, the first one's path under
        // `aggregations` (not `ctx.payload.aggregations`, so Watcher renders it empty), each
        // level indented by two dashes more.
        buckets[0].insert_str(0, "aggregations.");
        let opening: Vec<String> = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                format!(
                    "{{{{#{b}}}}}\n{} {{{{key}}}} {{{{doc_count}}}}\n",
                    "-".repeat(2 * i)
                )
            })
            .collect();
        let closing: Vec<String> = buckets
            .iter()
            .rev()
            .map(|b| format!("{{{{/{b}}}}}\n"))
            .collect();
        self.body = format!("Hits:\n{}{}", opening.join("\n"), closing.join("\n"));
    }

    /// Adds an aggregation and the condition on it (correlations, and `==` on a rule).
    fn aggregate(&mut self, spec: AggregationSpec) {
        let AggregationSpec {
            metric,
            group_by,
            op,
            threshold,
        } = spec;
        if group_by.is_empty() {
            match metric {
                Metric::Count => {
                    self.condition = compare("ctx.payload.hits.total", op, threshold);
                }
                Metric::Field { aggregation, field } => {
                    self.aggs = Some(obj([(
                        "agg",
                        obj([(aggregation, obj([("field", Json::Str(field))]))]),
                    )]));
                    self.condition = compare("ctx.payload.aggregations.agg.value", op, threshold);
                    self.body = "Hits:\n{{ctx.payload.aggregations.agg.value}}\n".to_string();
                }
            }
            return;
        }
        let (kind, mut terms) = group_terms(&group_by);
        let order_key = match metric {
            Metric::Count => "_count",
            Metric::Field { .. } => "agg",
        };
        if let Some(order) = op.order() {
            terms.push(("order".into(), obj([(order_key, Json::Str(order.into()))])));
        }
        if metric == Metric::Count {
            match op {
                Compare::Gt => terms.push((
                    "min_doc_count".into(),
                    Json::Int(threshold.saturating_add(1)),
                )),
                Compare::Gte => terms.push(("min_doc_count".into(), Json::Int(threshold))),
                _ => {}
            }
        }
        let mut by = vec![(kind.into(), Json::Obj(terms))];
        let value_path = match &metric {
            Metric::Count => "doc_count",
            Metric::Field { aggregation, field } => {
                by.push((
                    "aggs".into(),
                    obj([(
                        "agg",
                        obj([(*aggregation, obj([("field", Json::Str(field.clone()))]))]),
                    )]),
                ));
                "agg.value"
            }
        };
        self.aggs = Some(obj([("by", Json::Obj(by))]));
        self.condition = if op.order().is_some() {
            compare(
                format!("ctx.payload.aggregations.by.buckets.0.{value_path}"),
                op,
                threshold,
            )
        } else {
            obj([(
                "array_compare",
                obj([(
                    "ctx.payload.aggregations.by.buckets",
                    obj([
                        ("path", Json::Str(value_path.into())),
                        (
                            op.name(),
                            obj([
                                ("value", Json::Int(threshold)),
                                ("quantifier", Json::Str("some".into())),
                            ]),
                        ),
                    ]),
                )]),
            )])
        };
        let shown = if metric == Metric::Count {
            "{{doc_count}}"
        } else {
            "{{agg.value}}"
        };
        self.body = format!(
            "Hits:\n{{{{#ctx.payload.aggregations.by.buckets}}}}\n {{{{key}}}} {shown}\n{{{{/ctx.payload.aggregations.by.buckets}}}}\n"
        );
    }

    /// The `curl` command installing the watch, ending with `EOF\n`: the watch as Python's
    /// `json.dumps(indent=2)` writes it, its fixed parts written as text.
    fn render(self, id: &str) -> String {
        let mut out = String::with_capacity(3000 + 2 * self.query.len());
        out.push_str(
            "curl -s -XPUT -H 'Content-Type: application/json' --data-binary @- localhost:9200/_watcher/watch/",
        );
        out.push_str(id);
        out.push_str(" <<EOF\n{\n  \"metadata\": {\n    \"name\": ");
        write_json_string(&self.name, &mut out);
        out.push_str(",\n    \"description\": ");
        write_json_string(&self.description, &mut out);
        out.push_str(",\n    \"tags\": ");
        self.tags.write(&mut out, 2);
        out.push_str(",\n    \"query\": ");
        write_json_string(&self.query, &mut out);
        out.push_str("\n  },\n  \"trigger\": {\n    \"schedule\": {\n      \"interval\": ");
        write_json_string(&self.interval, &mut out);
        out.push_str(concat!(
            "\n    }\n  },\n  \"input\": {\n    \"search\": {\n      \"request\": {\n",
            "        \"body\": {\n          \"size\": 0,\n          \"query\": {\n",
            "            \"bool\": {\n              \"must\": [\n                {\n",
            "                  \"query_string\": {\n                    \"query\": ",
        ));
        write_json_string(&self.query, &mut out);
        out.push_str(concat!(
            ",\n                    \"analyze_wildcard\": true\n                  }\n",
            "                }\n              ],\n              \"filter\": {\n",
            "                \"range\": {\n                  \"timestamp\": {\n",
            "                    \"gte\": ",
        ));
        write_json_string(&format!("now-{}/m", self.look_back), &mut out);
        out.push_str(concat!(
            "\n                  }\n                }\n              }\n            }\n",
            "          }",
        ));
        if let Some(aggs) = &self.aggs {
            out.push_str(",\n          \"aggs\": ");
            aggs.write(&mut out, 5);
        }
        out.push_str(
            "\n        },\n        \"indices\": []\n      }\n    }\n  },\n  \"condition\": ",
        );
        self.condition.write(&mut out, 1);
        out.push_str(concat!(
            ",\n  \"actions\": {\n    \"send_email\": {\n",
            "      \"throttle_period\": \"15m\",\n      \"email\": {\n",
            "        \"profile\": \"standard\",\n        \"from\": \"root@localhost\",\n",
            "        \"to\": \"root@localhost\",\n        \"subject\": ",
        ));
        write_json_string(&self.subject, &mut out);
        out.push_str(",\n        \"body\": ");
        write_json_string(&self.body, &mut out);
        out.push_str(concat!(
            ",\n        \"attachments\": {\n          \"data.json\": {\n",
            "            \"data\": {\n              \"format\": \"json\"\n",
            "            }\n          }\n        }\n      }\n    }\n  }\n}\nEOF\n",
        ));
        out
    }
}

/// `{"compare": {path: {op: value}}}`.
fn compare(path: impl Into<Key>, op: Compare, value: i64) -> Json {
    obj([(
        "compare",
        Json::Obj(vec![(path.into(), obj([(op.name(), Json::Int(value))]))]),
    )])
}

// ---------------------------------------------------------------------------------------------
// Correlations.

fn correlation_watch(
    input: &ConvertInput<'_>,
    rule: &crate::sigma::CorrelationRule,
) -> Result<Watch, ConvertError> {
    let correlation = &rule.correlation;
    let at = crate::sigma::diagnostic::NodePath::root(input.document.index).key("correlation");
    if !correlation.aliases.is_empty() {
        return Err(input.error(
            "correlation aliases",
            &at.key("aliases"),
            "a Watcher terms aggregation groups by one field name; field aliases that differ per rule need a per-rule field",
        ));
    }
    let mut queries = Vec::with_capacity(correlation.rules.len());
    let mut named = Vec::with_capacity(correlation.rules.len());
    for reference in &correlation.rules {
        let Some(found) = input.rules.lookup(&reference.reference) else {
            return Err(input.error(
                reference.reference.clone(),
                &reference.path,
                "the correlation names a rule that is not in the rule set",
            ));
        };
        let file = &input.rules.files[found.file];
        let document = input.rules.document(found);
        let SigmaKind::Rule(referenced) = &document.kind else {
            return Err(input.error(
                reference.reference.clone(),
                &reference.path,
                "the correlation names a correlation or filter; the Watcher target can only correlate detection rules",
            ));
        };
        let sub = ConvertInput {
            file,
            document,
            rules: input.rules,
            state: input.state,
        };
        for (feature, path) in super::features(document) {
            if let Support::No(reason) = XpackWatcher.support(feature) {
                return Err(sub.error(feature.describe(), &path, reason));
            }
        }
        if referenced
            .detection
            .conditions
            .iter()
            .any(|c| c.aggregation.is_some())
        {
            return Err(input.error(
                reference.reference.clone(),
                &reference.path,
                "a correlated rule must not have its own aggregation",
            ));
        }
        queries.push(legacy::rule_query(&ES_QS, &sub, &referenced.detection)?);
        named.push(referenced.meta.title.clone());
    }
    let query = legacy::join_alternatives(&queries);
    let mut watch = Watch::new(&rule.meta, query.clone());
    watch.interval = correlation.timespan.text.clone();
    watch.look_back = correlation.timespan.text.clone();
    let field = || correlation.field.clone().unwrap_or_default();
    let metric = match correlation.kind {
        CorrelationType::EventCount => Metric::Count,
        CorrelationType::ValueCount => Metric::Field {
            aggregation: "cardinality",
            field: field(),
        },
        CorrelationType::ValueSum => Metric::Field {
            aggregation: "sum",
            field: field(),
        },
        CorrelationType::ValueAvg => Metric::Field {
            aggregation: "avg",
            field: field(),
        },
        CorrelationType::Temporal => {
            temporal(&mut watch, &correlation.group_by, &queries, &named)?;
            return Ok(watch);
        }
        CorrelationType::TemporalOrdered => {
            return Err(input.error(
                "temporal_ordered correlation",
                &at.key("type"),
                "a Watcher search aggregates events without their order; `temporal_ordered` needs the order of the matches",
            ));
        }
        CorrelationType::ValuePercentile => {
            return Err(input.error(
                "value_percentile correlation",
                &at.key("type"),
                "a Watcher compare condition cannot address a percentile whose key depends on the rule",
            ));
        }
    };
    let [(op, threshold)] = correlation.condition.as_slice() else {
        return Err(input.error(
            "correlation condition",
            &at.key("condition"),
            "a Watcher compare condition tests one comparison; split a range into two correlations",
        ));
    };
    let threshold = threshold.as_i64().ok_or_else(|| {
        input.error(
            "correlation condition",
            &at.key("condition"),
            "the threshold must be an integer",
        )
    })?;
    let op = match op {
        CorrelationOp::Gt => Compare::Gt,
        CorrelationOp::Gte => Compare::Gte,
        CorrelationOp::Lt => Compare::Lt,
        CorrelationOp::Lte => Compare::Lte,
        CorrelationOp::Eq => Compare::Eq,
        CorrelationOp::Neq => Compare::NotEq,
    };
    watch.aggregate(AggregationSpec {
        metric,
        group_by: correlation.group_by.clone(),
        op,
        threshold,
    });
    Ok(watch)
}

/// `temporal`: per group, every named rule matched within the timespan. One `filters`
/// aggregation per group with a bucket per rule, a `bucket_selector` keeping the groups where
/// every rule has hits, and a condition that some group is left (without `group-by`: that
/// every rule's bucket has hits).
fn temporal(
    watch: &mut Watch,
    group_by: &[String],
    queries: &[String],
    names: &[String],
) -> Result<(), ConvertError> {
    let filters = obj([(
        "filters",
        obj([(
            "filters",
            Json::Obj(
                queries
                    .iter()
                    .enumerate()
                    .map(|(i, q)| {
                        (
                            Key::Owned(format!("rule{i}")),
                            obj([(
                                "query_string",
                                obj([
                                    ("query", Json::Str(q.clone())),
                                    ("analyze_wildcard", Json::Bool(true)),
                                ]),
                            )]),
                        )
                    })
                    .collect(),
            ),
        )]),
    )]);
    let rules = format!("Rules: {}\n", names.join(", "));
    if group_by.is_empty() {
        watch.aggs = Some(obj([("rules", filters)]));
        watch.condition = obj([(
            "array_compare",
            obj([(
                "ctx.payload.aggregations.rules.buckets",
                obj([
                    ("path", Json::Str("doc_count".into())),
                    (
                        "gt",
                        obj([
                            ("value", Json::Int(0)),
                            ("quantifier", Json::Str("all".into())),
                        ]),
                    ),
                ]),
            )]),
        )]);
        watch.body = format!("Hits:\n{{{{ctx.payload.hits.total}}}}\n{rules}");
        return Ok(());
    }
    let paths = Json::Obj(
        (0..queries.len())
            .map(|i| {
                (
                    Key::Owned(format!("rule{i}")),
                    Json::Str(format!("rules['rule{i}']>_count")),
                )
            })
            .collect(),
    );
    let script = (0..queries.len())
        .map(|i| format!("params.rule{i} > 0"))
        .collect::<Vec<_>>()
        .join(" && ");
    let sub_aggs = obj([
        ("rules", filters),
        (
            "all_rules",
            obj([(
                "bucket_selector",
                obj([("buckets_path", paths), ("script", Json::Str(script))]),
            )]),
        ),
    ]);
    let (kind, terms) = group_terms(group_by);
    watch.aggs = Some(obj([(
        "by",
        Json::Obj(vec![
            (kind.into(), Json::Obj(terms)),
            ("aggs".into(), sub_aggs),
        ]),
    )]));
    watch.condition = compare(
        "ctx.payload.aggregations.by.buckets.0.doc_count",
        Compare::Gte,
        1,
    );
    watch.body = format!(
        "Hits:\n{{{{#ctx.payload.aggregations.by.buckets}}}}\n {{{{key}}}} {{{{doc_count}}}}\n{{{{/ctx.payload.aggregations.by.buckets}}}}\n{rules}"
    );
    Ok(())
}

/// The grouping aggregation's kind and settings: `terms` on one field, `multi_terms` on several.
fn group_terms(group_by: &[String]) -> (&'static str, Vec<(Key, Json)>) {
    match group_by {
        [field] => (
            "terms",
            vec![
                ("field".into(), Json::Str(field.clone())),
                ("size".into(), Json::Int(10)),
            ],
        ),
        fields => (
            "multi_terms",
            vec![
                (
                    "terms".into(),
                    Json::Arr(
                        fields
                            .iter()
                            .map(|f| obj([("field", Json::Str(f.clone()))]))
                            .collect(),
                    ),
                ),
                ("size".into(), Json::Int(10)),
            ],
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON, written the way Python's `json.dumps(value, indent=2)` writes it.

/// An object key: almost always a fixed name.
pub type Key = std::borrow::Cow<'static, str>;

/// A JSON value with ordered object keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in order.
    Obj(Vec<(Key, Json)>),
}

fn obj<const N: usize>(entries: [(&'static str, Json); N]) -> Json {
    Json::Obj(
        entries
            .into_iter()
            .map(|(k, v)| (Key::Borrowed(k), v))
            .collect(),
    )
}

impl Json {
    /// Writes the value as `json.dumps(indent=2)` (ASCII only, `", "`-less separators) at
    /// nesting `level`.
    pub fn write(&self, out: &mut String, level: usize) {
        match self {
            Json::Str(s) => write_json_string(s, out),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(entries) if entries.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    item.write(out, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            Json::Obj(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_json_string(key, out);
                    out.push_str(": ");
                    value.write(out, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A JSON string with Python's `ensure_ascii` escaping (`\uXXXX`, lowercase hex, surrogate
/// pairs beyond the BMP).
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    // Printable ASCII other than the quote and the backslash, almost all of a query, is copied
    // in runs; only the rest goes character by character.
    let mut rest = s;
    while !rest.is_empty() {
        let plain = rest
            .bytes()
            .position(|b| !matches!(b, b' '..=b'~') || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        rest = &rest[c.len_utf8()..];
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_like_python() {
        let value = obj([
            ("a", Json::Int(1)),
            ("b", Json::Arr(vec![Json::Str("x".into())])),
            ("c", Json::Arr(vec![])),
            ("d", obj([])),
            ("e", Json::Str("ü \"q\" \u{1F600}\t".into())),
        ]);
        let mut out = String::new();
        value.write(&mut out, 0);
        assert_eq!(
            out,
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ],\n  \"c\": [],\n  \"d\": {},\n  \"e\": \"\\u00fc \\\"q\\\" \\ud83d\\ude00\\t\"\n}"
        );
    }

    #[test]
    fn watch_ids_follow_sigmac() {
        let meta = Metadata {
            title: "Agg (test) rule".into(),
            ..Metadata::default()
        };
        assert_eq!(watch_id(&meta, &[]), "Agg-test-rule");
        assert_eq!(
            watch_id(&meta, &["Agg-test-rule".to_string()]),
            "Agg-test-rule-2"
        );
        let meta = Metadata {
            title: "x".into(),
            id: Some("11111111-2222-3333-4444-555555555555".into()),
            ..Metadata::default()
        };
        assert_eq!(watch_id(&meta, &[]), "11111111-2222-3333-4444-555555555555");
    }
}
