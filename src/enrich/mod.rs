//! Enrichment of parsed rules with facts from embedded datasets: the log data a rule needs
//! ("Data Needed") and the Atomic Red Team tests that trigger its techniques.
