//! CSV cells that a spreadsheet opens as text. Alert fields carry what events said (user
//! names, command lines, rule details), and a cell starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return is run as a formula by Excel, LibreOffice and Google Sheets
//! (`=HYPERLINK(…)` as a user name). Such a cell gets a leading `'`, which spreadsheets
//! show as text and do not display; every CSV Warden writes goes through [`cell`].

use std::borrow::Cow;

/// `value`, made safe to open in a spreadsheet.
pub fn cell(value: &str) -> Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Every cell of a record through [`cell`], as `csv` writes them.
pub fn record<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Cow<'a, [u8]>> {
    values
        .into_iter()
        .map(|v| match cell(v) {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_the_rest_is_untouched() {
        for bad in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(cell(bad), format!("'{bad}"));
        }
        for ok in ["ana", "", "1.5", "a=b", "CORP\\ana", "'quoted"] {
            assert!(matches!(cell(ok), Cow::Borrowed(_)), "{ok}");
        }
        assert_eq!(record(["=1", "x"]), [&b"'=1"[..], b"x"]);
    }
}
