//! Integration tests of the Sigma engine.

mod builtin_logs;
mod check;
mod differential;
mod errors;

/// Removes leading blank lines and the indentation common to all non-blank lines.
pub fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines().skip_while(|line| line.trim().is_empty()) {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}
