//! Keywords, selections and conditions: operators, precedence and quantifiers.

use super::*;

#[test]
fn keywords_search_every_string_value() {
    let keywords = r"
        detection:
            keywords:
                - 'event::clear'
                - 'event::drop'
            condition: keywords
    ";
    let all = r"
        detection:
            keywords:
                '|all':
                    - 'OabVirtualDirectory'
                    - ' -ExternalUrl '
            condition: keywords
    ";
    let glob = r"
        detection:
            keywords:
                - 'evil*.exe'
            condition: keywords
    ";
    let path = r"
        detection:
            keywords:
                - '\Temp\'
            condition: keywords
    ";
    let with_selection = r"
        detection:
            selection:
                EventID: 4104
            keywords:
                - 'mimikatz'
            condition: selection and keywords
    ";
    run_table(
        "keywords",
        &[
            (
                keywords,
                r#"{"CommandLine": "mimikatz.exe EVENT::Clear exit"}"#,
                true,
            ),
            (
                keywords,
                r#"{"Event": {"EventData": {"Payload": ["x", "privilege::debug event::drop"]}}}"#,
                true,
            ),
            (keywords, r#"{"CommandLine": "event::list"}"#, false),
            // Field names are not searched.
            (keywords, r#"{"event::clear": "x"}"#, false),
            (keywords, "{}", false),
            (
                all,
                r#"{"Payload": "Set-OabVirtualDirectory -Identity x -ExternalUrl https://a"}"#,
                true,
            ),
            (
                all,
                r#"{"Cmdlet": "Set-OabVirtualDirectory", "Params": "-Identity x -ExternalUrl https://a"}"#,
                true,
            ),
            (
                all,
                r#"{"Payload": "Set-OabVirtualDirectory -Identity x"}"#,
                false,
            ),
            (glob, r#"{"Message": "run evil123.exe now"}"#, true),
            (glob, r#"{"Message": "run evil.dll now"}"#, false),
            (path, r#"{"Path": "C:\\Temp\\x.exe"}"#, true),
            (path, r#"{"Path": "C:\\Tmp\\x.exe"}"#, false),
            (
                with_selection,
                r#"{"EventID": 4104, "ScriptBlockText": "Invoke-Mimikatz"}"#,
                true,
            ),
            (
                with_selection,
                r#"{"EventID": 4103, "ScriptBlockText": "Invoke-Mimikatz"}"#,
                false,
            ),
            (
                with_selection,
                r#"{"EventID": 4104, "ScriptBlockText": "Get-Date"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn selections_and_maps_and_lists() {
    let map = r"
        detection:
            selection:
                Image|endswith: '\cmd.exe'
                CommandLine|contains: 'whoami'
            condition: selection
    ";
    let list_of_maps = r"
        detection:
            selection:
                - Image|endswith: '\example.exe'
                - Description|contains: 'Test executable'
            condition: selection
    ";
    let mixed = r"
        detection:
            selection:
                - Image|endswith: '\rundll32.exe'
                  CommandLine|contains: 'javascript:'
                - OriginalFileName: 'RUNDLL32.EXE'
            condition: selection
    ";
    let same_field = r"
        detection:
            selection:
                CommandLine|startswith: 'cmd'
                CommandLine|endswith: 'exit'
            condition: selection
    ";
    run_table(
        "selections",
        &[
            (
                map,
                r#"{"Image": "C:\\x\\cmd.exe", "CommandLine": "cmd /c whoami"}"#,
                true,
            ),
            (
                map,
                r#"{"Image": "C:\\x\\cmd.exe", "CommandLine": "cmd /c dir"}"#,
                false,
            ),
            (
                map,
                r#"{"Image": "C:\\x\\pwsh.exe", "CommandLine": "whoami"}"#,
                false,
            ),
            (list_of_maps, r#"{"Image": "C:\\x\\example.exe"}"#, true),
            (
                list_of_maps,
                r#"{"Description": "A test executable"}"#,
                true,
            ),
            (
                list_of_maps,
                r#"{"Image": "C:\\x\\other.exe", "Description": "Other"}"#,
                false,
            ),
            (
                mixed,
                r#"{"Image": "C:\\x\\rundll32.exe", "CommandLine": "rundll32 javascript:x"}"#,
                true,
            ),
            (
                mixed,
                r#"{"Image": "C:\\x\\rundll32.exe", "CommandLine": "rundll32 a.dll"}"#,
                false,
            ),
            (
                mixed,
                r#"{"Image": "C:\\x\\r.exe", "OriginalFileName": "RUNDLL32.EXE"}"#,
                true,
            ),
            (same_field, r#"{"CommandLine": "cmd /c dir & exit"}"#, true),
            (same_field, r#"{"CommandLine": "cmd /c dir"}"#, false),
        ],
    );
}

/// A rule with selections `a`, `b` and `c` (fields `A`, `B`, `C` equal to 1) and `condition`.
fn abc(condition: &str) -> String {
    format!(
        "detection:\n    a:\n        A: 1\n    b:\n        B: 1\n    c:\n        C: 1\n    condition: {condition}\n"
    )
}

/// An event whose fields `A`, `B` and `C` are the three digits of `bits`, e.g. `"101"`.
fn abc_event(bits: &str) -> String {
    let digits: Vec<char> = bits.chars().collect();
    format!(
        r#"{{"A": {}, "B": {}, "C": {}}}"#,
        digits[0], digits[1], digits[2]
    )
}

#[test]
fn condition_operators_and_precedence() {
    let deep = format!("{}a{}", "(".repeat(32), ")".repeat(32));
    let keyword_like = r"
        detection:
            android:
                A: 1
            orchid:
                B: 1
            nothing:
                C: 1
            condition: android and not nothing or orchid
    ";
    let list = r"
        detection:
            a:
                A: 1
            b:
                B: 1
            condition:
                - a
                - b
    ";
    let cases = [
        (abc("a"), abc_event("100"), true),
        (abc("a"), abc_event("011"), false),
        (abc("a and b"), abc_event("110"), true),
        (abc("a and b"), abc_event("100"), false),
        (abc("a or b"), abc_event("010"), true),
        (abc("a or b"), abc_event("001"), false),
        (abc("not a"), abc_event("011"), true),
        (abc("not a"), abc_event("100"), false),
        (abc("a and not b"), abc_event("100"), true),
        (abc("a and not b"), abc_event("110"), false),
        (abc("a and b and c"), abc_event("111"), true),
        (abc("a and b and c"), abc_event("110"), false),
        (abc("a or b or c"), abc_event("001"), true),
        (abc("a or b or c"), abc_event("000"), false),
        // `or` binds less tightly than `and`: a or (b and c).
        (abc("a or b and c"), abc_event("100"), true),
        (abc("a or b and c"), abc_event("011"), true),
        (abc("a or b and c"), abc_event("010"), false),
        (abc("b and c or a"), abc_event("100"), true),
        (abc("(a or b) and c"), abc_event("100"), false),
        (abc("(a or b) and c"), abc_event("011"), true),
        // `not` binds more tightly than `and` and `or`.
        (abc("not a and b"), abc_event("000"), false),
        (abc("not a and b"), abc_event("010"), true),
        (abc("not a and b"), abc_event("110"), false),
        (abc("not a or b"), abc_event("110"), true),
        (abc("not a or b"), abc_event("100"), false),
        (abc("not (a or b)"), abc_event("000"), true),
        (abc("not (a or b)"), abc_event("010"), false),
        (abc("not not a"), abc_event("100"), true),
        (abc("not not a"), abc_event("000"), false),
        (abc("a and (b or (c and not a))"), abc_event("110"), true),
        (abc("a and (b or (c and not a))"), abc_event("101"), false),
        (abc("((a))"), abc_event("100"), true),
        (abc("((a))"), abc_event("000"), false),
        (abc("a   and    b"), abc_event("110"), true),
        (abc("a   and    b"), abc_event("010"), false),
        (abc(&deep), abc_event("100"), true),
        (abc(&deep), abc_event("010"), false),
        // Identifiers that begin with an operator's name are identifiers.
        (keyword_like.to_owned(), abc_event("100"), true),
        (keyword_like.to_owned(), abc_event("010"), true),
        (keyword_like.to_owned(), abc_event("101"), false),
        (keyword_like.to_owned(), abc_event("000"), false),
        // A list of conditions is joined with `or`.
        (list.to_owned(), abc_event("010"), true),
        (list.to_owned(), abc_event("100"), true),
        (list.to_owned(), abc_event("001"), false),
    ];
    run_table("condition operators", &cases);
}

/// A rule with identifiers `selection_img`, `selection_cli`, `filter_main` and `_aux` (fields
/// `Img`, `Cli`, `Filter`, `Aux` equal to 1) and `condition`.
fn groups(condition: &str) -> String {
    format!(
        "detection:
    selection_img:
        Img: 1
    selection_cli:
        Cli: 1
    filter_main:
        Filter: 1
    _aux:
        Aux: 1
    condition: {condition}
"
    )
}

#[test]
fn condition_quantifiers_over_identifier_patterns() {
    let prefix_itself = r"
        detection:
            selection:
                A: 1
            selection_extra:
                B: 1
            condition: all of selection*
    ";
    let cases = [
        (
            groups("all of selection_*"),
            r#"{"Img": 1, "Cli": 1}"#,
            true,
        ),
        (groups("all of selection_*"), r#"{"Img": 1}"#, false),
        (groups("1 of selection_*"), r#"{"Cli": 1}"#, true),
        (groups("1 of selection_*"), r#"{"Filter": 1}"#, false),
        (
            groups("1 of selection_* and not 1 of filter_*"),
            r#"{"Img": 1}"#,
            true,
        ),
        (
            groups("1 of selection_* and not 1 of filter_*"),
            r#"{"Img": 1, "Filter": 1}"#,
            false,
        ),
        (
            groups("all of selection_* and not 1 of filter_*"),
            r#"{"Img": 1, "Cli": 1}"#,
            true,
        ),
        (
            groups("all of selection_* and not 1 of filter_*"),
            r#"{"Img": 1, "Cli": 1, "Filter": 1}"#,
            false,
        ),
        (groups("not 1 of filter_*"), "{}", true),
        (groups("not 1 of filter_*"), r#"{"Filter": 1}"#, false),
        (groups("1 of them"), r#"{"Filter": 1}"#, true),
        // `them` leaves out identifiers that start with `_`.
        (groups("1 of them"), r#"{"Aux": 1}"#, false),
        (groups("1 of them"), "{}", false),
        (
            groups("all of them"),
            r#"{"Img": 1, "Cli": 1, "Filter": 1}"#,
            true,
        ),
        (
            groups("all of them"),
            r#"{"Img": 1, "Cli": 1, "Aux": 1}"#,
            false,
        ),
        // The wildcard may stand anywhere in the pattern.
        (groups("all of *_img"), r#"{"Img": 1}"#, true),
        (groups("all of *_img"), r#"{"Cli": 1}"#, false),
        (groups("1 of sel*_cli"), r#"{"Cli": 1}"#, true),
        (groups("1 of sel*_cli"), r#"{"Img": 1}"#, false),
        // An identifier starting with `_` can still be named.
        (
            groups("selection_img and _aux"),
            r#"{"Img": 1, "Aux": 1}"#,
            true,
        ),
        (groups("selection_img and _aux"), r#"{"Img": 1}"#, false),
        // `selection*` also covers `selection` itself.
        (prefix_itself.to_owned(), r#"{"A": 1, "B": 1}"#, true),
        (prefix_itself.to_owned(), r#"{"B": 1}"#, false),
    ];
    run_table("condition quantifiers", &cases);
}
