//! The MITRE ATT&CK catalog: the embedded compact dataset, the STIX importer that produces it,
//! and the resolution of Sigma `attack.*` tags to tactics, techniques, groups and software.
