//! A JUnit XML report: the format every CI system shows as a test result.

use std::fmt::Write as _;

pub enum Outcome<'a> {
    Pass,
    /// The gate failed: the reason, and the details (rounds, suspects report).
    Fail(&'a str, &'a str),
    /// The gate could not judge: the scenario threw, timed out, the program died.
    Error(&'a str),
}

pub fn render(name: &str, seconds: f64, outcome: &Outcome, system_out: &str) -> String {
    let (failures, errors) = match outcome {
        Outcome::Pass => (0, 0),
        Outcome::Fail(..) => (1, 0),
        Outcome::Error(_) => (0, 1),
    };
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"heaphound gate\" tests=\"1\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"heaphound gate\" tests=\"1\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{seconds:.3}\">"
    );
    let _ = writeln!(
        x,
        "    <testcase classname=\"heaphound.gate\" name=\"{}\" time=\"{seconds:.3}\">",
        escape(name)
    );
    match outcome {
        Outcome::Pass => {}
        Outcome::Fail(message, details) => {
            let _ = writeln!(
                x,
                "      <failure message=\"{}\" type=\"memory-growth\">{}</failure>",
                escape(message),
                escape(details)
            );
        }
        Outcome::Error(message) => {
            let _ = writeln!(
                x,
                "      <error message=\"{}\" type=\"gate-error\">{}</error>",
                escape(first_line(message)),
                escape(message)
            );
        }
    }
    if !system_out.is_empty() {
        let _ = writeln!(x, "      <system-out>{}</system-out>", escape(system_out));
    }
    x.push_str("    </testcase>\n  </testsuite>\n</testsuites>\n");
    x
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// XML text and attribute escaping: the HTML report's, which is XML-safe too.
fn escape(s: &str) -> String {
    heaphound_report::html::esc(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_counts() {
        let x = render(
            "leak <a> & \"b\"",
            1.5,
            &Outcome::Fail("grew by +2 MB", "Map `cache`\u{1b}[1m"),
            "round 1",
        );
        assert!(x.contains("failures=\"1\" errors=\"0\""));
        assert!(x.contains("name=\"leak &lt;a&gt; &amp; &quot;b&quot;\""));
        assert!(x.contains("Map `cache` [1m</failure>"));
        let e = render("s", 0.0, &Outcome::Error("threw\n  at f (s.js:1)"), "");
        assert!(e.contains(
            "<error message=\"threw\" type=\"gate-error\">threw\n  at f (s.js:1)</error>"
        ));
        assert!(!e.contains("system-out"));
    }
}
