//! Windows events rendered as XML (`wevtutil qe /f:xml`, Event Viewer's "Save as XML",
//! SIEM exports): `<Event>` documents one per line, pretty-printed, concatenated, or
//! wrapped in an `<Events>` root — each read into the JSON shape Warden renders EVTX
//! records as (`Event.System`, `Event.EventData`), so rules, timelines and the graph read
//! them like any other Windows event.
//!
//! The conversion follows the EVTX renderer: an element's attributes go under
//! `#attributes` (and its text under `#text` when it has both), `<Data Name="X">v</Data>`
//! becomes `"X": "v"`, unnamed `<Data>` values a `Data` list, repeated elements lists.
//! Bounded: an event larger than [`MAX_EVENT_BYTES`] or nested deeper than [`MAX_DEPTH`]
//! is an error in its place, and the reading goes on with the next event.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

/// Largest event read, in bytes of XML.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
/// Deepest element nesting inside an event.
pub const MAX_DEPTH: usize = 64;

/// One `<Event>` read: the document and the line its start tag is on, or why it could not
/// be read.
pub type XmlEvent = Result<(Value, u64), (String, u64)>;

/// An element being built: its name, attributes, children and text.
struct Node {
    name: String,
    attrs: Map<String, Value>,
    children: Vec<(String, Value)>,
    text: String,
}

impl Node {
    fn new(start: &BytesStart<'_>) -> Result<Node, String> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let mut attrs = Map::new();
        for a in start.attributes() {
            let a = a.map_err(|e| format!("element <{name}>: {e}"))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|e| format!("element <{name}>, attribute {key}: {e}"))?;
            attrs.insert(key, Value::String(value.into_owned()));
        }
        Ok(Node {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
        })
    }

    /// The element as JSON, named (a named `<Data>` takes its `Name`).
    fn finish(mut self) -> (String, Value) {
        if self.name == "Data"
            && let Some(Value::String(name)) = self.attrs.remove("Name")
        {
            return (name, Value::String(self.text));
        }
        let text = self.text.trim();
        let value = if self.children.is_empty() && self.attrs.is_empty() {
            Value::String(text.to_owned())
        } else {
            let mut obj = Map::new();
            if !self.attrs.is_empty() {
                obj.insert("#attributes".into(), Value::Object(self.attrs));
            }
            for (k, v) in self.children {
                match obj.get_mut(&k) {
                    Some(Value::Array(list)) if k == "Data" => list.push(v),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = match first {
                            Value::Array(mut list) => {
                                list.push(v);
                                Value::Array(list)
                            }
                            other => Value::Array(vec![other, v]),
                        };
                    }
                    None if k == "Data" => drop(obj.insert(k, Value::Array(vec![v]))),
                    None => drop(obj.insert(k, v)),
                }
            }
            if !text.is_empty() {
                obj.insert("#text".into(), Value::String(text.to_owned()));
            }
            Value::Object(obj)
        };
        (self.name, value)
    }
}

/// Reads `<Event>` elements from `input`, one call of `each` per event.
pub fn read_events(input: impl BufRead, each: &mut dyn FnMut(XmlEvent)) {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = false;
    let mut buf = Vec::new();
    let mut line = 1u64;
    // The event being built (its stack of open elements) and the line it started on.
    let mut stack: Vec<Node> = Vec::new();
    let mut started = 0u64;
    let mut bytes = 0usize;
    let mut broken: Option<String> = None;
    loop {
        buf.clear();
        let here = line;
        let ev = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(ev) => ev,
            Err(e) => {
                let at = if stack.is_empty() { here } else { started };
                each(Err((format!("malformed XML: {e}"), at)));
                // The reader cannot resync inside a broken document: stop here.
                return;
            }
        };
        let raw: &[u8] = &ev;
        let len = raw.len();
        line += memchr::memchr_iter(b'\n', raw).count() as u64;
        if !stack.is_empty() {
            bytes += len + 2;
        }
        match ev {
            Event::Start(s) => {
                let is_event = s.local_name().as_ref() == b"Event";
                if stack.is_empty() && !is_event {
                    continue; // a wrapper such as <Events>
                }
                if stack.is_empty() {
                    started = here;
                    bytes = len;
                    broken = None;
                }
                if stack.len() >= MAX_DEPTH {
                    broken.get_or_insert_with(|| format!("nested deeper than {MAX_DEPTH}"));
                }
                match Node::new(&s) {
                    Ok(n) => stack.push(n),
                    Err(e) => {
                        broken.get_or_insert(e);
                        stack.push(Node {
                            name: String::new(),
                            attrs: Map::new(),
                            children: Vec::new(),
                            text: String::new(),
                        });
                    }
                }
            }
            Event::Empty(s) => {
                if stack.is_empty() {
                    continue;
                }
                match Node::new(&s) {
                    Ok(n) => {
                        let (k, v) = n.finish();
                        if let Some(parent) = stack.last_mut() {
                            parent.children.push((k, v));
                        }
                    }
                    Err(e) => drop(broken.get_or_insert(e)),
                }
            }
            Event::Text(t) => {
                if let (Some(top), Ok(s)) = (stack.last_mut(), t.xml_content()) {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => {
                            let name = r.decode().unwrap_or_default();
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(s) => top.text.push_str(s),
                                None => {
                                    broken
                                        .get_or_insert_with(|| format!("unknown entity &{name};"));
                                }
                            }
                        }
                    }
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    continue;
                };
                let (k, v) = node.finish();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((k, v)),
                    None => {
                        let mut doc = Map::new();
                        doc.insert(k, v);
                        match broken.take() {
                            Some(why) => each(Err((why, started))),
                            None if bytes > MAX_EVENT_BYTES => each(Err((
                                format!("event larger than {MAX_EVENT_BYTES} bytes"),
                                started,
                            ))),
                            None => each(Ok((Value::Object(doc), started))),
                        }
                    }
                }
            }
            _ => {}
        }
        if !stack.is_empty() && bytes > MAX_EVENT_BYTES {
            // Too large: drop what was built and skip to the end of this event.
            each(Err((
                format!("event larger than {MAX_EVENT_BYTES} bytes"),
                started,
            )));
            stack.clear();
            let mut depth = 1usize;
            while depth > 0 {
                buf.clear();
                match reader.read_event_into(&mut buf) {
                    Ok(Event::Start(_)) => depth += 1,
                    Ok(Event::End(_)) => depth -= 1,
                    Ok(Event::Eof) | Err(_) => return,
                    Ok(_) => {}
                }
                line += memchr::memchr_iter(b'\n', &buf).count() as u64;
            }
        }
    }
    if !stack.is_empty() {
        each(Err(("the input ends inside an event".to_owned(), started)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Service Control Manager" Guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}" EventSourceName="Service Control Manager"/><EventID Qualifiers="16384">7045</EventID><TimeCreated SystemTime="2020-09-20T16:16:10.380Z"/><EventRecordID>1075</EventRecordID><Channel>System</Channel><Computer>WORKSTATION6.theshire.local</Computer></System><EventData><Data Name="ServiceName">XYZ &amp; co</Data><Data Name="ImagePath">%COMSPEC% /b /c start /b /min powershell -nop</Data></EventData></Event>"#;

    fn read(text: &str) -> Vec<XmlEvent> {
        let mut out = Vec::new();
        read_events(text.as_bytes(), &mut |e| out.push(e));
        out
    }

    #[test]
    fn an_event_reads_as_evtx_renders_it() {
        let got = read(EVENT);
        let (doc, line) = got[0].clone().unwrap();
        assert_eq!(line, 1);
        let sys = &doc["Event"]["System"];
        assert_eq!(
            sys["Provider"]["#attributes"]["Name"],
            "Service Control Manager"
        );
        assert_eq!(sys["EventID"]["#text"], "7045");
        assert_eq!(sys["EventRecordID"], "1075");
        assert_eq!(
            sys["TimeCreated"]["#attributes"]["SystemTime"],
            "2020-09-20T16:16:10.380Z"
        );
        assert_eq!(doc["Event"]["EventData"]["ServiceName"], "XYZ & co");
    }

    #[test]
    fn wrapped_concatenated_and_pretty_printed_events_all_read_with_their_lines() {
        let pretty = EVENT.replace("><", ">\n<");
        let text = format!("<Events>\n{EVENT}\n{pretty}</Events>\n");
        let got = read(&text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().1, 2);
        assert_eq!(got[1].as_ref().unwrap().1, 3);
        assert_eq!(
            got[1].as_ref().unwrap().0["Event"]["EventData"]["ImagePath"],
            "%COMSPEC% /b /c start /b /min powershell -nop"
        );
    }

    proptest::proptest! {
        /// Any bytes, and any cut or corruption of a real event: errors in place, never a
        /// panic, and never more results than `<Event` starts.
        #[test]
        fn damaged_input_never_panics(
            cut in 0usize..EVENT.len(),
            at in 0usize..EVENT.len(),
            byte in proptest::prelude::any::<u8>(),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let mut bytes = EVENT.as_bytes()[..cut].to_vec();
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            bytes.extend_from_slice(&noise);
            bytes.extend_from_slice(EVENT.as_bytes());
            let mut n = 0usize;
            read_events(&bytes[..], &mut |_| n += 1);
            let starts = bytes.windows(6).filter(|w| w == b"<Event").count();
            proptest::prop_assert!(n <= starts + 1);
        }
    }

    #[test]
    fn unnamed_data_is_a_list_and_a_broken_event_is_an_error_in_its_place() {
        let text = "<Event><EventData><Data>a</Data><Data>b</Data></EventData></Event>\n<Event><System><EventID>1</EventID></System><EventData><Data Name=\"x\">&bogus;</Data></EventData></Event>\n<Event><System><EventID>2</EventID></System></Event>";
        let got = read(text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[0].as_ref().unwrap().0["Event"]["EventData"]["Data"],
            serde_json::json!(["a", "b"])
        );
        let (why, line) = got[1].clone().unwrap_err();
        assert!(why.contains("bogus"), "{why}");
        assert_eq!(line, 2);
        assert!(got[2].is_ok());
        // Truncated input: an error, no panic.
        let cut = &EVENT[..EVENT.len() / 2];
        assert!(read(cut).iter().any(Result::is_err));
    }
}
