//! GitHub Actions workflow commands: one `::error` (or `::warning`) line per failure, which
//! the runner turns into an annotation on the job.
//!
//! A line reads `::error title=specgate <check>::<finding> (<case name>)`. Nothing else is
//! written: the summary, the matrix and the reproductions belong to the Markdown job summary
//! and the other reports. Every value is scrubbed of secrets, then escaped the way the
//! runner unescapes it, so that a finding cannot end its line or start another command.

use std::io::Write;

use super::json::{by_check, case_name};
use super::Outcome;
use crate::checks::Severity;
use crate::redact::Secrets;

/// Writes one workflow command per failure of `outcome`, scrubbed with `secrets`.
pub fn write(outcome: &Outcome, secrets: &Secrets, mut out: impl Write) -> std::io::Result<()> {
    for (check, failures) in by_check(outcome) {
        for (record, _, finding) in failures {
            let command = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let message = format!(
                "{} ({})",
                secrets.scrub(&finding.message),
                case_name(record, secrets)
            );
            writeln!(
                out,
                "::{command} title={}::{}",
                property(&format!("specgate {check}")),
                data(&message)
            )?;
        }
    }
    Ok(())
}

/// A command's message: `%`, CR and LF percent-encoded.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` too, which would end the property.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_per_github_rules() {
        assert_eq!(data("50% done\r\n::x"), "50%25 done%0D%0A::x");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
