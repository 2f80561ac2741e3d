//! The pipeline model: a [`Pipeline`] is an ordered list of [`ProcessingItem`]s, each one
//! [`Transformation`] guarded by rule, detection-item and field-name conditions, as pySigma's
//! processing pipelines define them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use regex::Regex;

use super::custom::CustomTransformation;

/// A value in a pipeline file: what `add_condition`, `set_value`, `set_state` and `vars` carry.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineValue {
    /// A text (in conditions, a Sigma string: `*` and `?` are wildcards, `\` escapes).
    Text(String),
    /// A number, as written.
    Number(serde_yaml::Number),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

impl PipelineValue {
    /// The value as text (what `convert_type: str` and placeholders make of it).
    pub fn text(&self) -> String {
        match self {
            PipelineValue::Text(t) => t.clone(),
            PipelineValue::Number(n) => n.to_string(),
            PipelineValue::Bool(b) => b.to_string(),
            PipelineValue::Null => "null".to_string(),
        }
    }
}

/// How the conditions of one kind combine (`rule_cond_op`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Linking {
    /// Every condition must hold (`and`, the default).
    #[default]
    All,
    /// One condition is enough (`or`).
    Any,
}

/// A boolean expression over named conditions (`rule_cond_expr: "a and not b"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondExpr {
    /// The condition of that id.
    Id(String),
    /// Both.
    And(Box<CondExpr>, Box<CondExpr>),
    /// Either.
    Or(Box<CondExpr>, Box<CondExpr>),
    /// Not.
    Not(Box<CondExpr>),
}

impl CondExpr {
    /// Evaluates the expression; `value` gives each id's result.
    pub fn eval(&self, value: &mut impl FnMut(&str) -> bool) -> bool {
        match self {
            CondExpr::Id(id) => value(id),
            CondExpr::And(a, b) => a.eval(value) && b.eval(value),
            CondExpr::Or(a, b) => a.eval(value) || b.eval(value),
            CondExpr::Not(a) => !a.eval(value),
        }
    }
}

/// A set of conditions of one kind, with how they combine.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions<C> {
    /// The conditions, each with its id when given as a map for an expression.
    pub items: Vec<(Option<String>, C)>,
    /// `…_cond_op`.
    pub linking: Linking,
    /// `…_cond_not`.
    pub negated: bool,
    /// `…_cond_expr`, which replaces `linking` when given.
    pub expression: Option<CondExpr>,
}

impl<C> Default for Conditions<C> {
    fn default() -> Self {
        Conditions {
            items: Vec::new(),
            linking: Linking::All,
            negated: false,
            expression: None,
        }
    }
}

impl<C> Conditions<C> {
    /// Whether there are no conditions (which always holds, negated or not, as in pySigma).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Evaluates the conditions with `test` for each one.
    pub fn holds(&self, mut test: impl FnMut(&C) -> bool) -> bool {
        if self.items.is_empty() {
            return true;
        }
        let result = match &self.expression {
            Some(expr) => expr.eval(&mut |id: &str| {
                self.items
                    .iter()
                    .find(|(name, _)| name.as_deref() == Some(id))
                    .is_some_and(|(_, c)| test(c))
            }),
            None => match self.linking {
                Linking::All => self.items.iter().all(|(_, c)| test(c)),
                Linking::Any => self.items.iter().any(|(_, c)| test(c)),
            },
        };
        result != self.negated
    }
}

/// How a state condition compares (`op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateOp {
    /// Equal (the default).
    #[default]
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Gte,
}

/// A condition on the whole rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleCondition {
    /// `logsource`: every given part equals the rule's.
    Logsource {
        /// `category`.
        category: Option<String>,
        /// `product`.
        product: Option<String>,
        /// `service`.
        service: Option<String>,
    },
    /// `contains_detection_item`: an item of this field with this value.
    ContainsDetectionItem {
        /// The field.
        field: Option<String>,
        /// The value (as text).
        value: String,
    },
    /// `contains_field`: an item on this field.
    ContainsField(String),
    /// `processing_item_applied`.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState {
        /// Key.
        key: String,
        /// Compared value.
        value: PipelineValue,
        /// Comparison.
        op: StateOp,
    },
    /// `is_sigma_rule`.
    IsSigmaRule,
    /// `is_sigma_correlation_rule`.
    IsSigmaCorrelationRule,
    /// `rule_attribute`: `level`, `status`, `id`, `title`, … compared with `value`.
    RuleAttribute {
        /// The attribute.
        attribute: String,
        /// Compared value.
        value: String,
        /// Comparison (`eq`, `ne`, and for levels and dates the orderings).
        op: StateOp,
    },
    /// `tag`: the rule has this tag.
    Tag(String),
}

/// Any/all quantifier of a value condition (`cond`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantifier {
    /// Some value (the default).
    #[default]
    Any,
    /// Every value.
    All,
}

/// A condition on one detection item.
#[derive(Debug, Clone)]
pub enum DetectionItemCondition {
    /// `match_string`: string values match `pattern` (from their start).
    MatchString {
        /// The pattern.
        pattern: Regex,
        /// Any or all values.
        cond: Quantifier,
        /// Invert the match of each value.
        negate: bool,
    },
    /// `match_value`: values equal `value`.
    MatchValue {
        /// The value.
        value: PipelineValue,
        /// Any or all values.
        cond: Quantifier,
    },
    /// `contains_wildcard`.
    ContainsWildcard(Quantifier),
    /// `is_null`.
    IsNull(Quantifier),
    /// `processing_item_applied`: the item was changed by that processing item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState {
        /// Key.
        key: String,
        /// Compared value.
        value: PipelineValue,
        /// Comparison.
        op: StateOp,
    },
}

impl PartialEq for DetectionItemCondition {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// A condition on a field name.
#[derive(Debug, Clone)]
pub enum FieldNameCondition {
    /// `include_fields`: the field is one of `fields` (plain) or matches one (regex, anchored
    /// at the start).
    Include(FieldList),
    /// `exclude_fields`: the opposite.
    Exclude(FieldList),
    /// `processing_item_applied`: the field (or detection item) was produced by that item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState {
        /// Key.
        key: String,
        /// Compared value.
        value: PipelineValue,
        /// Comparison.
        op: StateOp,
    },
}

impl PartialEq for FieldNameCondition {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// The field list of `include_fields` / `exclude_fields`.
#[derive(Debug, Clone)]
pub enum FieldList {
    /// `mode: plain`.
    Plain(Vec<String>),
    /// `mode: re`: each pattern must match at the start of the name.
    Regex(Vec<Regex>),
}

impl FieldList {
    /// Whether `field` is in the list.
    pub fn contains(&self, field: &str) -> bool {
        match self {
            FieldList::Plain(names) => names.iter().any(|n| n == field),
            FieldList::Regex(patterns) => patterns
                .iter()
                .any(|p| p.find(field).is_some_and(|m| m.start() == 0)),
        }
    }
}

/// The target type of `convert_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    /// Text.
    Str,
    /// Number.
    Num,
}

/// `case`'s method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMethod {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// `snake_case`.
    SnakeCase,
}

/// Placeholder names a placeholder transformation handles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceholderFilter {
    /// Only these (when given).
    pub include: Option<Vec<String>>,
    /// Not these.
    pub exclude: Option<Vec<String>>,
}

impl PlaceholderFilter {
    /// Whether the placeholder `name` is handled.
    pub fn handles(&self, name: &str) -> bool {
        self.include
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == name))
            && !self
                .exclude
                .as_ref()
                .is_some_and(|list| list.iter().any(|n| n == name))
    }
}

/// What a processing item does.
#[derive(Debug, Clone)]
pub enum Transformation {
    /// `field_name_mapping`: field → one field, or several (an OR of the item on each).
    FieldNameMapping(BTreeMap<String, Vec<String>>),
    /// `field_name_prefix_mapping`: the first matching prefix is replaced.
    FieldNamePrefixMapping(Vec<(String, Vec<String>)>),
    /// `field_name_prefix`.
    FieldNamePrefix(String),
    /// `field_name_suffix`.
    FieldNameSuffix(String),
    /// `add_condition`: `field: value(s)` AND-ed in front of every condition.
    AddCondition {
        /// Field and values (a list is an OR), in file order.
        conditions: Vec<(String, Vec<PipelineValue>, bool)>,
        /// `$category`, `$product`, `$service` in texts are the rule's.
        template: bool,
        /// `not` in front of the added condition.
        negated: bool,
    },
    /// `change_logsource`.
    ChangeLogsource {
        /// New category.
        category: Option<String>,
        /// New product.
        product: Option<String>,
        /// New service.
        service: Option<String>,
    },
    /// `replace_string`: regex replacement in string values.
    ReplaceString {
        /// The pattern.
        regex: Regex,
        /// The replacement (`\1` or `$1` group references).
        replacement: String,
        /// Replace in the literal parts only, leaving wildcards alone.
        skip_special: bool,
        /// With `skip_special`, whether `*`/`?` in the result are wildcards.
        interpret_special: bool,
    },
    /// `map_string`: a whole string value → one or several.
    MapString(BTreeMap<String, Vec<String>>),
    /// `set_value`: every value becomes this one.
    SetValue(PipelineValue),
    /// `convert_type`.
    ConvertType(TargetType),
    /// `drop_detection_item`.
    DropDetectionItem,
    /// `add_field`: to the rule's `fields`.
    AddField(Vec<String>),
    /// `remove_field`.
    RemoveField(Vec<String>),
    /// `set_field`.
    SetField(Vec<String>),
    /// `value_placeholders`: `%name%` → the values of the variable `name`.
    ValuePlaceholders(PlaceholderFilter),
    /// `wildcard_placeholders`: `%name%` → `*`.
    WildcardPlaceholders(PlaceholderFilter),
    /// `query_expression_placeholders`: a value that is only `%name%` → a query part the
    /// backend writes as it stands (a list lookup of the SIEM), with `{field}` and `{id}`
    /// filled in.
    QueryExpressionPlaceholders {
        /// The expression, with `{field}` and `{id}`.
        expression: String,
        /// Placeholder name → what `{id}` becomes (default: the name itself).
        mapping: BTreeMap<String, String>,
        /// Which placeholders it handles.
        filter: PlaceholderFilter,
    },
    /// `set_state`: backend state (`query_table`, `index`…).
    SetState {
        /// Key.
        key: String,
        /// Value.
        value: PipelineValue,
    },
    /// `rule_failure`: the rule is refused with the message.
    RuleFailure(String),
    /// `detection_item_failure`: a rule with a matching item is refused.
    DetectionItemFailure(String),
    /// `hashes_fields`: `Hashes: SHA1=…,MD5=…` split into one field per algorithm.
    HashesFields {
        /// Algorithms kept (upper case).
        valid_hash_algos: Vec<String>,
        /// Prefix of the new field names.
        field_prefix: String,
        /// Leave the algorithm out of the new names.
        drop_algo_prefix: bool,
        /// The fields holding hashes.
        field_to_parse: Vec<String>,
    },
    /// `case`: string values to lower/upper/snake case.
    Case(CaseMethod),
    /// `set_custom_attribute`: for a backend to read.
    SetCustomAttribute {
        /// Attribute name.
        attribute: String,
        /// Its value.
        value: PipelineValue,
    },
    /// A transformation registered in [`super::custom`] (backend-specific).
    Custom(Arc<dyn CustomTransformation>),
}

/// One processing item.
#[derive(Debug, Clone)]
pub struct ProcessingItem {
    /// `id`, for `processing_item_applied` conditions.
    pub id: Option<String>,
    /// The transformation's `type` as written.
    pub type_name: String,
    /// What it does.
    pub transformation: Transformation,
    /// Conditions on the rule.
    pub rule_conditions: Conditions<RuleCondition>,
    /// Conditions on each detection item.
    pub detection_item_conditions: Conditions<DetectionItemCondition>,
    /// Conditions on field names.
    pub field_name_conditions: Conditions<FieldNameCondition>,
}

/// A processing pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `name`.
    pub name: String,
    /// What the pipeline is called on the command line (built-in name or file path).
    pub spec: String,
    /// `priority`: lower runs first when chained.
    pub priority: i64,
    /// `description`, if any.
    pub description: Option<String>,
    /// `allowed_backends`: the targets it is made for (empty: any).
    pub allowed_backends: Vec<String>,
    /// `vars`: values for `value_placeholders`.
    pub vars: BTreeMap<String, Vec<PipelineValue>>,
    /// The items, in order.
    pub items: Vec<ProcessingItem>,
    /// The file it was read from (or `<built-in NAME>`).
    pub file: PathBuf,
}
