//! Backend-specific transformations: the extension point for transformation types pySigma's
//! backend packages define for themselves (the Kusto pipelines' table selection, for example).
//!
//! A custom transformation is a type implementing [`CustomTransformation`], registered with
//! its pipeline-file `type` name and constructor in [`REGISTRY`]. The loader hands the
//! constructor the item's parameters (every key but the shared ones: `id`, `type`, the
//! conditions); the engine calls [`CustomTransformation::apply`] when the item's rule
//! conditions hold. State a backend reads (such as `query_table`) is set through
//! [`RuleContext::set_state`]. A transformation that works on detection items says so
//! ([`CustomTransformation::per_item`]); the engine then hands it each item the processing
//! item's detection-item and field-name conditions select ([`CustomTransformation::apply_item`]).

use std::fmt;

use serde_yaml::Mapping;

use super::model::PipelineValue;
use crate::sigma::{FieldMatch, Rule};

/// What a custom transformation may read and change while a rule is processed.
pub struct RuleContext<'a> {
    /// The rule, changed in place.
    pub rule: &'a mut Rule,
    /// The processing state the backend receives.
    pub state: &'a mut super::ProcessingState,
}

impl RuleContext<'_> {
    /// Sets a state value for the backend (`query_table`, `index`…).
    pub fn set_state(&mut self, key: &str, value: PipelineValue) {
        self.state.insert(key.to_string(), value);
    }
}

/// What a custom transformation made of one detection item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemChange {
    /// Nothing.
    Unchanged,
    /// Changed in place.
    Changed,
    /// Replaced, in its place, by an OR of AND-groups of items (pySigma's nested detection);
    /// no group at all removes the item.
    AnyOf(Vec<Vec<FieldMatch>>),
}

/// A transformation type defined outside pySigma's core set.
pub trait CustomTransformation: fmt::Debug + Send + Sync {
    /// Applies the transformation to the rule. An `Err` refuses the rule with that message.
    fn apply(&self, _context: &mut RuleContext<'_>) -> Result<(), String> {
        Ok(())
    }

    /// Whether the transformation also works on detection items (after [`Self::apply`]).
    fn per_item(&self) -> bool {
        false
    }

    /// Transforms one detection item; `state` is the processing state so far. An `Err`
    /// refuses the rule with that message, at the item.
    fn apply_item(
        &self,
        _state: &super::ProcessingState,
        _item: &mut FieldMatch,
    ) -> Result<ItemChange, String> {
        Ok(ItemChange::Unchanged)
    }
}

/// Builds a custom transformation from its parameters, or says what is wrong with them.
pub type Constructor = fn(&Mapping) -> Result<Box<dyn CustomTransformation>, String>;

/// The registered custom transformation types: `type` name and constructor (the Kusto
/// pipelines' in [`super::kusto`]).
pub const REGISTRY: &[(&str, Constructor)] = super::kusto::TYPES;

/// The constructor registered for `type_name`.
pub fn constructor(type_name: &str) -> Option<Constructor> {
    REGISTRY
        .iter()
        .find(|(name, _)| *name == type_name)
        .map(|(_, c)| *c)
}
