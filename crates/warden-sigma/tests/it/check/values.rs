//! Field lookup and plain values: names, numbers, case, wildcards, escapes, empty values.

use super::*;

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
