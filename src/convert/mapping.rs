//! Field mappings: placeholder.
