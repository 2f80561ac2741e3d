//! The loader of pySigma's YAML pipeline format:
//!
//! ```yaml
//! name: My pipeline
//! priority: 30
//! allowed_backends: [lucene, eql]      # optional
//! vars:
//!   admins: [alice, bob]
//! transformations:
//!   - id: image_mapping
//!     type: field_name_mapping
//!     mapping:
//!       Image: process.executable
//!     rule_conditions:
//!       - type: logsource
//!         product: windows
//!     rule_cond_op: or                 # and (default) / or
//!     rule_cond_not: false
//!     field_name_conditions:
//!       - type: include_fields
//!         fields: [Image]
//!         mode: plain                  # or re
//! ```
//!
//! Conditions may also be a map of id → condition with `…_cond_expr: "a and not b"`. Every
//! error names the file, line and column of the offending key.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use regex::Regex;
use serde_yaml::{Mapping, Value as Yaml};

use super::PipelineError;
use super::custom;
use super::model::*;
use crate::sigma::diagnostic::{NodePath, Where};
use crate::sigma::yaml::{Limits, Locator, load_documents};

/// The keys every processing item may have besides its transformation's parameters.
const ITEM_KEYS: &[&str] = &[
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "rule_cond_expr",
    "detection_item_conditions",
    "detection_item_cond_op",
    "detection_item_cond_not",
    "detection_item_cond_expr",
    "field_name_conditions",
    "field_name_cond_op",
    "field_name_cond_not",
    "field_name_cond_expr",
];

struct Ctx<'t> {
    text: &'t str,
    file: &'t Path,
    locator: std::cell::OnceCell<Locator>,
}

impl Ctx<'_> {
    fn fail(&self, path: &NodePath, message: impl Into<String>) -> PipelineError {
        let position = self
            .locator
            .get_or_init(|| Locator::new(self.text))
            .locate(path);
        PipelineError {
            file: self.file.to_path_buf(),
            position: Some(position),
            message: message.into(),
        }
    }
}

type R<T> = Result<T, PipelineError>;

/// Parses pipeline text; `file` names it in errors and `spec` is how it was asked for.
pub fn parse(text: &str, file: &Path, spec: &str) -> R<Pipeline> {
    let ctx = Ctx {
        text,
        file,
        locator: std::cell::OnceCell::new(),
    };
    let documents = load_documents(text, &Limits::default()).map_err(|problem| {
        let position = match &problem.at {
            Where::Position(p) => *p,
            Where::Node(path) => Locator::new(text).locate(path),
        };
        PipelineError {
            file: file.to_path_buf(),
            position: Some(position),
            message: problem.message,
        }
    })?;
    let root = NodePath::root(0);
    let [document] = documents.as_slice() else {
        return Err(ctx.fail(&root, "a pipeline file holds exactly one YAML document"));
    };
    let Yaml::Mapping(map) = document else {
        return Err(ctx.fail(
            &root,
            "a pipeline is a YAML map with `name` and `transformations`",
        ));
    };
    let mut pipeline = Pipeline {
        name: String::new(),
        spec: spec.to_string(),
        priority: 0,
        description: None,
        allowed_backends: Vec::new(),
        vars: BTreeMap::new(),
        items: Vec::new(),
        file: file.to_path_buf(),
    };
    let mut has_transformations = false;
    for (key, value) in map {
        let key = key_text(key);
        let at = root.key(&key);
        match key.as_str() {
            "name" => pipeline.name = text_of(&ctx, value, &at)?,
            "priority" => {
                pipeline.priority = match value {
                    Yaml::Number(n) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
                    _ => return Err(ctx.fail(&at, "`priority` is a whole number")),
                }
            }
            "description" => pipeline.description = Some(text_of(&ctx, value, &at)?),
            "allowed_backends" => pipeline.allowed_backends = text_list(&ctx, value, &at)?,
            "vars" => {
                let Yaml::Mapping(vars) = value else {
                    return Err(ctx.fail(&at, "`vars` is a map of name to value or list"));
                };
                for (name, v) in vars {
                    let name = key_text(name);
                    let vat = at.key(&name);
                    let values = match v {
                        Yaml::Sequence(list) => list
                            .iter()
                            .enumerate()
                            .map(|(i, x)| scalar(&ctx, x, &vat.index(i)))
                            .collect::<R<Vec<_>>>()?,
                        other => vec![scalar(&ctx, other, &vat)?],
                    };
                    pipeline.vars.insert(name, values);
                }
            }
            "transformations" => {
                has_transformations = true;
                let Yaml::Sequence(list) = value else {
                    return Err(ctx.fail(&at, "`transformations` is a list of processing items"));
                };
                for (i, item) in list.iter().enumerate() {
                    pipeline
                        .items
                        .push(processing_item(&ctx, item, &at.index(i))?);
                }
            }
            // Parts of pySigma's format that act after a backend has written its query.
            "postprocessing" | "finalizers" => {
                if !matches!(value, Yaml::Sequence(l) if l.is_empty()) && !value.is_null() {
                    return Err(ctx.fail(
                        &at.key_name(&key),
                        format!(
                            "`{key}` (query post-processing) is not supported by sigwiki; only `transformations` are"
                        ),
                    ));
                }
            }
            other => {
                return Err(ctx.fail(
                    &root.key_name(other),
                    format!(
                        "unknown key `{other}` (expected name, priority, description, allowed_backends, vars, transformations)"
                    ),
                ));
            }
        }
    }
    if !has_transformations {
        return Err(ctx.fail(&root, "a pipeline needs `transformations`"));
    }
    if pipeline.name.is_empty() {
        pipeline.name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
    }
    Ok(pipeline)
}

fn key_text(key: &Yaml) -> String {
    match key {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => "null".to_string(),
        _ => String::new(),
    }
}

fn text_of(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<String> {
    match value {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        _ => Err(ctx.fail(at, "expected a text")),
    }
}

fn text_list(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<Vec<String>> {
    match value {
        Yaml::Sequence(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| text_of(ctx, v, &at.index(i)))
            .collect(),
        other => Ok(vec![text_of(ctx, other, at)?]),
    }
}

fn scalar(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<PipelineValue> {
    Ok(match value {
        Yaml::String(s) => PipelineValue::Text(s.clone()),
        Yaml::Number(n) => PipelineValue::Number(n.clone()),
        Yaml::Bool(b) => PipelineValue::Bool(*b),
        Yaml::Null => PipelineValue::Null,
        Yaml::Tagged(t) => return scalar(ctx, &t.value, at),
        _ => return Err(ctx.fail(at, "expected a text, number, boolean or null")),
    })
}

fn boolean(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<bool> {
    match value {
        Yaml::Bool(b) => Ok(*b),
        _ => Err(ctx.fail(at, "expected true or false")),
    }
}

/// The parameters of one item or condition, with required/optional accessors that report
/// unknown keys.
struct Params<'m> {
    map: &'m Mapping,
    at: NodePath,
    what: String,
    used: Vec<&'static str>,
}

impl<'m> Params<'m> {
    fn get(&mut self, key: &'static str) -> Option<&'m Yaml> {
        self.used.push(key);
        self.map.get(key)
    }

    fn path(&self, key: &str) -> NodePath {
        self.at.key(key)
    }

    fn required(&mut self, ctx: &Ctx<'_>, key: &'static str) -> R<&'m Yaml> {
        let what = self.what.clone();
        self.get(key)
            .ok_or_else(|| ctx.fail(&self.at, format!("{what} needs `{key}`")))
    }

    fn text(&mut self, ctx: &Ctx<'_>, key: &'static str) -> R<String> {
        let v = self.required(ctx, key)?;
        text_of(ctx, v, &self.path(key))
    }

    fn opt_text(&mut self, ctx: &Ctx<'_>, key: &'static str) -> R<Option<String>> {
        match self.get(key) {
            None | Some(Yaml::Null) => Ok(None),
            Some(v) => text_of(ctx, v, &self.path(key)).map(Some),
        }
    }

    fn flag(&mut self, ctx: &Ctx<'_>, key: &'static str) -> R<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => boolean(ctx, v, &self.path(key)),
        }
    }

    fn texts(&mut self, ctx: &Ctx<'_>, key: &'static str) -> R<Vec<String>> {
        let v = self.required(ctx, key)?;
        text_list(ctx, v, &self.path(key))
    }

    /// Fails on a key no accessor asked for (besides `extra`).
    fn finish(&self, ctx: &Ctx<'_>, extra: &[&str]) -> R<()> {
        for (key, _) in self.map {
            let key = key_text(key);
            if !self.used.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
                return Err(ctx.fail(
                    &self.at.key_name(&key),
                    format!("unknown parameter `{key}` for {}", self.what),
                ));
            }
        }
        Ok(())
    }
}

fn processing_item(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<ProcessingItem> {
    let Yaml::Mapping(map) = value else {
        return Err(ctx.fail(at, "a processing item is a map with `type`"));
    };
    let Some(type_value) = map.get("type") else {
        return Err(ctx.fail(at, "a processing item needs `type`"));
    };
    let type_name = text_of(ctx, type_value, &at.key("type"))?;
    let id = match map.get("id") {
        None | Some(Yaml::Null) => None,
        Some(v) => Some(text_of(ctx, v, &at.key("id"))?),
    };
    let mut params = Params {
        map,
        at: at.clone(),
        what: format!("transformation `{type_name}`"),
        used: Vec::new(),
    };
    let transformation = transformation(ctx, &type_name, &mut params)?;
    if !matches!(transformation, Transformation::Custom(_)) {
        params.finish(ctx, ITEM_KEYS)?;
    }
    let rule_conditions = conditions(ctx, map, at, "rule", rule_condition)?;
    let detection_item_conditions =
        conditions(ctx, map, at, "detection_item", detection_item_condition)?;
    let field_name_conditions = conditions(ctx, map, at, "field_name", field_name_condition)?;
    Ok(ProcessingItem {
        id,
        type_name,
        transformation,
        rule_conditions,
        detection_item_conditions,
        field_name_conditions,
    })
}

fn field_map(ctx: &Ctx<'_>, value: &Yaml, at: &NodePath) -> R<Vec<(String, Vec<String>)>> {
    let Yaml::Mapping(map) = value else {
        return Err(ctx.fail(at, "`mapping` is a map of field name to field name(s)"));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let k = key_text(k);
        let vat = at.key(&k);
        let targets = text_list(ctx, v, &vat)?;
        if targets.is_empty() || targets.iter().any(|t| t.trim().is_empty()) {
            return Err(ctx.fail(
                &vat,
                format!("`{k}` must map to a field name or a list of them"),
            ));
        }
        out.push((k, targets));
    }
    Ok(out)
}

fn placeholder_filter(ctx: &Ctx<'_>, params: &mut Params<'_>) -> R<PlaceholderFilter> {
    let include = match params.get("include") {
        None | Some(Yaml::Null) => None,
        Some(v) => Some(text_list(ctx, v, &params.path("include"))?),
    };
    let exclude = match params.get("exclude") {
        None | Some(Yaml::Null) => None,
        Some(v) => Some(text_list(ctx, v, &params.path("exclude"))?),
    };
    if include.is_some() && exclude.is_some() {
        return Err(ctx.fail(
            &params.at,
            "a placeholder transformation takes `include` or `exclude`, not both",
        ));
    }
    Ok(PlaceholderFilter { include, exclude })
}

fn regex_at(ctx: &Ctx<'_>, pattern: &str, at: &NodePath) -> R<Regex> {
    Regex::new(pattern).map_err(|e| ctx.fail(at, format!("invalid regular expression: {e}")))
}

fn transformation(ctx: &Ctx<'_>, type_name: &str, p: &mut Params<'_>) -> R<Transformation> {
    Ok(match type_name {
        "field_name_mapping" => {
            let v = p.required(ctx, "mapping")?;
            Transformation::FieldNameMapping(
                field_map(ctx, v, &p.path("mapping"))?.into_iter().collect(),
            )
        }
        "field_name_prefix_mapping" => {
            let v = p.required(ctx, "mapping")?;
            Transformation::FieldNamePrefixMapping(field_map(ctx, v, &p.path("mapping"))?)
        }
        "field_name_prefix" => Transformation::FieldNamePrefix(p.text(ctx, "prefix")?),
        "field_name_suffix" => Transformation::FieldNameSuffix(p.text(ctx, "suffix")?),
        "add_condition" => {
            let v = p.required(ctx, "conditions")?;
            let at = p.path("conditions");
            let Yaml::Mapping(map) = v else {
                return Err(ctx.fail(&at, "`conditions` is a map of field to value or list"));
            };
            let mut conditions = Vec::new();
            for (k, v) in map {
                let k = key_text(k);
                let vat = at.key(&k);
                let (values, is_list) = match v {
                    Yaml::Sequence(list) if list.is_empty() => {
                        return Err(ctx.fail(&vat, format!("`{k}` has an empty list")));
                    }
                    Yaml::Sequence(list) => (
                        list.iter()
                            .enumerate()
                            .map(|(i, x)| scalar(ctx, x, &vat.index(i)))
                            .collect::<R<Vec<_>>>()?,
                        true,
                    ),
                    other => (vec![scalar(ctx, other, &vat)?], false),
                };
                conditions.push((k, values, is_list));
            }
            if conditions.is_empty() {
                return Err(ctx.fail(&at, "`conditions` is empty"));
            }
            Transformation::AddCondition {
                conditions,
                template: p.flag(ctx, "template")?,
                negated: p.flag(ctx, "negated")?,
            }
        }
        "change_logsource" => Transformation::ChangeLogsource {
            category: p.opt_text(ctx, "category")?,
            product: p.opt_text(ctx, "product")?,
            service: p.opt_text(ctx, "service")?,
        },
        "replace_string" => {
            let pattern = p.text(ctx, "regex")?;
            let regex = regex_at(ctx, &pattern, &p.path("regex"))?;
            Transformation::ReplaceString {
                regex,
                replacement: p.text(ctx, "replacement")?,
                skip_special: p.flag(ctx, "skip_special")?,
                interpret_special: p.flag(ctx, "interpret_special")?,
            }
        }
        "map_string" => {
            let v = p.required(ctx, "mapping")?;
            Transformation::MapString(field_map(ctx, v, &p.path("mapping"))?.into_iter().collect())
        }
        "set_value" => {
            let v = p.required(ctx, "value")?;
            let value = scalar(ctx, v, &p.path("value"))?;
            let value = match p.opt_text(ctx, "force_type")?.as_deref() {
                None => value,
                Some("str") => PipelineValue::Text(value.text()),
                Some("num") => match value.text().parse::<serde_yaml::Number>() {
                    Ok(n) => PipelineValue::Number(n),
                    Err(_) => {
                        return Err(ctx.fail(
                            &p.path("value"),
                            format!("`{}` is not a number (force_type: num)", value.text()),
                        ));
                    }
                },
                Some(other) => {
                    return Err(ctx.fail(
                        &p.path("force_type"),
                        format!("unknown force_type `{other}` (expected str or num)"),
                    ));
                }
            };
            Transformation::SetValue(value)
        }
        "convert_type" => match p.text(ctx, "target_type")?.as_str() {
            "str" => Transformation::ConvertType(TargetType::Str),
            "num" => Transformation::ConvertType(TargetType::Num),
            other => {
                return Err(ctx.fail(
                    &p.path("target_type"),
                    format!("unknown target_type `{other}` (expected str or num)"),
                ));
            }
        },
        "drop_detection_item" => Transformation::DropDetectionItem,
        "add_field" => Transformation::AddField(p.texts(ctx, "field")?),
        "remove_field" => Transformation::RemoveField(p.texts(ctx, "field")?),
        "set_field" => Transformation::SetField(p.texts(ctx, "fields")?),
        "value_placeholders" => Transformation::ValuePlaceholders(placeholder_filter(ctx, p)?),
        "wildcard_placeholders" => {
            Transformation::WildcardPlaceholders(placeholder_filter(ctx, p)?)
        }
        "query_expression_placeholders" => {
            let expression = p.text(ctx, "expression")?;
            crate::sigma::value::fill_query_expression(&expression, Some("field"), "id")
                .map_err(|m| ctx.fail(&p.path("expression"), m))?;
            let mapping = match p.get("mapping") {
                None | Some(Yaml::Null) => BTreeMap::new(),
                Some(Yaml::Mapping(map)) => {
                    let at = p.path("mapping");
                    map.iter()
                        .map(|(k, v)| {
                            let k = key_text(k);
                            let v = text_of(ctx, v, &at.key(&k))?;
                            Ok((k, v))
                        })
                        .collect::<R<BTreeMap<_, _>>>()?
                }
                Some(_) => {
                    return Err(ctx.fail(
                        &p.path("mapping"),
                        "`mapping` is a map of placeholder name to identifier",
                    ));
                }
            };
            Transformation::QueryExpressionPlaceholders {
                expression,
                mapping,
                filter: placeholder_filter(ctx, p)?,
            }
        }
        "set_state" => {
            let key = p.text(ctx, "key")?;
            let v = p.required(ctx, "val")?;
            Transformation::SetState {
                key,
                value: scalar(ctx, v, &p.path("val"))?,
            }
        }
        "rule_failure" => Transformation::RuleFailure(p.text(ctx, "message")?),
        "detection_item_failure" => Transformation::DetectionItemFailure(p.text(ctx, "message")?),
        "hashes_fields" => {
            let valid_hash_algos = p
                .texts(ctx, "valid_hash_algos")?
                .into_iter()
                .map(|a| a.to_uppercase())
                .collect();
            let field_prefix = p.opt_text(ctx, "field_prefix")?.unwrap_or_default();
            let drop_algo_prefix = p.flag(ctx, "drop_algo_prefix")?;
            let field_to_parse = match p.get("field_to_parse") {
                None | Some(Yaml::Null) => vec!["Hashes".to_string(), "Hash".to_string()],
                Some(v) => text_list(ctx, v, &p.path("field_to_parse"))?,
            };
            Transformation::HashesFields {
                valid_hash_algos,
                field_prefix,
                drop_algo_prefix,
                field_to_parse,
            }
        }
        "case" => match p.opt_text(ctx, "method")?.as_deref().unwrap_or("lower") {
            "lower" => Transformation::Case(CaseMethod::Lower),
            "upper" => Transformation::Case(CaseMethod::Upper),
            "snake_case" => Transformation::Case(CaseMethod::SnakeCase),
            other => {
                return Err(ctx.fail(
                    &p.path("method"),
                    format!("unknown case method `{other}` (expected lower, upper or snake_case)"),
                ));
            }
        },
        "set_custom_attribute" => {
            let attribute = p.text(ctx, "attribute")?;
            let v = p.required(ctx, "value")?;
            Transformation::SetCustomAttribute {
                attribute,
                value: scalar(ctx, v, &p.path("value"))?,
            }
        }
        other => match custom::constructor(other) {
            Some(construct) => {
                let mut params = p.map.clone();
                for key in ITEM_KEYS {
                    params.remove(*key);
                }
                let built = construct(&params).map_err(|m| ctx.fail(&p.at, m))?;
                Transformation::Custom(Arc::from(built))
            }
            None => {
                return Err(ctx.fail(
                    &p.at.key("type"),
                    format!(
                        "unknown transformation type `{other}` (supported: {})",
                        SUPPORTED.join(", ")
                    ),
                ));
            }
        },
    })
}

/// The transformation types the loader knows (besides registered custom ones).
pub const SUPPORTED: &[&str] = &[
    "field_name_mapping",
    "field_name_prefix_mapping",
    "field_name_prefix",
    "field_name_suffix",
    "add_condition",
    "change_logsource",
    "replace_string",
    "map_string",
    "set_value",
    "convert_type",
    "drop_detection_item",
    "add_field",
    "remove_field",
    "set_field",
    "value_placeholders",
    "wildcard_placeholders",
    "query_expression_placeholders",
    "set_state",
    "rule_failure",
    "detection_item_failure",
    "hashes_fields",
    "case",
    "set_custom_attribute",
];

type ConditionParser<C> = fn(&Ctx<'_>, &str, &mut Params<'_>) -> R<C>;

fn conditions<C>(
    ctx: &Ctx<'_>,
    item: &Mapping,
    at: &NodePath,
    kind: &str,
    parse_one: ConditionParser<C>,
) -> R<Conditions<C>> {
    let mut out = Conditions::default();
    let key = format!("{kind}_conditions");
    let one = |value: &Yaml, cat: &NodePath, id: Option<String>| -> R<(Option<String>, C)> {
        let Yaml::Mapping(map) = value else {
            return Err(ctx.fail(cat, "a condition is a map with `type`"));
        };
        let Some(t) = map.get("type") else {
            return Err(ctx.fail(cat, "a condition needs `type`"));
        };
        let type_name = text_of(ctx, t, &cat.key("type"))?;
        let mut params = Params {
            map,
            at: cat.clone(),
            what: format!("{kind} condition `{type_name}`"),
            used: vec!["type"],
        };
        let c = parse_one(ctx, &type_name, &mut params)?;
        params.finish(ctx, &[])?;
        Ok((id, c))
    };
    match item.get(key.as_str()) {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(list)) => {
            for (i, v) in list.iter().enumerate() {
                out.items.push(one(v, &at.key(&key).index(i), None)?);
            }
        }
        Some(Yaml::Mapping(map)) => {
            for (id, v) in map {
                let id = key_text(id);
                out.items.push(one(v, &at.key(&key).key(&id), Some(id))?);
            }
        }
        Some(_) => {
            return Err(ctx.fail(
                &at.key(&key),
                format!("`{key}` is a list of conditions (or a map of id to condition)"),
            ));
        }
    }
    let op_key = format!("{kind}_cond_op");
    if let Some(v) = item.get(op_key.as_str()) {
        out.linking = match text_of(ctx, v, &at.key(&op_key))?.as_str() {
            "and" => Linking::All,
            "or" => Linking::Any,
            other => {
                return Err(ctx.fail(
                    &at.key(&op_key),
                    format!("unknown `{op_key}` `{other}` (expected and or or)"),
                ));
            }
        };
    }
    let not_key = format!("{kind}_cond_not");
    if let Some(v) = item.get(not_key.as_str()) {
        out.negated = boolean(ctx, v, &at.key(&not_key))?;
    }
    let expr_key = format!("{kind}_cond_expr");
    if let Some(v) = item.get(expr_key.as_str()) {
        let eat = at.key(&expr_key);
        let text = text_of(ctx, v, &eat)?;
        let expr = parse_expression(&text).map_err(|m| ctx.fail(&eat, m))?;
        let mut missing = None;
        expr.eval(&mut |id: &str| {
            if !out.items.iter().any(|(n, _)| n.as_deref() == Some(id)) {
                missing.get_or_insert_with(|| id.to_string());
            }
            true
        });
        if let Some(id) = missing {
            return Err(ctx.fail(
                &eat,
                format!("`{expr_key}` names `{id}`, which is not a condition id of `{key}`"),
            ));
        }
        out.expression = Some(expr);
    } else if out.items.iter().any(|(id, _)| id.is_some()) {
        return Err(ctx.fail(
            &at.key(&key),
            format!("conditions given as a map need `{expr_key}`"),
        ));
    }
    Ok(out)
}

/// Parses `a and not (b or c)`: `not` binds tightest, then `and`, then `or`.
pub fn parse_expression(text: &str) -> Result<CondExpr, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            tokens.push(c.to_string());
            chars.next();
        } else {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_whitespace() || d == '(' || d == ')' {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            tokens.push(text[i..end].to_string());
        }
    }
    let mut pos = 0;
    let expr = parse_or(&tokens, &mut pos)?;
    if pos != tokens.len() {
        return Err(format!(
            "unexpected `{}` in condition expression",
            tokens[pos]
        ));
    }
    Ok(expr)
}

fn parse_or(t: &[String], pos: &mut usize) -> Result<CondExpr, String> {
    let mut left = parse_and(t, pos)?;
    while t.get(*pos).is_some_and(|s| s.eq_ignore_ascii_case("or")) {
        *pos += 1;
        left = CondExpr::Or(Box::new(left), Box::new(parse_and(t, pos)?));
    }
    Ok(left)
}

fn parse_and(t: &[String], pos: &mut usize) -> Result<CondExpr, String> {
    let mut left = parse_not(t, pos)?;
    while t.get(*pos).is_some_and(|s| s.eq_ignore_ascii_case("and")) {
        *pos += 1;
        left = CondExpr::And(Box::new(left), Box::new(parse_not(t, pos)?));
    }
    Ok(left)
}

fn parse_not(t: &[String], pos: &mut usize) -> Result<CondExpr, String> {
    match t.get(*pos).map(String::as_str) {
        Some(s) if s.eq_ignore_ascii_case("not") => {
            *pos += 1;
            Ok(CondExpr::Not(Box::new(parse_not(t, pos)?)))
        }
        Some("(") => {
            *pos += 1;
            let inner = parse_or(t, pos)?;
            if t.get(*pos).map(String::as_str) != Some(")") {
                return Err("missing `)` in condition expression".into());
            }
            *pos += 1;
            Ok(inner)
        }
        Some(")") => Err("unexpected `)` in condition expression".into()),
        Some(s) if s.eq_ignore_ascii_case("and") || s.eq_ignore_ascii_case("or") => {
            Err(format!("unexpected `{s}` in condition expression"))
        }
        Some(id) => {
            *pos += 1;
            Ok(CondExpr::Id(id.to_string()))
        }
        None => Err("the condition expression ends too early".into()),
    }
}

fn state_op(ctx: &Ctx<'_>, p: &mut Params<'_>) -> R<StateOp> {
    Ok(match p.opt_text(ctx, "op")?.as_deref() {
        None | Some("eq") => StateOp::Eq,
        Some("ne") => StateOp::Ne,
        Some("lt") => StateOp::Lt,
        Some("lte") => StateOp::Lte,
        Some("gt") => StateOp::Gt,
        Some("gte") => StateOp::Gte,
        Some(other) => {
            return Err(ctx.fail(
                &p.path("op"),
                format!("unknown `op` `{other}` (expected eq, ne, lt, lte, gt, gte)"),
            ));
        }
    })
}

/// `cond: any|all` of a value condition, which pySigma requires.
fn quantifier(ctx: &Ctx<'_>, p: &mut Params<'_>) -> R<Quantifier> {
    Ok(match p.text(ctx, "cond")?.as_str() {
        "any" => Quantifier::Any,
        "all" => Quantifier::All,
        other => {
            return Err(ctx.fail(
                &p.path("cond"),
                format!("unknown `cond` `{other}` (expected any or all)"),
            ));
        }
    })
}

fn unknown_condition(
    ctx: &Ctx<'_>,
    p: &Params<'_>,
    kind: &str,
    name: &str,
    known: &str,
) -> PipelineError {
    ctx.fail(
        &p.at.key("type"),
        format!("unknown {kind} condition type `{name}` (supported: {known})"),
    )
}

fn rule_condition(ctx: &Ctx<'_>, type_name: &str, p: &mut Params<'_>) -> R<RuleCondition> {
    Ok(match type_name {
        "logsource" => {
            let c = RuleCondition::Logsource {
                category: p.opt_text(ctx, "category")?,
                product: p.opt_text(ctx, "product")?,
                service: p.opt_text(ctx, "service")?,
            };
            if matches!(
                &c,
                RuleCondition::Logsource {
                    category: None,
                    product: None,
                    service: None
                }
            ) {
                return Err(ctx.fail(
                    &p.at,
                    "a `logsource` condition needs category, product or service",
                ));
            }
            c
        }
        "contains_detection_item" => RuleCondition::ContainsDetectionItem {
            field: p.opt_text(ctx, "field")?,
            value: p.text(ctx, "value")?,
        },
        "contains_field" => RuleCondition::ContainsField(p.text(ctx, "field")?),
        "processing_item_applied" => {
            RuleCondition::ProcessingItemApplied(p.text(ctx, "processing_item_id")?)
        }
        "processing_state" => {
            let key = p.text(ctx, "key")?;
            let v = p.required(ctx, "val")?;
            let value = scalar(ctx, v, &p.path("val"))?;
            RuleCondition::ProcessingState {
                key,
                value,
                op: state_op(ctx, p)?,
            }
        }
        "is_sigma_rule" => RuleCondition::IsSigmaRule,
        "is_sigma_correlation_rule" => RuleCondition::IsSigmaCorrelationRule,
        "rule_attribute" => RuleCondition::RuleAttribute {
            attribute: p.text(ctx, "attribute")?,
            value: p.text(ctx, "value")?,
            op: state_op(ctx, p)?,
        },
        "tag" => RuleCondition::Tag(p.text(ctx, "tag")?),
        other => {
            return Err(unknown_condition(
                ctx,
                p,
                "rule",
                other,
                "logsource, contains_detection_item, contains_field, processing_item_applied, processing_state, is_sigma_rule, is_sigma_correlation_rule, rule_attribute, tag",
            ));
        }
    })
}

fn detection_item_condition(
    ctx: &Ctx<'_>,
    type_name: &str,
    p: &mut Params<'_>,
) -> R<DetectionItemCondition> {
    Ok(match type_name {
        "match_string" => {
            let pattern = p.text(ctx, "pattern")?;
            DetectionItemCondition::MatchString {
                pattern: regex_at(ctx, &pattern, &p.path("pattern"))?,
                cond: quantifier(ctx, p)?,
                negate: p.flag(ctx, "negate")?,
            }
        }
        "match_value" => {
            let v = p.required(ctx, "value")?;
            DetectionItemCondition::MatchValue {
                value: scalar(ctx, v, &p.path("value"))?,
                cond: quantifier(ctx, p)?,
            }
        }
        "contains_wildcard" => DetectionItemCondition::ContainsWildcard(quantifier(ctx, p)?),
        "is_null" => DetectionItemCondition::IsNull(quantifier(ctx, p)?),
        "processing_item_applied" => {
            DetectionItemCondition::ProcessingItemApplied(p.text(ctx, "processing_item_id")?)
        }
        "processing_state" => {
            let key = p.text(ctx, "key")?;
            let v = p.required(ctx, "val")?;
            let value = scalar(ctx, v, &p.path("val"))?;
            DetectionItemCondition::ProcessingState {
                key,
                value,
                op: state_op(ctx, p)?,
            }
        }
        other => {
            return Err(unknown_condition(
                ctx,
                p,
                "detection item",
                other,
                "match_string, match_value, contains_wildcard, is_null, processing_item_applied, processing_state",
            ));
        }
    })
}

fn field_name_condition(
    ctx: &Ctx<'_>,
    type_name: &str,
    p: &mut Params<'_>,
) -> R<FieldNameCondition> {
    let list = |p: &mut Params<'_>| -> R<FieldList> {
        let fields = p.texts(ctx, "fields")?;
        match p.opt_text(ctx, "mode")?.as_deref() {
            None | Some("plain") => Ok(FieldList::Plain(fields)),
            Some("re") => {
                let at = p.path("fields");
                let patterns = fields
                    .iter()
                    .map(|f| regex_at(ctx, f, &at))
                    .collect::<R<Vec<_>>>()?;
                Ok(FieldList::Regex(patterns))
            }
            Some(other) => Err(ctx.fail(
                &p.path("mode"),
                format!("unknown field matching mode `{other}` (expected plain or re)"),
            )),
        }
    };
    Ok(match type_name {
        "include_fields" => FieldNameCondition::Include(list(p)?),
        "exclude_fields" => FieldNameCondition::Exclude(list(p)?),
        "processing_item_applied" => {
            FieldNameCondition::ProcessingItemApplied(p.text(ctx, "processing_item_id")?)
        }
        "processing_state" => {
            let key = p.text(ctx, "key")?;
            let v = p.required(ctx, "val")?;
            let value = scalar(ctx, v, &p.path("val"))?;
            FieldNameCondition::ProcessingState {
                key,
                value,
                op: state_op(ctx, p)?,
            }
        }
        other => {
            return Err(unknown_condition(
                ctx,
                p,
                "field name",
                other,
                "include_fields, exclude_fields, processing_item_applied, processing_state",
            ));
        }
    })
}
