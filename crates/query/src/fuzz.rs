//! Entry points for the fuzz targets in `fuzz/` (issue #6 §3; `docs/fuzzing.md`): the render
//! target parser, which is private, checked against its own prefix parser. Hidden from the
//! docs and not an API.

use crate::grammar;

/// Parses `target` as `/render` does. When it parses, it must also parse as a prefix to the
/// same tree (the two entries share one grammar), which this checks by returning
/// `Err("prefix parse differs")`. `Ok(false)` means the target was refused.
pub fn parse_target(target: &str) -> Result<bool, &'static str> {
    match grammar::parse(target) {
        Ok(expr) => {
            if grammar::parse_prefix(target).as_ref() == Some(&expr) {
                Ok(true)
            } else {
                Err("prefix parse differs")
            }
        }
        Err(_) => Ok(false),
    }
}
