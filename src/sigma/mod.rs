//! The Sigma language: YAML loading with positions, the rule model (rules, correlations,
//! filters), detection items and modifiers, the condition grammar, and diagnostics.
//!
//! The entry points are [`parse_file`] / [`parse_source`] for one file and [`RuleSet`] for a
//! whole set of files with cross-rule references resolved.

pub mod collection;
pub mod condition;
pub mod detection;
pub mod diagnostic;
pub mod encode;
pub mod filters;
pub mod modifier;
pub mod rule;
pub mod value;
pub mod yaml;

pub use collection::{
    Document, DocumentRef, ParseOptions, RuleFile, RuleSet, parse_file, parse_source,
};
pub use condition::{Aggregation, Condition, ConditionExpr, Quantifier, Selector, SelectorTarget};
pub use detection::{
    Combine, Detection, FieldMatch, RawValue, SearchBody, SearchIdentifier, ValueGroup,
};
pub use diagnostic::{Code, Diagnostic, Severity};
pub use modifier::Modifier;
pub use rule::{
    Correlation, CorrelationRule, CorrelationType, Filter, FilterRule, Level, LogSource, Metadata,
    Rule, SigmaKind, Status,
};
pub use value::{Piece, SigmaString, Value};
pub use yaml::Limits;
