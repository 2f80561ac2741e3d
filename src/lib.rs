//! sigwiki turns a folder of Sigma detection rules into an analytics wiki.
//!
//! Data flows one way through the stages, each a module with a typed interface that knows
//! nothing of the stages after it:
//!
//! ```text
//! walk → sigma (parse, diagnostics) → enrich (ATT&CK, Data Needed, triggers)
//!      → convert (one backend per query target over the shared condition IR)
//!        or eval (the same IR evaluated on recorded events)
//!      → site (Markdown and HTML pages, indexes, exports, atomic output)
//! ```
//!
//! The binary (`src/main.rs`) is a thin shell over this library.

pub mod attack;
pub mod config;
pub mod convert;
pub mod enrich;
pub mod eval;
pub mod load;
pub mod pipeline;
pub mod sigma;
pub mod site;
pub mod walk;
