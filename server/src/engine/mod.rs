//! The load engine: drives an OpenAI-compatible server and measures it. Takes a `RunSpec`, emits `RunEvent`s on a
//! channel and returns a report. Imports nothing from axum, leptos or sqlx: the CLI and the dashboard share it.

pub mod target;
