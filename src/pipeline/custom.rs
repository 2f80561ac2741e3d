//! Backend-specific transformations: the extension point for transformation types pySigma's
//! backend packages define for themselves (the Kusto pipelines' table selection, for example).
//!
//! A custom transformation is a type implementing [`CustomTransformation`], registered with
//! its pipeline-file `type` name and constructor in [`REGISTRY`]. The loader hands the
//! constructor the item's parameters (every key but the shared ones: `id`, `type`, the
//! conditions); the engine calls [`CustomTransformation::apply`] when the item's rule
//! conditions hold. State a backend reads (such as `query_table`) is set through
//! [`RuleContext::set_state`].

use std::fmt;

use serde_yaml::Mapping;

use super::model::PipelineValue;
use crate::sigma::Rule;

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

/// A transformation type defined outside pySigma's core set.
pub trait CustomTransformation: fmt::Debug + Send + Sync {
    /// Applies the transformation to the rule. An `Err` refuses the rule with that message.
    fn apply(&self, context: &mut RuleContext<'_>) -> Result<(), String>;
}

/// Builds a custom transformation from its parameters, or says what is wrong with them.
pub type Constructor = fn(&Mapping) -> Result<Box<dyn CustomTransformation>, String>;

/// The registered custom transformation types: `type` name and constructor. Empty in the core;
/// backend-specific pipelines add theirs here.
pub const REGISTRY: &[(&str, Constructor)] = &[];

/// The constructor registered for `type_name`.
pub fn constructor(type_name: &str) -> Option<Constructor> {
    REGISTRY
        .iter()
        .find(|(name, _)| *name == type_name)
        .map(|(_, c)| *c)
}
