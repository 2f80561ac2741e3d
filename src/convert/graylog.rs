//! `graylog` ("Graylog"): the query of legacy sigmac's `graylog` target, which is `es-qs` with
//! list values separated by a space instead of ` OR ` and `=` left unescaped. Everything but
//! those tokens lives in the shared legacy engine ([`super::legacy`]).

use super::legacy::{self, GRAYLOG};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};
use crate::sigma::SigmaKind;

/// The `graylog` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Graylog;

impl Backend for Graylog {
    fn name(&self) -> &'static str {
        "graylog"
    }

    fn title(&self) -> &'static str {
        "Graylog"
    }

    fn support(&self, feature: Feature) -> Support {
        legacy::support(feature)
    }

    /// sigmac predates correlations (see [`Backend::honours_correlation_generate`]).
    fn honours_correlation_generate(&self) -> bool {
        false
    }

    fn render(&self, input: &ConvertInput<'_>) -> Result<String, ConvertError> {
        let SigmaKind::Rule(rule) = &input.document.kind else {
            return Err(legacy::not_a_detection_rule(self.name(), input));
        };
        let mut query = legacy::rule_query(&GRAYLOG, input, &rule.detection)?;
        query.push('\n');
        Ok(query)
    }
}
