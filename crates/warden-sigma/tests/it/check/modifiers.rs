//! Value modifiers: contains/startswith/endswith, all, exists, null, comparisons, cidr,
//! the encodings (base64, base64offset, utf16, windash), re, fieldref and the time parts.

use super::*;

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
