//! One module per page of the dashboard.

pub mod compare;
pub mod gpu;
pub mod new_run;
pub mod new_run_check;
pub mod new_run_form;
pub mod not_found;
pub mod run;
pub mod runs;
