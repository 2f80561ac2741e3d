//! The custom transformation types of the Kusto pipelines (`microsoft_xdr`, `sentinel_asim`,
//! `azure_monitor`), with the semantics pySigma-backend-kusto 1.0.1 gives its own Python
//! transformations; the tables, field names and values they work with are parameters, written
//! out in `data/pipelines/*.yml`.
//!
//! - `kusto_set_query_table`: chooses the table a rule's query reads (state `query_table`, which
//!   the `kusto` target writes before `| where`): a table already set by an earlier pipeline,
//!   else the table of the rule's category, else (a rule without category) the table of the
//!   category of the first `EventID`/`EventCode` value of a `sel…` search identifier; a rule
//!   with none is refused.
//! - `kusto_field_check`: refuses a rule with a field the table does not have (and no mapping
//!   gave it), naming the field and listing the fields the table takes.
//! - `kusto_hashes_values`: a Sysmon `Hashes` item (`SHA256=…`, `MD5|…`, or a bare hash told
//!   apart by its length) as one item per hash algorithm, OR-ed.
//! - `kusto_split_domain_user`: a `DOMAIN\user` value as the user name AND the domain in the
//!   table's domain column.
//! - `kusto_parent_image_name`: a parent image path cut down to its file name (the tables have
//!   the parent's file name only).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use serde_yaml::{Mapping, Value as Yaml};

use super::ProcessingState;
use super::custom::{Constructor, CustomTransformation, ItemChange, RuleContext};
use super::model::PipelineValue;
use crate::sigma::{Combine, FieldMatch, RawValue, SearchBody, SigmaString, Value, ValueGroup};

/// The Kusto custom transformation types: `type` name and constructor.
pub const TYPES: &[(&str, Constructor)] = &[
    ("kusto_set_query_table", SetQueryTable::build),
    ("kusto_field_check", FieldCheck::build),
    ("kusto_hashes_values", HashesValues::build),
    ("kusto_split_domain_user", SplitDomainUser::build),
    ("kusto_parent_image_name", ParentImageName::build),
];

/// The state key the `kusto` target reads its table from.
pub const QUERY_TABLE: &str = "query_table";

/// pySigma-backend-kusto's refusal of a rule it finds no table for.
const NO_TABLE: &str = "Unable to determine table name from rule.  The query table is determined in the following order of priority:
  1) The value provided to processing pipeline's query_table parameter, if using a Python script.
  2) If the query_table is already set in the pipeline state, such as from a custom user-defined pipeline if using sigma-cli.
  3) If the rule's logsource category is present in the pipeline's category_to_table_mappings dictionary in mappings.py, use that value.
  4) If the rule has an EventID, use the table name from the pipeline's eventid_to_table_mappings dictionary in mappings.py.
For more details, see https://github.com/AttackIQ/pySigma-backend-kusto/blob/main/README.md#%EF%B8%8F-custom-table-names-new-in-030-beta.";

fn only_keys(p: &Mapping, known: &[&str]) -> Result<(), String> {
    for key in p.keys() {
        let name = key.as_str().unwrap_or_default();
        if !known.contains(&name) {
            return Err(if known.is_empty() {
                format!("unknown parameter `{name}` (this type takes none)")
            } else {
                format!("unknown parameter `{name}` (known: {})", known.join(", "))
            });
        }
    }
    Ok(())
}

fn text(v: &Yaml, what: &str) -> Result<String, String> {
    match v {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{what} must be a text")),
    }
}

fn texts(v: &Yaml, what: &str) -> Result<Vec<String>, String> {
    match v {
        Yaml::Sequence(items) => items.iter().map(|i| text(i, what)).collect(),
        other => Ok(vec![text(other, what)?]),
    }
}

fn map_of<'m>(p: &'m Mapping, key: &str) -> Result<Option<&'m Mapping>, String> {
    match p.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::Mapping(m)) => Ok(Some(m)),
        Some(_) => Err(format!("`{key}` must be a map")),
    }
}

fn text_map(p: &Mapping, key: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    if let Some(m) = map_of(p, key)? {
        for (k, v) in m {
            let k = text(k, &format!("a key of `{key}`"))?;
            out.insert(k.clone(), text(v, &format!("`{key}.{k}`"))?);
        }
    }
    Ok(out)
}

/// A string value as pySigma's `to_plain()` gives it: wildcards as `*`/`?`, no escapes; or
/// why the value has no such text.
fn plain(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.display_text()),
        Value::Number(n) => Ok(n.text.clone()),
        other => Err(format!(
            "a {} value has no plain text to split",
            other.kind_name()
        )),
    }
}

/// A detection item of `field` matching any of `values` (Sigma strings, wildcards live).
fn item_of(field: &str, values: &[String], model: &FieldMatch) -> FieldMatch {
    FieldMatch {
        field: Some(field.to_string()),
        modifiers: Vec::new(),
        values: values
            .iter()
            .map(|v| ValueGroup {
                original: RawValue::String(v.clone()),
                variants: vec![Value::String(SigmaString::parse(v))],
                expanded: false,
            })
            .collect(),
        combine: Combine::Any,
        is_list: values.len() > 1,
        cased: false,
        negated: false,
        time_part: None,
        path: model.path.clone(),
    }
}

/// `kusto_set_query_table`.
#[derive(Debug)]
struct SetQueryTable {
    /// `table`: always this table.
    table: Option<String>,
    /// `category_to_table`.
    category_to_table: BTreeMap<String, String>,
    /// `event_id_category_to_table`: event category → table.
    event_id_category_to_table: BTreeMap<String, String>,
    /// `event_id_categories`: event category → event IDs, in the order they are looked up.
    event_id_categories: Vec<(String, Vec<i64>)>,
}

impl SetQueryTable {
    fn build(p: &Mapping) -> Result<Box<dyn CustomTransformation>, String> {
        only_keys(
            p,
            &[
                "table",
                "category_to_table",
                "event_id_category_to_table",
                "event_id_categories",
            ],
        )?;
        let table = match p.get("table") {
            None | Some(Yaml::Null) => None,
            Some(v) => Some(text(v, "`table`")?),
        };
        let mut event_id_categories = Vec::new();
        if let Some(m) = map_of(p, "event_id_categories")? {
            for (k, v) in m {
                let k = text(k, "a key of `event_id_categories`")?;
                let Yaml::Sequence(ids) = v else {
                    return Err(format!(
                        "`event_id_categories.{k}` must be a list of event IDs"
                    ));
                };
                let ids = ids
                    .iter()
                    .map(|i| {
                        i.as_i64()
                            .ok_or_else(|| format!("`event_id_categories.{k}` holds a non-integer"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                event_id_categories.push((k, ids));
            }
        }
        Ok(Box::new(SetQueryTable {
            table,
            category_to_table: text_map(p, "category_to_table")?,
            event_id_category_to_table: text_map(p, "event_id_category_to_table")?,
            event_id_categories,
        }))
    }

    /// The table of an event ID: that of the first category listing it.
    fn table_of_event(&self, id: i64) -> Option<&String> {
        let (category, _) = self
            .event_id_categories
            .iter()
            .find(|(_, ids)| ids.contains(&id))?;
        self.event_id_category_to_table.get(category)
    }

    /// The table of the first `EventID`/`EventCode` value of a map (not of a list of maps) of
    /// a search identifier whose name starts with `sel`.
    fn table_of_events(&self, rule: &crate::sigma::Rule) -> Option<String> {
        for identifier in &rule.detection.identifiers {
            if !identifier.name.to_lowercase().starts_with("sel") {
                continue;
            }
            let SearchBody::AllOf(items) = &identifier.body else {
                continue;
            };
            for item in items {
                if !matches!(item.field.as_deref(), Some("EventID" | "EventCode")) {
                    continue;
                }
                let found = item.all_values().find_map(|v| {
                    let id = plain(v).ok()?.trim().parse::<i64>().ok()?;
                    self.table_of_event(id)
                });
                if let Some(table) = found {
                    return Some(table.clone());
                }
            }
        }
        None
    }
}

impl CustomTransformation for SetQueryTable {
    fn apply(&self, context: &mut RuleContext<'_>) -> Result<(), String> {
        let already = match context.state.get(QUERY_TABLE) {
            Some(PipelineValue::Null) | None => None,
            Some(v) => Some(v.text()).filter(|t| !t.is_empty()),
        };
        let table = if let Some(t) = &self.table {
            Some(t.clone())
        } else if already.is_some() {
            already
        } else if let Some(category) = &context.rule.logsource.category {
            self.category_to_table.get(category).cloned()
        } else {
            self.table_of_events(context.rule)
        };
        match table {
            Some(t) => {
                context.set_state(QUERY_TABLE, PipelineValue::Text(t));
                Ok(())
            }
            None => Err(NO_TABLE.to_string()),
        }
    }
}

/// `kusto_field_check`.
#[derive(Debug)]
struct FieldCheck {
    /// `message`, with `{table}` and `{fields}` (the sorted valid fields, comma-separated).
    message: String,
    /// `tables`: table → the fields it takes besides `all_tables`.
    tables: BTreeMap<String, TableFields>,
    /// `all_tables`: fields every table takes (the generic mappings' sources, `Hashes`).
    all_tables: Vec<String>,
}

/// The fields of one table of a [`FieldCheck`].
#[derive(Debug)]
struct TableFields {
    fields: HashSet<String>,
    /// Its valid fields sorted and comma-separated, as a refusal names them: made once, since a
    /// pipeline refuses thousands of rules and a table has hundreds of fields, and only for the
    /// tables a refusal names (Azure Monitor's pipeline lists hundreds of tables, and building
    /// every listing up front was a visible share of loading it).
    listed: OnceLock<String>,
}

impl FieldCheck {
    fn build(p: &Mapping) -> Result<Box<dyn CustomTransformation>, String> {
        only_keys(p, &["message", "tables", "all_tables"])?;
        let message = text(
            p.get("message").ok_or("`message` is required")?,
            "`message`",
        )?;
        let all_tables = match p.get("all_tables") {
            None | Some(Yaml::Null) => Vec::new(),
            Some(v) => texts(v, "`all_tables`")?,
        };
        let mut tables = BTreeMap::new();
        let Some(m) = map_of(p, "tables")? else {
            return Err("`tables` is required: table name → its field names".into());
        };
        for (k, v) in m {
            let k = text(k, "a key of `tables`")?;
            let fields = texts(v, &format!("`tables.{k}`"))?;
            let fields = TableFields {
                fields: fields.into_iter().collect(),
                listed: OnceLock::new(),
            };
            tables.insert(k, fields);
        }
        Ok(Box::new(FieldCheck {
            message,
            tables,
            all_tables,
        }))
    }

    /// The valid fields of `table`, sorted and comma-separated.
    fn listed<'t>(&self, table: &'t TableFields) -> &'t str {
        table.listed.get_or_init(|| {
            let valid: BTreeSet<&str> = table
                .fields
                .iter()
                .map(String::as_str)
                .chain(self.all_tables.iter().map(String::as_str))
                .collect();
            valid.into_iter().collect::<Vec<_>>().join(", ")
        })
    }
}

impl CustomTransformation for FieldCheck {
    fn per_item(&self) -> bool {
        true
    }

    fn apply_item(
        &self,
        state: &ProcessingState,
        item: &mut FieldMatch,
    ) -> Result<ItemChange, String> {
        let Some(field) = item.field.as_deref() else {
            return Ok(ItemChange::Unchanged);
        };
        let Some(table) = state.get(QUERY_TABLE).map(PipelineValue::text) else {
            return Ok(ItemChange::Unchanged);
        };
        let Some(table_fields) = self.tables.get(&table) else {
            // A table the pipeline knows nothing of (set by the user): its fields are theirs.
            return Ok(ItemChange::Unchanged);
        };
        let valid =
            |f: &str| table_fields.fields.contains(f) || self.all_tables.iter().any(|a| a == f);
        // A field reference to a missing column refuses the rule too, naming the item's field
        // (pySigma's field condition selects the item by its references as well).
        let bad_reference = item
            .all_values()
            .any(|v| matches!(v, Value::FieldRef(f) if !valid(f)));
        if valid(field) && !bad_reference {
            return Ok(ItemChange::Unchanged);
        }
        let listed = self.listed(table_fields);
        Err(format!(
            "Invalid SigmaDetectionItem field name encountered: {field}. {}",
            self.message
                .replace("{table}", &table)
                .replace("{fields}", listed)
        ))
    }
}

/// `kusto_hashes_values`.
#[derive(Debug)]
struct HashesValues {
    /// `valid_hash_algos`.
    valid: Vec<String>,
    /// `field_prefix`.
    prefix: String,
    /// `drop_algo_prefix`: every hash goes to the field `field_prefix`.
    drop_algo: bool,
}

impl HashesValues {
    fn build(p: &Mapping) -> Result<Box<dyn CustomTransformation>, String> {
        only_keys(p, &["valid_hash_algos", "field_prefix", "drop_algo_prefix"])?;
        let valid = texts(
            p.get("valid_hash_algos")
                .ok_or("`valid_hash_algos` is required")?,
            "`valid_hash_algos`",
        )?;
        let prefix = match p.get("field_prefix") {
            None | Some(Yaml::Null) => String::new(),
            Some(v) => text(v, "`field_prefix`")?,
        };
        let drop_algo = match p.get("drop_algo_prefix") {
            None | Some(Yaml::Null) => false,
            Some(Yaml::Bool(b)) => *b,
            Some(_) => return Err("`drop_algo_prefix` must be true or false".into()),
        };
        Ok(Box::new(HashesValues {
            valid,
            prefix,
            drop_algo,
        }))
    }
}

impl CustomTransformation for HashesValues {
    fn per_item(&self) -> bool {
        true
    }

    fn apply_item(
        &self,
        _state: &ProcessingState,
        item: &mut FieldMatch,
    ) -> Result<ItemChange, String> {
        let mut found = false;
        let mut by_field: Vec<(String, Vec<String>)> = Vec::new();
        for value in item.all_values() {
            let text = plain(value)?;
            let mut parts: Vec<&str> = text.split('|').collect();
            if parts.len() == 1 {
                parts = parts[0].split('=').collect();
            }
            let (algo, hash) = if let [algo, hash] = parts.as_slice() {
                let algo = algo.trim_start_matches('*').to_uppercase();
                let algo = if self.valid.contains(&algo) {
                    found = true;
                    algo
                } else {
                    String::new()
                };
                (algo, hash.to_string())
            } else {
                let hash = parts[0];
                // A bare hash: its algorithm told by its length (wildcards counted).
                let algo = match hash.chars().count() {
                    32 => "MD5",
                    40 => "SHA1",
                    64 => "SHA256",
                    128 => "SHA512",
                    _ => "",
                };
                found |= !algo.is_empty();
                (algo.to_string(), hash.to_string())
            };
            let mut field = self.prefix.clone();
            if !self.drop_algo {
                field.push_str(&algo);
            }
            match by_field.iter_mut().find(|(f, _)| *f == field) {
                Some((_, hashes)) => hashes.push(hash),
                None => by_field.push((field, vec![hash])),
            }
        }
        if !found {
            return Err(format!(
                "No valid hash algo found in Hashes field. Please use one of the following: {}",
                self.valid.join(", ")
            ));
        }
        // Hashes of no known algorithm have no field (without a prefix) and are left out.
        Ok(ItemChange::AnyOf(
            by_field
                .into_iter()
                .filter(|(field, _)| !field.is_empty())
                .map(|(field, hashes)| vec![item_of(&field, &hashes, item)])
                .collect(),
        ))
    }
}

/// `kusto_split_domain_user`.
#[derive(Debug)]
struct SplitDomainUser {
    /// `domain_fields`: user-name column → domain column.
    domain_fields: BTreeMap<String, String>,
    /// `default_domain_field`: the domain column of other user-name columns.
    default_domain_field: String,
}

impl SplitDomainUser {
    fn build(p: &Mapping) -> Result<Box<dyn CustomTransformation>, String> {
        only_keys(p, &["domain_fields", "default_domain_field"])?;
        Ok(Box::new(SplitDomainUser {
            domain_fields: text_map(p, "domain_fields")?,
            default_domain_field: text(
                p.get("default_domain_field")
                    .ok_or("`default_domain_field` is required")?,
                "`default_domain_field`",
            )?,
        }))
    }
}

impl CustomTransformation for SplitDomainUser {
    fn per_item(&self) -> bool {
        true
    }

    fn apply_item(
        &self,
        _state: &ProcessingState,
        item: &mut FieldMatch,
    ) -> Result<ItemChange, String> {
        let Some(field) = item.field.clone() else {
            return Ok(ItemChange::Unchanged);
        };
        let mut groups = Vec::new();
        for value in item.all_values() {
            let text = plain(value).map_err(|e| format!("`{field}`: {e} into domain and user"))?;
            let parts: Vec<String> = text.split('\\').map(str::to_string).collect();
            if let [domain, user] = parts.as_slice() {
                let domain_field = self
                    .domain_fields
                    .get(&field)
                    .unwrap_or(&self.default_domain_field);
                groups.push(vec![
                    item_of(&field, std::slice::from_ref(user), item),
                    item_of(domain_field, std::slice::from_ref(domain), item),
                ]);
            } else {
                let mut same = item_of(&field, &parts, item);
                same.modifiers = item.modifiers.clone();
                same.cased = item.cased;
                groups.push(vec![same]);
            }
        }
        Ok(ItemChange::AnyOf(groups))
    }
}

/// `kusto_parent_image_name`.
#[derive(Debug)]
struct ParentImageName;

impl ParentImageName {
    fn build(p: &Mapping) -> Result<Box<dyn CustomTransformation>, String> {
        only_keys(p, &[])?;
        Ok(Box::new(ParentImageName))
    }
}

impl CustomTransformation for ParentImageName {
    fn per_item(&self) -> bool {
        true
    }

    fn apply_item(
        &self,
        _state: &ProcessingState,
        item: &mut FieldMatch,
    ) -> Result<ItemChange, String> {
        let mut changed = false;
        for group in &mut item.values {
            for v in &mut group.variants {
                let Value::String(s) = v else { continue };
                let text = s.display_text();
                let name = text.rsplit('\\').next().unwrap_or_default();
                let name = name.rsplit('/').next().unwrap_or_default();
                *v = Value::String(SigmaString::parse(name));
                changed = true;
            }
        }
        Ok(if changed {
            ItemChange::Changed
        } else {
            ItemChange::Unchanged
        })
    }
}
