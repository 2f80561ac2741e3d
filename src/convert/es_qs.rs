//! `es-qs` ("Kibana query"): the Lucene query string of legacy sigmac's `es-qs` target, as
//! sigmac 0.23.1 printed it without a configuration. Everything but the tokens lives in the
//! shared legacy engine ([`super::legacy`]).

use super::legacy::{self, ES_QS};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};
use crate::sigma::SigmaKind;

/// The `es-qs` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct EsQs;

impl Backend for EsQs {
    fn name(&self) -> &'static str {
        "es-qs"
    }

    fn title(&self) -> &'static str {
        "Kibana query"
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
        let mut query = legacy::rule_query(&ES_QS, input, &rule.detection)?;
        query.push('\n');
        Ok(query)
    }
}
