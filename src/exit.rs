//! The documented exit codes. Every way the process can end maps to one of these.

/// The target conforms: every check that ran passed.
pub const CONFORMANT: u8 = 0;
/// The run finished and at least one check failed.
pub const NOT_CONFORMANT: u8 = 1;
/// specgate could not do its job: a bad flag, an unreadable or invalid spec, an unreachable target,
/// a report that could not be written, or a test account that could not be restored.
pub const ERROR: u8 = 2;
